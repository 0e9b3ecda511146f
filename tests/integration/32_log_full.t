#!/usr/bin/perl

# Log first, cookie second: when the record cannot be written (a log on
# /dev/full), the POST answers 503 and sets no cookie; and a syslog
# collector that is not there is no proof either.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie);

-w '/dev/full' or die "/dev/full is needed\n";

my $audit = "$ConsentTest::BUILD/consent-audit";

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_log /dev/full sign=%%PREFIX%%/keys/log.pem;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $p = $t->prefix;
mkdir "$p/keys";
system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed";
$t->run;

for my $body ('action=accept_all', 'action=reject_all',
              'action=save&category=analytics')
{
    my $r = $t->post_form('/consent/', $body);
    is($r->{status}, 503, "$body on /dev/full: 503");
    ok(!header($r, 'set-cookie'), 'and no Set-Cookie at all');
}

my $r = $t->post_json('/consent/', '{"action":"accept_all"}');
is($r->{status}, 503, 'JSON on /dev/full: 503');
ok(!header($r, 'set-cookie'), 'and no Set-Cookie');

$r = $t->get('/consent/state');
like($r->{body}, qr/"state":"none"/, 'the state is still none');

like($t->read_file('logs/error.log'),
     qr/\[crit\].*write\(\) to consent log "\/dev\/full" failed \(28: No space/,
     'the error log says why, at crit');

$t->stop;
$t->check_log(qr/consent log "\/dev\/full"/);

done_testing;
