#!/usr/bin/perl

# The consent cookie as nginx reads it, and every variable: states none,
# valid, outdated, invalid; several Cookie headers; key rotation; Sec-GPC;
# the variables in map, if, log_format, add_header and proxy_set_header.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie forge_cookie);

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_secret old.key;
    consent_revision 3;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;

    log_format consent '$consent_state $consent_id [$consent_categories]';

    map $consent_analytics $stats {
        1 on;
        default off;
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;

        access_log %%PREFIX%%/logs/consent_access.log consent;

        location /consent/ { consent_endpoint; }

        location / {
            add_header X-State $consent_state;
            add_header X-Id $consent_id;
            add_header X-Cats $consent_categories;
            add_header X-Necessary $consent_necessary;
            add_header X-Analytics $consent_analytics;
            add_header X-Marketing $consent_marketing;
            add_header X-GPC $consent_gpc;
            add_header X-Map $stats;
            return 200 "ok\n";
        }

        location /if {
            if ($consent_state = valid) {
                return 204;
            }
            return 403;
        }

        location /proxy {
            proxy_set_header X-Consent $consent_categories;
            proxy_pass http://127.0.0.1:%%PORT2%%/echo;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        location /echo {
            return 200 "upstream saw [$http_x_consent]\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        server_name off.example;
        location / {
            add_header X-State $consent_state;
            return 200 "ok\n";
        }
    }
END

$t->run;

my $key = $t->read_file('conf/secret.key');
my $old = $t->read_file('conf/old.key');
my $now = time;

sub cookie {
    my (%c) = @_;
    return forge_cookie(key => $key, revision => 3, iat => $now,
                        granted => ['necessary', 'analytics'],
                        refused => ['marketing'], %c);
}

sub state_of {
    my ($r) = @_;
    return join ' ', map { header($r, $_) // '-' }
        qw(x-state x-cats x-necessary x-analytics x-marketing);
}

# none

my $r = $t->get('/');
is($r->{status}, 200, 'no cookie: 200');
is(state_of($r), 'none necessary 1 0 0', 'no cookie: none, required only');
is(header($r, 'x-id'), undef, 'no cookie: $consent_id is empty');
is(header($r, 'x-gpc'), '0', 'no Sec-GPC: $consent_gpc is 0');
is(header($r, 'x-map'), 'off', 'map sees $consent_analytics = 0');
ok(!defined set_cookie($r), 'no cookie set on a plain answer');

# valid

my $id = join '', map { chr } 1 .. 16;
$r = $t->get('/', Cookie => 'consent=' . cookie(id => $id));
is(state_of($r), 'valid necessary,analytics 1 1 0', 'valid cookie');
is(header($r, 'x-id'), unpack('H*', $id), '$consent_id is the id in hex');
is(header($r, 'x-map'), 'on', 'map sees $consent_analytics = 1');
ok(!defined set_cookie($r), 'a cookie of the current key is not re-issued');

$r = $t->get('/', Cookie => '"consent=' . cookie() . '"');
is(header($r, 'x-state'), 'none', 'a quoted pair is not our cookie');
$r = $t->get('/', Cookie => 'consent="' . cookie() . '"');
is(header($r, 'x-state'), 'valid', 'a quoted value is accepted');

# among several Cookie headers and pairs

$r = $t->get('/', Cookie => 'a=1; b=2', Cookie => 'c=3; consent='
             . cookie() . '; d=4');
is(header($r, 'x-state'), 'valid', 'found in the second Cookie header');

$r = $t->get('/', Cookie => 'consent=junk; consent=' . cookie());
is(header($r, 'x-state'), 'valid', 'a valid one wins over a broken one');

$r = $t->get('/', Cookie => 'xconsent=' . cookie() . '; consentx=1');
is(header($r, 'x-state'), 'none', 'names that only look alike are ignored');

# invalid

my $good = cookie();
(my $tampered = $good) =~ s/necessary~analytics/necessary~analytics~marketing/;
$r = $t->get('/', Cookie => "consent=$tampered");
is(state_of($r), 'invalid necessary 1 0 0', 'tampered grants: invalid');

substr(my $flip = $good, -1, 1) = substr($good, -1) eq 'A' ? 'B' : 'A';
$r = $t->get('/', Cookie => "consent=$flip");
is(header($r, 'x-state'), 'invalid', 'changed MAC: invalid');

$r = $t->get('/', Cookie => 'consent='
             . forge_cookie(key => 'k' x 32, revision => 3,
                            granted => ['analytics']));
is(header($r, 'x-state'), 'invalid', 'unknown key: invalid');

$r = $t->get('/', Cookie => 'consent='
             . cookie(kid => substr(cookie(key => $old), -31, 8)));
is(header($r, 'x-state'), 'invalid', 'the kid of another key: invalid');

$r = $t->get('/', Cookie => 'consent=' . cookie(iat => $now + 3600));
is(header($r, 'x-state'), 'invalid', 'issued in the future: invalid');

$r = $t->get('/', Cookie => 'consent=' . ('A' x 3000));
is(header($r, 'x-state'), 'invalid', 'an oversized value: invalid');
is($r->{status}, 200, 'an oversized value is still answered');

$r = $t->get('/', Cookie => 'consent=1.' . ("\x01" x 10));
is(header($r, 'x-state'), 'invalid', 'binary junk: invalid');

$r = $t->get('/', Cookie => 'x=' . ('y' x 20000));
is($r->{status}, 400, 'a header larger than nginx takes: 400, no crash');

# the worker keeps verdicts of valid cookies: a repeat is the same, and a
# value that differs in one byte from a kept one is still checked

my $kept = cookie(id => $id);
for (1 .. 3) {
    $r = $t->get('/', Cookie => "consent=$kept");
}
is(state_of($r), 'valid necessary,analytics 1 1 0', 'a repeated cookie');
is(header($r, 'x-id'), unpack('H*', $id), 'keeps its id');
(my $near = $kept) =~ s/^(.*)(.)$/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
$r = $t->get('/', Cookie => "consent=$near");
is(header($r, 'x-state'), 'invalid', 'one byte off a kept cookie: invalid');
(my $grown = $kept) =~ s/necessary~analytics/necessary~analytics~marketing/;
$r = $t->get('/', Cookie => "consent=$grown");
is(header($r, 'x-state'), 'invalid', 'grants added to a kept cookie: invalid');

# outdated

$r = $t->get('/', Cookie => 'consent=' . cookie(revision => 2));
is(state_of($r), 'outdated necessary 1 0 0',
   'older revision: outdated, nothing optional granted');
is(header($r, 'x-id'), undef, 'outdated: $consent_id is empty');

$r = $t->get('/', Cookie => 'consent=' . cookie(iat => $now - 181 * 86400));
is(header($r, 'x-state'), 'outdated', 'older than max_age: outdated');

$r = $t->get('/', Cookie => 'consent=' . cookie(iat => $now - 179 * 86400));
is(header($r, 'x-state'), 'valid', 'younger than max_age: valid');

$r = $t->get('/', Cookie => 'consent=' . cookie(refused => []));
is(header($r, 'x-state'), 'outdated',
   'a category the reader was never asked about: outdated');

$r = $t->get('/', Cookie => 'consent=' . cookie(granted => ['analytics']));
is(state_of($r), 'valid necessary,analytics 1 1 0',
   'a required category need not be in the cookie');

$r = $t->get('/', Cookie => 'consent='
             . cookie(granted => ['analytics', 'retired'],
                      refused => ['marketing', 'gone']));
is(state_of($r), 'valid necessary,analytics 1 1 0',
   'names no longer declared are ignored');

$r = $t->get('/', Cookie => 'consent='
             . cookie(granted => ['analytics'],
                      refused => ['marketing', 'necessary']));
is(header($r, 'x-necessary'), '1', 'a required category cannot be refused');

# key rotation: the first key signs, all verify, old cookies are re-issued

my $rotated = forge_cookie(key => $old, revision => 3, iat => $now - 100,
                           id => $id, granted => ['analytics'],
                           refused => ['marketing']);
$r = $t->get('/', Cookie => "consent=$rotated");
is(header($r, 'x-state'), 'valid', 'a cookie of the older key verifies');
my $new = set_cookie($r);
ok(defined $new, 'and is re-issued');
isnt($new, $rotated, 'with another value');
my $kid = substr(Digest::SHA::sha256_hex($key), 0, 8);
like($new // '', qr/^1\.[^.]+\.@{[$now - 100]}\.3\.necessary~analytics\.marketing\.$kid\./,
     'same id, time and choice, signed by the current key');
like(join("\n", header($r, 'set-cookie')), qr/Max-Age=(\d+)/, 'with Max-Age');
my ($age) = join("\n", header($r, 'set-cookie')) =~ /Max-Age=(\d+)/;
ok($age && $age <= 180 * 86400 - 100 && $age > 180 * 86400 - 200,
   'for the time it has left');
$r = $t->get('/', Cookie => "consent=$new");
is(header($r, 'x-state') . ' ' . header($r, 'x-id'), 'valid ' . unpack('H*', $id),
   'the re-issued cookie is valid with the same id');
ok(!defined set_cookie($r), 'and is not re-issued again');

# Sec-GPC

$r = $t->get('/', 'Sec-GPC' => '1');
is(header($r, 'x-gpc'), '1', 'Sec-GPC: 1 sets $consent_gpc');
is(header($r, 'x-marketing'), '0', 'a gpc category is refused');
$r = $t->get('/state-of-nothing', 'Sec-GPC' => '0');
is(header($r, 'x-gpc'), '0', 'Sec-GPC: 0 is no signal');
$r = $t->get('/', 'Sec-GPC' => '1', Cookie => 'consent='
             . cookie(granted => ['analytics', 'marketing'], refused => []));
is(header($r, 'x-marketing') . header($r, 'x-gpc'), '11',
   'an explicit choice wins over Sec-GPC');

# if, proxy_set_header, log_format; a server without consent

$r = $t->get('/if', Cookie => 'consent=' . cookie());
is($r->{status}, 204, 'if ($consent_state = valid) with a valid cookie');
$r = $t->get('/if');
is($r->{status}, 403, 'if ($consent_state = valid) without');

$r = $t->get('/proxy', Cookie => 'consent=' . cookie());
like($r->{body}, qr/upstream saw \[necessary,analytics\]/,
     'proxy_set_header passes $consent_categories');

$r = $t->get('/', Cookie => 'consent=' . cookie(id => $id));
$t->stop;
my $log = $t->read_file('logs/consent_access.log') // '';
like($log, qr/^valid ${\ unpack('H*', $id)} \[necessary,analytics\]$/m,
     'log_format writes the variables');
like($log, qr/^none  \[necessary\]$/m, 'and the state of readers without');

$t->check_log;

done_testing();
