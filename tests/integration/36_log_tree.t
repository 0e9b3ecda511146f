#!/usr/bin/perl

# The consent log as a Merkle tree, through real nginx instances with two
# workers: checkpoints signed as C2SP notes, a receipt for the reader
# ("not yet" before a checkpoint, a proof after, the same after a
# restart), P+checkpoint, consent-audit vkey/prove/checkpoint, Go's
# sumdb/note and sumdb/tlog checking all of it independently
# (tests/go/verify.go), and the tampering table: each case detected and
# named by consent-audit verify.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use MIME::Base64 ();
use ConsentTest qw(header set_cookie);

my $audit = "$ConsentTest::BUILD/consent-audit";
my $go = "$ConsentTest::BUILD/consent-verify";
ok(-x $audit, 'consent-audit is built') or die("no $audit");
ok(-x $go, 'the Go verifier is built (make go-verify)') or die("no $go");

my $origin = 'example.test/consent-log';

sub http {
    my ($key, %p) = @_;
    my $cp = $p{checkpoint} // 100;
    my $interval = $p{interval} // '1s';
    return <<"END";
    consent_secret secret.key;
    consent_category necessary required;
    consent_languages en fr;   # one policy record (tests of the log, not of languages)
    consent_category analytics;
    consent_category marketing gpc;
    consent_log %%PREFIX%%/logs/consent.log sign=$key origin=$origin
                checkpoint=$cp checkpoint_interval=$interval;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END
}

sub instance {
    my ($key, %p) = @_;
    my $t = ConsentTest->new(http => http($key, %p), workers => 2);
    # the workers replace PATH.checkpoint in the log's directory
    chmod 01777, $t->prefix . '/logs';
    return $t;
}

my $keys = ConsentTest->new->prefix;
system("$audit keygen $keys >/dev/null") == 0 or die 'keygen failed';
mkdir "$keys/other";
system("$audit keygen $keys/other >/dev/null") == 0 or die 'keygen failed';

my $vkey = `$audit vkey --pubkey $keys/log.pub.pem --origin $origin`;
chomp $vkey;
like($vkey, qr{^\Q$origin\E\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$},
     'vkey: NAME+ID+BASE64(0x01 || key)');

# --- receipts ------------------------------------------------------------

my $t = instance("$keys/log.pem");
my $p = $t->prefix;
$t->run;

my $r = $t->post_form('/consent/', 'action=accept_all&source=banner');
is($r->{status}, 303, 'a choice');
my $cookie = set_cookie($r);
$r = $t->post_form('/consent/', 'action=save&category=analytics',
                   Cookie => "consent=$cookie");
$cookie = set_cookie($r) // $cookie;
$t->post_form('/consent/', 'action=reject_all') for 1 .. 3;

