#!/usr/bin/perl

# The files beside the consent log (PATH.hashes, PATH.leaves, PATH.index)
# are buffered in shared memory between checkpoints. A kill -9 of the
# whole of nginx with sync=off loses what is buffered; the next start adds
# it again from the log. Checked here: that the files do lag before the
# crash (so that the test tests the recovery), that after the restart they
# are, byte for byte, what the log says they must be (the leaves its
# lines, the index their places and ids, the hashes the tree's in tlog's
# order, also checked by Go's sumdb/tlog), that the tree goes on without a
# seq twice, that a receipt for a record the crash cut from the files is
# served and proves it, and that consent-audit verify passes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256);
use ConsentTest qw(set_cookie);

my $audit = "$ConsentTest::BUILD/consent-audit";
my $go = "$ConsentTest::BUILD/consent-verify";
ok(-x $audit, 'consent-audit is built') or die("no $audit");
ok(-x $go, 'the Go verifier is built (make go-verify)') or die("no $go");

my $origin = 'example.test/consent-log';
my $entry = 32;                     # ngx_http_consent_log_entry_t

my $t = ConsentTest->new(workers => 2,
                         # the master may see a worker killed before it
                         log_allow => qr/exited on signal 9/);
my $p = $t->prefix;
system("$audit keygen $p >/dev/null") == 0 or die 'keygen failed';

$t->{http} = <<"END";
    consent_secret secret.key;
    consent_category necessary required;
    consent_languages en fr;
    consent_category analytics;
    consent_category marketing gpc;
    consent_log %%PREFIX%%/logs/consent.log sign=$p/log.pem origin=$origin
                checkpoint=20 checkpoint_interval=1h sync=off;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

chmod 01777, "$p/logs";
$t->run;

sub leaves_in_log {
    return grep { !/"type":"checkpoint"/ }
           split /\n/, $t->read_file('logs/consent.log') // '';
}

