#!/usr/bin/perl

# Defects nginx's own test suite found with the module enabled (issue 13),
# each reproduced here: add_after_body, a HEAD through proxy_store, a page
# filtered twice, Vary once.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA;
use ConsentTest qw(header forge_cookie set_cookie);

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_secret old.key;
    consent_category necessary required;
    consent_category analytics;
    consent_banner off;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;

        location /a.html {
            add_after_body /add_after;
            return 200 "body";
        }

        location /ba.html {
            add_before_body /add_before;
            add_after_body /add_after;
            return 200 "body";
        }

        location /add_before { return 200 "before"; }
        location /add_after { return 200 "after"; }

        location /store/ {
            proxy_pass http://127.0.0.1:%%PORT%%/inner/;
            proxy_store on;
            root %%PREFIX%%/stored;
        }

        location /rotate/ {
            consent_strip_cookie analytics c*;
            proxy_pass http://127.0.0.1:%%PORT2%%/;
        }

        location /rotate-plain/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
        }

        location /twice/ {
            proxy_pass http://127.0.0.1:%%PORT%%/inner/;
        }

        location /vary-lang/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/vl/;
        }

        location /inner/ {
            alias %%PREFIX%%/html/;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;
        add_header Set-Cookie "cx=1; Path=/";

        location /vl/ {
            alias %%PREFIX%%/html/;
            add_header Vary "x-a,  accept-language";
        }
    }
END

$t->write_file('html/x.txt', "plain\n");
$t->write_file('html/page.html', "<html><body><p>SEE-THIS</p></body></html>\n");
mkdir $t->prefix . '/stored';
chmod 0777, $t->prefix . '/stored';
$t->run;

# add_after_body: the body once, then the addition

is($t->get('/a.html')->{body}, 'bodyafter', 'add_after_body: the body once');
is($t->get('/ba.html')->{body}, 'beforebodyafter', 'before and after');

# a HEAD through proxy_store, proxied to a gated page (no Content-Length):
# nothing stored, no file left in proxy_temp

my $r = $t->head('/store/page.html');
is($r->{status}, 200, 'HEAD through proxy_store');
ok(!-e $t->prefix . '/stored/store/page.html', 'HEAD: nothing stored');
my @temp = grep { -f } glob($t->prefix . '/proxy_temp/* '
                            . $t->prefix . '/proxy_temp/*/*');
is(scalar @temp, 0, 'HEAD: no file left in proxy_temp');

$r = $t->get('/store/page.html');
like($r->{body}, qr/SEE-THIS/, 'GET through proxy_store');
ok(-e $t->prefix . '/stored/store/page.html', 'GET: stored');

# a page filtered twice (proxied to the same nginx): one ETag suffix

my $once = header($t->get('/inner/page.html'), 'etag');
my $twice = header($t->get('/twice/page.html'), 'etag');
like($once, qr/^W\/".*-cn1"$/, 'filtered once: the state suffix');
is($twice, $once, 'filtered twice: the same ETag, one suffix');

# Vary: Cookie once, whatever the upstream said; and Accept-Language, as
# the banner's language comes from it on a page without <html lang> where
# more than one language is offered (every one, here)

$r = $t->get('/twice/page.html');
is(join(',', header($r, 'vary')), 'Cookie, Accept-Language',
   'Vary: Cookie and Accept-Language once');
$r = $t->get('/vary-lang/page.html');
is(join(' | ', header($r, 'vary')), 'x-a,  accept-language | Cookie',
   'an upstream\'s Vary naming Accept-Language: Cookie added alone');

# the header filter's order: Set-Cookie stripped before the re-issue under
# the current key, so a pattern such as "c*" never strips the module's own

my $old = $t->read_file('conf/old.key');
my $c = forge_cookie(key => $old, refused => ['analytics']);
$r = $t->get('/rotate/page.html', Cookie => "consent=$c");
ok(!grep({ /^cx=/ } header($r, 'set-cookie')),
   'the upstream\'s cookie matching "c*" is stripped');
my $new = set_cookie($r);
ok(defined $new && $new ne $c, 'the consent cookie is signed again');
my $kid = substr(Digest::SHA::sha256_hex($t->read_file('conf/secret.key')),
                 0, 8);
like($new // '', qr/\.\Q$kid\E\.[^.]+$/, 'with the current key');

$r = $t->get('/rotate-plain/x.txt', Cookie => "consent=$c");
ok(defined set_cookie($r), 'a text answer: the cookie signed again');
is(join(',', header($r, 'vary')), 'Cookie',
   'and, for that alone, the answer varies on Cookie');
$r = $t->get('/rotate-plain/x.txt');
ok(!defined header($r, 'vary'), 'no cookie to sign again: no Vary');

$t->check_log;

# one language offered: the page does not depend on Accept-Language

my $t1 = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_languages fr;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END
$t1->write_file('html/page.html', "<html><body><p>x</p></body></html>\n");
$t1->run;
$r = $t1->get('/page.html', 'Accept-Language' => 'de');
like($r->{body}, qr/consent-banner/, 'one language: the banner');
is(join(',', header($r, 'vary')), 'Cookie', 'one language: Vary: Cookie alone');
$t1->check_log;

done_testing();