$r = $t->get('/consent/receipt', Cookie => "consent=$cookie");
is($r->{status}, 503, 'a receipt before a checkpoint: not yet');
like(header($r, 'retry-after') // '', qr/^[12]$/, 'retry after the interval');
like($r->{body}, qr/not yet.*retry after/, 'and says so');

$r = $t->get('/consent/receipt');
is($r->{status}, 404, 'no consent, no receipt');

like($t->get('/consent/', Cookie => "consent=$cookie")->{body},
     qr{<a href="/consent/receipt" download>Proof of your choice</a>},
     'the preferences page offers the receipt as a download');
unlike($t->get('/consent/')->{body}, qr{/consent/receipt},
       'not without a consent');

sleep 2;

$r = $t->get('/consent/receipt', Cookie => "consent=$cookie");
is($r->{status}, 200, 'a receipt once a checkpoint covers the choice');
like(header($r, 'content-disposition') // '', qr/attachment/,
     'offered as a download');
my $receipt = $r->{body};
my @l = split /\n/, $receipt;
is($l[0], 'c2sp.org/tlog-proof@v1', 'c2sp.org/tlog-proof@v1');
like($l[1], qr{^extra [A-Za-z0-9+/]+=*$}, 'extra: the record');
my $leaf = MIME::Base64::decode_base64(substr($l[1], 6));
my $rec = JSON::PP->new->decode($leaf);
is($rec->{action}, 'save', 'the latest record of the reader');
is($l[2], 'index 2', 'its tree index: seq - 1');
like($receipt, qr/\n\n\Q$origin\E\n6\n/, 'then the checkpoint, of 6 records');
ok(length($receipt) < 2048, 'small: ' . length($receipt) . ' bytes');

$t->write_file('receipt.txt', $receipt);
my $out = `$go '$vkey' proof $p/receipt.txt`;
is($?, 0, 'Go sumdb/tlog: the receipt proves the record') or diag($out);

(my $bad = $receipt) =~ s/^(index )2$/${1}3/m;
$t->write_file('bad.txt', $bad);
$out = `$go '$vkey' proof $p/bad.txt`;
isnt($?, 0, 'Go: a receipt with another index fails');

$out = `$audit prove $rec->{id} $p/logs/consent.log`;
is($?, 0, 'consent-audit prove');
is($out, $receipt, 'gives the proof the endpoint gives');

$r = $t->get('/consent/checkpoint');
is($r->{status}, 200, 'P+checkpoint');
$t->write_file('checkpoint.txt', $r->{body});
$out = `$go '$vkey' checkpoint $p/checkpoint.txt`;
is($?, 0, 'Go sumdb/note: the checkpoint is signed by the log key')
    or diag($out);
like($out, qr/6 records/, 'of 6 records');
is($r->{body}, $t->read_file('logs/consent.log.checkpoint'),
   'the same as the file beside the log');
is(`$audit checkpoint $p/logs/consent.log --pubkey $keys/log.pub.pem`,
   $r->{body}, 'and as consent-audit checkpoint finds in the log');

# a restart: the tree goes on, the receipt is still there

$t->stop;
$t->run;

$r = $t->get('/consent/receipt', Cookie => "consent=$cookie");
is($r->{status}, 200, 'after a restart, the receipt');
is($r->{body}, $receipt, 'the same');

$t->post_form('/consent/', 'action=accept_all') for 1 .. 2;
$t->stop;

my @recs = grep { !/"type":"checkpoint"/ }
           split /\n/, $t->read_file('logs/consent.log');
is(JSON::PP->new->decode($recs[-1])->{seq}, 9,
   'seq goes on across the restart (a policy record again)');

$out = `$audit verify $p/logs/consent.log --pubkey $keys/log.pub.pem`;
is($?, 0, 'verify: whole') or diag($out);
like($out, qr/^OK: 9 records/, 'every record under a checkpoint');

$out = `$go '$vkey' log $p/logs/consent.log $p/logs/consent.log.hashes`;
is($?, 0, 'Go sumdb/tlog: every checkpoint root, and the hash file, as '
   . 'tlog computes them') or diag($out);

# PATH.checkpoint emptied (a disk that lost what fsync() had been told,
# a careless hand): the next start says so and signs a new checkpoint

$t->write_file('logs/consent.log.checkpoint', '');
$t->run;
like($t->read_file('logs/error.log'),
     qr/\[warn\].*the checkpoint in "[^"]*consent\.log\.checkpoint" is not one of this tree; a new one replaces it/,
     'an emptied checkpoint file: a warning at start');
$r = $t->get('/consent/checkpoint');
is($r->{status}, 200, 'and P+checkpoint again');
$t->write_file('checkpoint2.txt', $r->{body});
$out = `$go '$vkey' checkpoint $p/checkpoint2.txt`;
is($?, 0, 'signed by the log key') or diag($out);
like($out, qr/\b9 records/, 'of the whole tree');
is($r->{body}, $t->read_file('logs/consent.log.checkpoint'),
   'and in the file beside the log again');
