#!/usr/bin/perl

# The endpoint: preferences page, state JSON, form and JSON POSTs, the
# cookie's attributes, cross-site POSTs, open redirects, bad bodies.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie forge_cookie);

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;

        location /consent/ { consent_endpoint; }

        location / {
            add_header X-State $consent_state;
            add_header X-Cats $consent_categories;
            return 200 "ok\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        client_body_buffer_size 1k;
        location /c/ { consent_endpoint; }
    }
END

$t->run;

my $port = $t->port;
my $origin = "http://127.0.0.1:$port";

sub state_with {
    my ($cookie) = @_;
    my $r = $t->get('/consent/state', Cookie => "consent=$cookie");
    return $r->{body};
}

# GET: the page, the state, assets, unknown names

my $r = $t->get('/consent/');
is($r->{status}, 200, 'GET P: the preferences page');
like(header($r, 'content-type'), qr{^text/html}, 'as HTML');
like($r->{body}, qr/<form[^>]*method="post"/i, 'with a form that POSTs');
is(header($r, 'cache-control'), 'no-store', 'not cached');
is(header($r, 'x-frame-options'), 'DENY', 'not framed');
is(header($r, 'content-length'), length($r->{body}), 'with its length');

$r = $t->head('/consent/');
is($r->{status}, 200, 'HEAD P');
is($r->{body}, '', 'HEAD has no body');

$r = $t->get('/consent/state');
is($r->{status}, 200, 'GET P state');
like(header($r, 'content-type'), qr{^application/json}, 'as JSON');
like($r->{body}, qr/"state":"none"/, 'state none');
like($r->{body}, qr/"id":null/, 'no id');
like($r->{body}, qr/"categories":\{"necessary":true,"analytics":false,"marketing":false\}/,
     'every category, required granted');
like($r->{body}, qr/"revision":1/, 'the revision');

$r = $t->get('/consent/nothing-here');
is($r->{status}, 404, 'an unknown name under P: 404');

$r = $t->request('PUT', '/consent/', 'x');
is($r->{status}, 405, 'PUT: 405');
is(header($r, 'allow'), 'GET, HEAD, POST', 'with Allow');

$r = $t->request('POST', '/consent/state', 'x', Origin => $origin);
is($r->{status}, 404, 'POST to P state: 404');

# POST from a form

$r = $t->post_form('/consent/', 'action=accept_all&return=%2Fnews%3Fp%3D2');
is($r->{status}, 303, 'accept_all: 303');
is(header($r, 'location'), "$origin/news?p=2", 'to the return path');
my $c = set_cookie($r);
ok($c, 'with a cookie');
my ($sc) = grep { /^consent=/ } header($r, 'set-cookie');
like($sc, qr/; Max-Age=15552000; Path=\/; HttpOnly; SameSite=Lax$/,
     'HttpOnly, SameSite=Lax, Path=/, 180 days, no Secure over http');
like(state_with($c), qr/"necessary":true,"analytics":true,"marketing":true/,
     'accept_all grants everything');
like(state_with($c), qr/"state":"valid"/, 'the cookie is valid');
my ($id) = state_with($c) =~ /"id":"([0-9a-f]{32})"/;
ok($id, 'a 128-bit id');

$r = $t->post_form('/consent/', 'action=reject_all', Cookie => "consent=$c");
is($r->{status}, 303, 'reject_all: 303');
is(header($r, 'location'), "$origin/", 'to / without return');
my $c2 = set_cookie($r);
like(state_with($c2), qr/"necessary":true,"analytics":false,"marketing":false/,
     'reject_all keeps the required category only');
like(state_with($c2), qr/"id":"$id"/, 'a reader changing their mind keeps the id');

$r = $t->post_form('/consent/', 'action=save&category=analytics&source=banner');
is($r->{status}, 303, 'save: 303');
like(state_with(set_cookie($r)),
     qr/"necessary":true,"analytics":true,"marketing":false/,
     'save grants what is named and the required category');
unlike(state_with(set_cookie($r)), qr/"id":"$id"/, 'a new reader, a new id');

$r = $t->post_form('/consent/', 'action=save');
like(state_with(set_cookie($r)), qr/"analytics":false,"marketing":false/,
     'save with nothing named refuses every optional category');

$r = $t->post_form('/consent/', 'action=withdraw', Cookie => "consent=$c");
like(state_with(set_cookie($r)), qr/"analytics":false,"marketing":false/,
     'withdraw refuses everything optional');

$r = $t->get('/', Cookie => 'consent=' . set_cookie($r));
is(header($r, 'x-state'), 'valid', 'the cookie set is valid on the site');

# POST JSON

$r = $t->post_json('/consent/', '{"action":"save","categories":["marketing"]}');
is($r->{status}, 200, 'JSON save: 200');
like($r->{body}, qr/"analytics":false,"marketing":true/,
     'answers the new state');
like($r->{body}, qr/"state":"valid"/, 'which is valid');
ok(set_cookie($r), 'and sets the cookie');

# bad bodies: a one-line reason, no cookie

sub refused {
    my ($r, $status, $re, $name) = @_;
    is($r->{status}, $status, "$name: $status");
    like($r->{body}, $re, "$name: says why");
    ok(!set_cookie($r), "$name: no cookie");
}

refused($t->post_json('/consent/', '{"action":'), 400,
        qr/^the body is not valid JSON\n$/, 'broken JSON');
refused($t->post_json('/consent/', '{"action":"save","categories":["ads"]}'),
        400, qr/^unknown category\n$/, 'unknown category in JSON');
refused($t->post_form('/consent/', 'action=save&category=ads'),
        400, qr/^unknown category\n$/, 'unknown category in a form');
refused($t->post_form('/consent/', 'category=analytics'),
        400, qr/no "action"/, 'no action');
