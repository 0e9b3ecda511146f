#!/usr/bin/perl

# nginx -t: every misuse of the core directives fails with file:line and a
# sentence that says what to do.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest;

my $t = ConsentTest->new;
my $p = $t->prefix;

$t->write_file('conf/short.key', 'x' x 31, 0600);
$t->write_file('conf/open.key', 'y' x 32, 0644);
$t->write_file('conf/nl.key', ('z' x 32) . "\n", 0600);
$t->write_file('conf/lf-end.key', ('w' x 31) . "\n", 0600);

my $server = <<'END';
    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $base = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
END

sub fails_with {
    my ($http, $re, $name) = @_;
    my ($rc, $out) = $t->test_config($http);
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: says why") or diag($out);
    like($out, qr{ in \Q$p\E/conf/test\.conf:\d+}, "$name: names file:line");
}

my ($rc, $out) = $t->test_config($base . $server);
is($rc, 0, 'a good configuration passes') or diag($out);
unlike($out, qr/warn/, 'without warnings');

fails_with("consent_secret short.key;\nconsent_category a;\n" . $server,
           qr/holds 31 bytes, at least 32 are needed; make a new key/,
           'short secret');
fails_with("consent_secret missing.key;\nconsent_category a;\n" . $server,
           qr/cannot open .*missing\.key.*openssl rand/, 'missing secret');
fails_with("consent_category a;\n" . $server,
           qr/no "consent_secret" is set; add/, 'no secret at all');
fails_with("consent_secret secret.key;\n" . $server,
           qr/no category is declared/, 'no category');
fails_with("consent_secret secret.key;\nconsent_secret secret.key;\n"
           . "consent_category a;\n" . $server,
           qr/holds the same key as/, 'same key twice');

($rc, $out) = $t->test_config("consent_secret open.key;\nconsent_category a;\n"
                              . $server);
is($rc, 0, 'a world-readable key still passes');
like($out, qr/\[warn\].*open\.key" is readable by other users; run "chmod 600/,
     'but is warned about');

($rc, $out) = $t->test_config("consent_secret nl.key;\nconsent_category a;\n"
                              . $server);
is($rc, 0, 'a key with a trailing newline passes') or diag($out);

# a random key may end with a byte that is a newline: it is key
($rc, $out) = $t->test_config("consent_secret lf-end.key;\n"
                              . "consent_category a;\n" . $server);
is($rc, 0, 'a 32-byte key whose last byte is LF passes') or diag($out);

fails_with($base . "consent_category analytics;\n" . $server,
           qr/duplicate category "analytics"; declare each category once/,
           'duplicate category');
fails_with("consent_secret secret.key;\nconsent_category Analytics;\n"
           . $server, qr/invalid category name "Analytics"; use 1 to 32/,
           'bad category name');
fails_with("consent_secret secret.key;\nconsent_category state;\n" . $server,
           qr/"state" is reserved/, 'reserved category name');
fails_with("consent_secret secret.key;\nconsent_category a optional;\n"
           . $server, qr/invalid parameter "optional".*use "required" or "gpc"/,
           'unknown category flag');
fails_with("consent_secret secret.key;\nconsent_category a required gpc;\n"
           . $server, qr/cannot be both "required" and "gpc"/,
           'required and gpc');
fails_with($base . "consent_cookie max_age=2y;\n" . $server,
           qr/longer than 13 months.*at most "395d"/, 'max_age over 13 months');
fails_with($base . "consent_cookie max_age=soon;\n" . $server,
           qr/invalid "max_age" value "soon".*"180d"/, 'bad duration');
fails_with($base . "consent_cookie samesite=loose;\n" . $server,
           qr/invalid "samesite" value "loose".*"lax", "strict" or "none"/,
           'bad samesite');
fails_with($base . "consent_cookie secure=maybe;\n" . $server,
           qr/invalid "secure" value "maybe"/, 'bad secure');
fails_with($base . "consent_cookie samesite=none secure=off;\n" . $server,
           qr/"samesite=none" needs a secure cookie/, 'samesite none, insecure');
fails_with($base . "consent_cookie \"name=a b\";\n" . $server,
           qr/invalid cookie name in "name=a b"/, 'bad cookie name');
fails_with($base . "consent_cookie path=consent;\n" . $server,
           qr/invalid "path" "consent".*start with "\/"/, 'bad path');
fails_with($base . "consent_cookie colour=blue;\n" . $server,
           qr/invalid parameter "colour=blue".*known ones are name=/,
           'unknown cookie parameter');
fails_with($base . "consent_cookie name=a;\nconsent_cookie name=b;\n"
           . $server, qr/"consent_cookie" directive is duplicate: give all its parameters in one "consent_cookie" line/,
           'consent_cookie twice');
fails_with($base . "consent_cookie samesite=strict;\nconsent_cookie secure=on;\n"
           . $server, qr/"consent_cookie" directive is duplicate/,
           'consent_cookie twice, without name= or max_age=');
fails_with($base . "consent_cookie \"name=a;b\";\n" . $server,
           qr/invalid cookie name in "name=a;b"/, 'cookie name with ";"');
fails_with($base . "consent_cookie name=;\n" . $server,
           qr/invalid cookie name in "name="/, 'empty cookie name');
fails_with($base . "consent_revision 2;\nconsent_revision 3;\n" . $server,
           qr/"consent_revision" directive is duplicate: keep one/,
           'revision twice');
fails_with($base . "consent_revision -1;\n" . $server,
           qr/invalid "consent_revision" "-1"; use a whole number/, 'negative revision');
fails_with($base . "consent_revision two;\n" . $server,
           qr/invalid "consent_revision" "two"; use a whole number/, 'revision not a number');
fails_with($base . <<'END',
    server {
        listen 127.0.0.1:%%PORT%%;
        location /consent { consent_endpoint; }
    }
END
           qr/needs a prefix location that ends with "\/"/,
           'endpoint without trailing slash');
fails_with($base . <<'END',
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /consent/ { consent_endpoint; }
    }
END
           qr/needs a prefix location/, 'endpoint on an exact location');
fails_with($base . <<'END',
    server {
        listen 127.0.0.1:%%PORT%%;
        location /consent/ { consent_endpoint; consent_endpoint; }
    }
END
           qr/"consent_endpoint" directive is duplicate: one "consent_endpoint" per location/,
           'endpoint twice');
fails_with($base . <<'END',
    server {
        listen 127.0.0.1:%%PORT%%;
        consent_category late;
    }
END
           qr/"consent_category" directive is not allowed here/,
           'category outside http');

done_testing();