is(`$audit checkpoint $p/logs/consent.log --pubkey $keys/log.pub.pem`,
   $r->{body}, 'and the latest in the log');
$t->stop;

$t->check_log;

# --- the tampering table ---------------------------------------------------

# three logs of the same shape: one key, the same key elsewhere, another key

my @logs;
for my $key ("$keys/log.pem", "$keys/log.pem", "$keys/other/log.pem") {
    my $i = instance($key, checkpoint => 4, interval => '1h');
    $i->run;
    for my $n (1 .. 11) {
        $i->post_form('/consent/', $n % 2 ? 'action=accept_all'
                                          : 'action=reject_all');
    }
    $i->stop;
    $i->check_log;
    push @logs, [split /\n/, $i->read_file('logs/consent.log')];
}

my @good = @{ $logs[0] };
my @cps = grep { $good[$_] =~ /"type":"checkpoint"/ } 0 .. $#good;
is(scalar @cps, 3, 'checkpoints at 4, 8 and 12 records');

sub verify {
    my (@lines) = @_;
    my $text = join("\n", @lines);
    $text .= "\n" unless $text =~ s/\x00CUT$//;
    $t->write_file('tamper.log', $text);
    return scalar `$audit verify $p/tamper.log --pubkey $keys/log.pub.pem`;
}

$out = verify(@good);
like($out, qr/^OK: 12 records/, 'the log as written verifies') or diag($out);

my @case;
my @x;

@x = @good; $x[3] =~ s/accept_all/reject_all/ or $x[3] =~ s/reject_all/accept_all/;
push @case, ['a changed byte', [@x], qr/tamper\.log:@{[$cps[0] + 1]}: root mismatch/];

@x = @good; splice @x, 2, 1;
push @case, ['a deleted record', [@x], qr/tamper\.log:3: gap: seq 4 follows seq 2/];

@x = @good; splice @x, 2, 0, $good[1];
push @case, ['an inserted record', [@x], qr/tamper\.log:3: duplicate/];

@x = @good; @x[1, 2] = @good[2, 1];
push @case, ['two records swapped', [@x], qr/tamper\.log:3: out of order/];

@x = @good; $x[2] = $logs[1][2];
push @case, ['a record spliced from another log', [@x], qr/root mismatch/];

@x = @good; $x[-1] = substr($x[-1], 0, 40) . "\x00CUT";
push @case, ['a truncated last line', [@x], qr/truncated line/];

@x = @good; $x[$cps[1]] = $logs[1][$cps[1]];
push @case, ['a checkpoint whose root does not match', [@x],
             qr/tamper\.log:\d+: root mismatch/];

@x = @good; splice @x, $cps[1] + 1, 0, $logs[1][$cps[1]];
push @case, ['a forked history', [@x], qr/forked history: two checkpoints of 8/];

@x = @good; $x[$cps[0]] = $logs[2][$cps[0]];
push @case, ['a checkpoint signed by another key', [@x], qr/another key/];

@x = @good; $x[$cps[0]] =~ s/\\n4\\n/\\n5\\n/;
push @case, ['a checkpoint altered', [@x], qr/bad signature/];

@x = @good; splice @x, -2;
push @case, ['the last record and checkpoint removed', [@x], qr/not covered/];

for my $c (@case) {
    my ($name, $lines, $re) = @$c;
    $out = verify(@$lines);
    like($out, qr/FAILED/, "$name: detected");
    like($out, $re, "$name: named") or diag($out);
}

# a checkpoint kept elsewhere catches what the log alone cannot

$t->write_file('kept.txt', JSON::PP->new->decode($logs[1][$cps[2]])->{note});
@x = @good;
$out = verify(@x);
$out = `$audit verify $p/tamper.log --pubkey $keys/log.pub.pem --checkpoint $p/kept.txt`;
like($out, qr/forked history: the kept checkpoint/,
     'a kept checkpoint of another history: named');

done_testing;