refused($t->post_form('/consent/', 'action=save&category=%zz'),
        400, qr/percent-encoding/, 'bad percent-encoding');
refused($t->request('POST', '/consent/', 'action=accept_all',
                    Origin => $origin, 'Content-Type' => 'text/plain'),
        415, qr/application\/x-www-form-urlencoded or application\/json/,
        'another content type');
refused($t->post_form('/consent/', 'action=accept_all&x=' . ('y' x 20000)),
        413, qr/too large/, 'a body over 16k');

my $chunk = 'action=accept_all&x=' . ('y' x 20000);
$r = $t->raw("POST /consent/ HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
             . "Origin: $origin\r\nConnection: close\r\n"
             . "Content-Type: application/x-www-form-urlencoded\r\n"
             . "Transfer-Encoding: chunked\r\n\r\n"
             . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $chunk, $chunk));
refused($r, 413, qr/too large/, 'a chunked body over 16k');

$r = $t->raw("POST /c/ HTTP/1.1\r\nHost: 127.0.0.1:" . $t->port2 . "\r\n"
             . "Origin: http://127.0.0.1:" . $t->port2 . "\r\n"
             . "Connection: close\r\n"
             . "Content-Type: application/x-www-form-urlencoded\r\n"
             . "Transfer-Encoding: chunked\r\n\r\n"
             . "5\r\nactio\r\n7ff\r\nn=save&category=analytics&x="
             . ('z' x (0x7ff - 28)) . "\r\n0\r\n\r\n", port => $t->port2);
is($r->{status}, 303, 'a chunked body kept in a temporary file is read');
ok(set_cookie($r), 'and recorded');

# cross-site POSTs are refused, nothing is recorded

sub cross {
    my ($name, @headers) = @_;
    my $r = $t->request('POST', '/consent/', 'action=accept_all',
        'Content-Type' => 'application/x-www-form-urlencoded', @headers);
    refused($r, 403, qr/^cross-site consent requests are refused\n$/, $name);
}

cross('Origin of another site', Origin => 'http://evil.example');
cross('Origin with another port', Origin => 'http://127.0.0.1:1');
cross('Origin that starts like ours', Origin => "$origin.evil.example");
cross('Origin null', Origin => 'null');
cross('Referer of another site', Referer => 'http://evil.example/page');
cross('Referer with our host in the path',
      Referer => "http://evil.example/127.0.0.1:$port/");
cross('no Origin nor Referer');
cross('Sec-Fetch-Site cross-site', Origin => $origin,
      'Sec-Fetch-Site' => 'cross-site');
cross('Sec-Fetch-Site same-site', Origin => $origin,
      'Sec-Fetch-Site' => 'same-site');

$r = $t->request('POST', '/consent/', 'action=accept_all',
    'Content-Type' => 'application/x-www-form-urlencoded',
    Referer => "$origin/some/page?x=1");
is($r->{status}, 303, 'a same-site Referer without Origin is accepted');
$r = $t->request('POST', '/consent/', 'action=accept_all',
    'Content-Type' => 'application/x-www-form-urlencoded',
    Origin => "https://127.0.0.1:$port", 'Sec-Fetch-Site' => 'same-origin');
is($r->{status}, 303, 'https Origin of this host (TLS proxy in front)');

# open redirects: "return" goes to "/" unless it is a path of this site

for my $ret ('//evil.example/', '/\\evil.example', 'http://evil.example/',
             'https:evil.example', "/a\r\nSet-Cookie: x=1", '/%0d%0aX: y',
             "\t//evil.example", 'javascript:alert(1)', '%2F%2Fevil.example',
             "//\@evil.example")
{
    (my $enc = $ret) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    $r = $t->post_form('/consent/', "action=accept_all&return=$enc");
    is(header($r, 'location'), "$origin/", "return \"\Q$ret\E\" goes to /");
}

$r = $t->post_form('/consent/', 'action=accept_all&return=%2Fa%2Fb%3Fc%3Dd');
is(header($r, 'location'), "$origin/a/b?c=d", 'a path of this site is kept');
$r = $t->post_form('/consent/', 'action=accept_all&return=%2F%255Cx');
is(header($r, 'location'), "$origin/%5Cx",
   'an encoded backslash stays encoded: a path of this site');

$t->check_log;

# the cookie's attributes follow consent_cookie

my $t2 = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_cookie name=choice max_age=1d domain=example.com path=/site
                   samesite=strict secure=on;
    consent_category analytics;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /consent/ { consent_endpoint; }
    }
END
$t2->run;

$r = $t2->post_form('/consent/', 'action=accept_all');
($sc) = grep { /^choice=/ } header($r, 'set-cookie');
like($sc // '', qr/^choice=1\.[^;]+; Max-Age=86400; Path=\/site; Domain=example\.com; HttpOnly; SameSite=Strict; Secure$/,
     'name, max_age, path, domain, samesite and secure as configured');
$t2->check_log;

# secure=auto: Secure over https only

my $t3 = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category analytics;

    server {
        listen 127.0.0.1:%%PORT%% ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /consent/ { consent_endpoint; }
    }
END
my $p3 = $t3->prefix;
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
       . " -keyout $p3/conf/cert.key -out $p3/conf/cert.pem 2>/dev/null") == 0
    or die "openssl cannot make a certificate\n";
$t3->run;
my $port3 = $t3->port;
my $out = `curl -sk -D - -o /dev/null -X POST -H "Origin: https://127.0.0.1:$port3" -d action=accept_all https://127.0.0.1:$port3/consent/`;
like($out, qr/^Set-Cookie: consent=[^\r\n]*; HttpOnly; SameSite=Lax; Secure\r?$/mi,
     'over https the cookie is Secure');
$t3->check_log;

done_testing();
