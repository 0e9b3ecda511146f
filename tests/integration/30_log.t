#!/usr/bin/perl

# The consent log through a real nginx: a policy record, then one consent
# record per choice with the fields design.md lists, leaves of one tree
# under signed checkpoints, verified by consent-audit; IPs truncated,
# hashed or left out; no log, no record; the tree goes on across a restart.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ConsentTest qw(header set_cookie);

my $audit = "$ConsentTest::BUILD/consent-audit";
ok(-x $audit, 'consent-audit is built') or die "no $audit\n";

my $http = <<'END';
    consent_secret secret.key;
    consent_revision 4;
    consent_category necessary required;
    consent_languages en fr;   # one policy record (tests of the log, not of languages)
    consent_category analytics;
    consent_category marketing gpc;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem %%IP%%
                checkpoint_interval=200ms;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
        location / {
            add_header X-Id $consent_id;
            return 200 "ok\n";
        }
    }
END

my $t = ConsentTest->new(http => $http =~ s/%%IP%%//r);
my $p = $t->prefix;
mkdir "$p/keys";
chmod 01777, "$p/logs";      # the workers replace consent.log.checkpoint

system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed";
$t->run;

my $origin = 'http://127.0.0.1:' . $t->port;

my $r = $t->post_form('/consent/', 'action=accept_all&source=banner',
                      'Accept-Language' => 'fr-FR,fr;q=0.9');
is($r->{status}, 303, 'a choice is recorded');
my $cookie = set_cookie($r);
ok($cookie, 'and the cookie set');

$r = $t->post_form('/consent/', 'action=save&category=analytics&source=page',
                   Cookie => "consent=$cookie", 'Sec-GPC' => '1');
is($r->{status}, 303, 'a second choice, same reader');

$r = $t->post_json('/consent/', '{"action":"reject_all"}');
is($r->{status}, 200, 'a third, through the API');

my @lines = records();
is(scalar @lines, 4, 'one policy record and three consent records');

my @rec = map { decode($_) } @lines;

is($rec[0]{type}, 'policy', 'the policy record comes first');
is($rec[0]{revision}, 4, 'with the revision');
is_deeply([map { $_->{name} } @{ $rec[0]{categories} }],
          [qw(necessary analytics marketing)], 'the categories');
ok($rec[0]{texts}{en} && $rec[0]{texts}{fr}, 'the texts of en and fr');
like($rec[0]{text_hash}{fr}, qr/^[0-9a-f]{64}$/, 'and their SHA-256');

my $c = $rec[1];
is($c->{type}, 'consent', 'a consent record');
like($c->{ts}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'ts: RFC 3339, UTC, ms');
like($c->{id}, qr/^[0-9a-f]{32}$/, 'id: 128 bits, 32 hex digits');
is($c->{action}, 'accept_all', 'action');
is_deeply($c->{granted}, [qw(necessary analytics marketing)], 'granted');
is_deeply($c->{denied}, [], 'denied');
is($c->{revision}, 4, 'revision');
is($c->{lang}, 'fr', 'lang: what the reader was shown');
is($c->{text_hash}, $rec[0]{text_hash}{fr}, 'text_hash of those texts');
is($c->{source}, 'banner', 'source');
ok(JSON::PP::is_bool($c->{gpc}) && !$c->{gpc}, 'gpc: false');
is($c->{ip}, '127.0.0.0/24', 'ip truncated to /24 by default');
is($c->{host}, '127.0.0.1', 'host: the server name asked for');
ok(length $c->{node}, 'node');
is($c->{seq}, 2, 'seq');
ok(!exists $c->{sig} && !exists $c->{prev},
   'no sig, no prev: the checkpoints sign the tree of the records');
is($rec[0]{seq}, 1, 'the first record of a tree: seq 1, tree index 0');

is($rec[2]{id}, $c->{id}, 'a reader who changes their mind keeps the id');
is(header($t->get('/', Cookie => "consent=$cookie"), 'x-id'), $c->{id},
   'the id is the one $consent_id shows');
is_deeply($rec[2]{granted}, [qw(necessary analytics)], 'save: granted');
is_deeply($rec[2]{denied}, ['marketing'], 'save: denied');
ok(JSON::PP::is_bool($rec[2]{gpc}) && $rec[2]{gpc}, 'Sec-GPC: 1 is recorded');
is($rec[2]{source}, 'page', 'source page');
is($rec[3]{source}, 'api', 'source api');
is($rec[3]{action}, 'reject_all', 'reject_all');
isnt($rec[3]{id}, $c->{id}, 'another reader, another id');

sleep 1;                     # a checkpoint, 200 ms after a record
my $out = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem`;
is($?, 0, 'consent-audit verify: the log is whole') or diag($out);
like($out, qr/^OK: 4 records \(1 policy, 3 consent\)/, 'and says so');

$out = `$audit show $c->{id} $p/logs/consent.log`;
like($out, qr/"action": "save"/, 'show: the records of one id');
like($out, qr/texts shown \(language fr, .*matches the texts/,
     'show: with the texts shown');

# tampering is seen

(my $bad = $t->read_file('logs/consent.log'))
    =~ s/"action":"accept_all"/"action":"reject_all"/;
$t->write_file('logs/bad.log', $bad);
$out = `$audit verify $p/logs/bad.log --pubkey $p/keys/log.pub.pem`;
is($? >> 8, 1, 'an altered record fails');
like($out, qr/bad\.log:5: root mismatch/,
     'named with file, line (the checkpoint over it), reason');

# a restart (not a reload): the tree goes on, from the hash file

$t->stop;
$t->run;

$r = $t->post_form('/consent/', 'action=reject_all');
is($r->{status}, 303, 'after a restart');

@lines = records();
is(scalar @lines, 6, 'a policy record again, and the choice');
is(decode($lines[-1])->{seq}, 6, 'seq goes on');

sleep 1;
$out = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem`;
is($?, 0, 'the tree is whole across the restart') or diag($out);

# a crash in the middle of a write leaves a cut line: the next start
# closes it and goes on after the last whole record; verify names the cut
# line, and takes it for no record

$t->stop;
{
    open my $fh, '>>', "$p/logs/consent.log" or die $!;
    print $fh '{"action":"save","denied":[],"gpc":fal';
    close $fh;
}
$t->run;

$r = $t->post_form('/consent/', 'action=accept_all');
is($r->{status}, 303, 'after a cut line');

@lines = records();
is(scalar @lines, 9, 'the cut line is closed, then a policy and the choice');
is(decode($lines[-1])->{seq}, 8, 'seq goes on from the last whole record');

sleep 1;
my @all = split /\n/, $t->read_file('logs/consent.log');
my ($cut) = grep { $all[$_] =~ /gpc":fal$/ } 0 .. $#all;
$out = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem`;
is($? >> 8, 1, 'verify fails on the cut line');
like($out, qr/consent\.log:@{[$cut + 1]}: malformed record/, 'and names it');
like($out, qr/FAILED: 1 fault in/, 'and nothing else');
like($t->read_file('logs/error.log'), qr/\[warn\].*ends with a cut line/,
     'the error log says so at start');

# ip=hash and ip=none

for my $mode (qw(hash none)) {
    $t->reload($http =~ s/%%IP%%/ip=$mode/r) or die "reload failed\n";
    sleep 1;
    $r = $t->post_form('/consent/', 'action=reject_all');
    is($r->{status}, 303, "ip=$mode: recorded");
    my $last = decode((records())[-1]);
    if ($mode eq 'hash') {
        like($last->{ip}, qr/^[0-9a-f]{32}$/, 'ip=hash: a keyed hash');
    } else {
        ok(exists $last->{ip} && !defined $last->{ip}, 'ip=none: no address (null)');
    }
}

sleep 1;
$out = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem`;
like($out, qr/FAILED: 1 fault in/, 'across reloads, nothing but the cut line')
    or diag($out);

# no consent_log: choices work, nothing is written

my $t2 = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_languages en fr;   # one policy record (tests of the log, not of languages)

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END
$t2->run;
$r = $t2->post_form('/consent/', 'action=accept_all');
is($r->{status}, 303, 'without consent_log, a choice still works');
ok(set_cookie($r), 'and sets its cookie');
$t2->stop;
$t2->check_log;

$t->stop;
$t->check_log;

done_testing;


sub decode { JSON::PP->new->decode($_[0]) }

# the lines of the log but its checkpoints
sub records {
    grep { !/"type":"checkpoint"\}$/ } split /\n/, $t->read_file('logs/consent.log');
}