sub size { (-s "$p/logs/consent.log$_[0]") // 0 }

# 30 choices: a checkpoint at 20 records writes the files beside the log,
# the last ones stay in the buffers

my $cookie;
for my $n (1 .. 30) {
    my $r = $t->post_form('/consent/', $n % 2 ? 'action=accept_all'
                                              : 'action=reject_all');
    is($r->{status}, 303, "choice $n") if $n == 1 || $n == 30;
    $cookie = set_cookie($r);
}

my @before = leaves_in_log();
my $indexed = size('.index') / $entry;
ok($indexed >= 20, "the checkpoint wrote the files beside the log "
   . "($indexed entries)");
ok($indexed < @before, "records after it are still buffered ($indexed of "
   . scalar(@before) . ' on disk): the crash has something to lose');
like($t->get('/consent/receipt', Cookie => "consent=$cookie")->{body},
     qr/^not yet/, 'a buffered record: its receipt is not yet');

# kill -9 of the master and its workers at once

my $master = $t->pid;
chomp(my @workers = `ps -o pid= --ppid $master`);
s/\s+//g for @workers;
ok(@workers == 2, 'two workers to kill') or diag("workers: @workers");
kill 'KILL', $master, @workers;
for (1 .. 100) {
    last unless grep { kill 0, $_ } $master, @workers;
    select(undef, undef, undef, 0.05);
}
ok(!(grep { kill 0, $_ } $master, @workers), 'nginx is gone');
is(size('.index') / $entry, $indexed, 'the buffered entries were lost');
$t->{running} = 0;

# the restart recovers them from the log

unlink "$p/logs/nginx.pid";
$t->run;

my $r = $t->get('/consent/receipt', Cookie => "consent=$cookie");
is($r->{status}, 200, 'after the restart, a receipt for the last record '
   . 'before the crash');
my $receipt = $r->{body};
my $rec = JSON::PP->new->decode((leaves_in_log())[-1]);
my $out = `$audit prove $rec->{id} $p/logs/consent.log`;
is($out, $receipt, 'the proof consent-audit prove gives from the log');

$t->post_form('/consent/', 'action=accept_all') for 1 .. 5;
$t->stop;

# the files beside the log: what the log files (oldest first) say they are

sub check_beside {
    my ($what, @files) = @_;

    my @leaves = map { grep { !/"type":"checkpoint"/ } split /\n/,
                       $t->read_file("logs/$_") // '' } @files;
    my @seq = map { JSON::PP->new->decode($_)->{seq} } @leaves;
    is_deeply(\@seq, [1 .. @leaves], "$what: seq 1 to " . @leaves
              . ', none twice, none missing');

    is($t->read_file('logs/consent.log.leaves'),
       join('', map { "$_\n" } @leaves),
       "$what: PATH.leaves, every leaf, in order, once");

    my $index = $t->read_file('logs/consent.log.index');
    is(length($index), $entry * @leaves, "$what: PATH.index, an entry a leaf");
    my ($offset, $bad) = (0, 0);
    for my $i (0 .. $#leaves) {
        my ($id, $off, $len, $type) =
            unpack('a16 Q< L< L<', substr($index, $i * $entry, $entry));
        my $j = JSON::PP->new->decode($leaves[$i]);
        my $want_type = $j->{type} eq 'consent' ? 2 : 1;
        my $want_id = $j->{type} eq 'consent' ? pack('H32', $j->{id})
                                              : "\0" x 16;
        $bad++ unless $off == $offset && $len == length($leaves[$i])
                      && $type == $want_type && $id eq $want_id;
        $offset += length($leaves[$i]) + 1;
    }
    is($bad, 0, "$what: PATH.index, each entry its leaf's place, length, "
       . 'type, id');

    # the stored hashes of tlog: each leaf hash, then the nodes it completes

    my (@stack, $hashes);
    for my $leaf (@leaves) {
        my $h = sha256("\0" . $leaf);
        $hashes .= $h;
        my $level = 0;
        while (@stack && $stack[-1][0] == $level) {
            $h = sha256("\1" . (pop @stack)->[1] . $h);
            $hashes .= $h;
            $level++;
        }
        push @stack, [$level, $h];
    }
    ok($t->read_file('logs/consent.log.hashes') eq $hashes,
       "$what: PATH.hashes, the tree's hashes as a rebuild from the log "
       . 'has them');

    my $all = join(' ', map { "$p/logs/$_" } @files);
    my $out = `$audit verify $all --pubkey $p/log.pub.pem`;
    is($?, 0, "$what: consent-audit verify") or diag($out);
    like($out, qr/^OK: ${\ scalar @leaves} records/, "$what: every record");

    return scalar @leaves;
}

check_beside('after a crash', 'consent.log');

my $vkey = `$audit vkey --pubkey $p/log.pub.pem --origin $origin`;
chomp $vkey;
$out = `$go '$vkey' log $p/logs/consent.log $p/logs/consent.log.hashes`;
is($?, 0, 'Go sumdb/tlog: the checkpoints and the hash file') or diag($out);

# a rotation, then a crash before the next record: the records buffered
# are in the renamed file, which a start does not read; the reopen wrote
# them out

$t->run;
$t->post_form('/consent/', 'action=reject_all') for 1 .. 10;
my $logged = () = leaves_in_log();
ok(size('.index') / $entry < $logged,
   'records since the last checkpoint are buffered')
    or diag('index entries ' . size('.index') / $entry . ", records $logged");

rename("$p/logs/consent.log", "$p/logs/consent.log.1") or die $!;
$t->signal('reopen') or diag('reopen failed');
my $flushed;
for (1 .. 100) {
    last if $flushed = (size('.index') / $entry == $logged);
    select(undef, undef, undef, 0.05);
}
ok($flushed, 'the reopen writes out what is buffered')
    or diag('index entries ' . size('.index') / $entry . ", records $logged");

$master = $t->pid;
chomp(@workers = `ps -o pid= --ppid $master`);
s/\s+//g for @workers;
kill 'KILL', $master, @workers;
for (1 .. 100) {
    last unless grep { kill 0, $_ } $master, @workers;
    select(undef, undef, undef, 0.05);
}
$t->{running} = 0;
unlink "$p/logs/nginx.pid";

$t->run;
$t->post_form('/consent/', 'action=accept_all') for 1 .. 3;
$t->stop;

check_beside('after a rotation and a crash', 'consent.log.1', 'consent.log');

$t->check_log(qr/exited on signal 9/);

done_testing;
