#!/usr/bin/perl

# Slow clients against a real nginx: a header never finished and a body
# trickled slower than the timeouts are cut by client_header_timeout and
# client_body_timeout, write no record, and cost no more than their
# connection: 200 of them held at once, the site still answers, and the
# worker grows by less than 32 KB for each.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../integration/lib";
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use ConsentTest;

my $audit = "$ConsentTest::BUILD/consent-audit";

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem
                checkpoint_interval=200ms;

    client_header_timeout 2s;
    client_body_timeout 2s;

    server {
        listen 127.0.0.1:%%PORT%% backlog=1024;
        consent on;
        location /consent/ { consent_endpoint; }
        location / { return 200 "fine\n"; }
    }
END

my $p = $t->prefix;
mkdir "$p/keys";
system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed\n";
$t->run;

sub records {
    open my $fh, '<', "$p/logs/consent.log" or return 0;
    return scalar grep { /"type":"consent"/ } <$fh>;
}

sub connect_to {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
                                  Timeout => 5)
        or die "connect: $!\n";
    binmode $s;
    return $s;
}

# seconds until the server closes the socket (reads and drops what it
# sends first, a 408 say), or undef after $max
sub closed_after {
    my ($s, $max) = @_;
    my $t0 = time;
    my $in = '';
    vec($in, fileno($s), 1) = 1;
    while (1) {
        my $rin = $in;
        my $wait = $max - (time - $t0);
        last unless select($rin, undef, undef, $wait > 0 ? $wait : 0);
        my $n = sysread($s, my $buf, 4096);
        return time - $t0 unless $n;
    }
    return undef;
}

my $head = "POST /consent/ HTTP/1.1\r\nHost: 127.0.0.1:" . $t->port . "\r\n"
         . "Origin: http://127.0.0.1:" . $t->port . "\r\n"
         . "Content-Type: application/x-www-form-urlencoded\r\n";

# --- a header never finished: closed by client_header_timeout (2 s)

my $s = connect_to();
print $s "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a";
my $after = closed_after($s, 10);
ok(defined $after, 'a header never finished is cut');
ok(defined $after && $after > 1.5 && $after < 8,
   'by client_header_timeout, 2 s') or diag($after);

# sending a byte a second does not stretch it: the timer is the header's
$s = connect_to();
my $t0 = time;
print $s "GET / HTTP/1.1\r\n";
my $cut;
for (1 .. 10) {
    sleep 0.5;
    local $SIG{PIPE} = 'IGNORE';
    if (!print $s "X") {
        $cut = 1;
        last;
    }
    if (defined closed_after($s, 0.3)) {
        $cut = 1;
        last;
    }
}
ok($cut && time - $t0 < 8, 'a header trickled byte by byte is cut too');

# --- a body trickled slower than client_body_timeout: cut, no record

my $before = records();

$s = connect_to();
print $s $head . "Content-Length: 17\r\n\r\naction=";
$after = closed_after($s, 10);
ok(defined $after && $after > 1.5 && $after < 8,
   'a body stalled for longer than client_body_timeout is cut')
    or diag($after);

# a body trickled byte by byte, each byte within the timeout: nginx waits,
# one connection's worth, and the record is written once, when it is whole
$s = connect_to();
print $s $head . "Content-Length: 17\r\nConnection: close\r\n\r\n";
for my $c (split //, 'action=accept_all') {
    print $s $c;
    sleep 0.25;
}
my $answer = '';
while (sysread($s, my $buf, 4096)) { $answer .= $buf }
like($answer, qr{^HTTP/1\.1 303}, 'a body trickled within the timeout is '
                                  . 'answered when whole');
is(records(), $before + 1, 'one record: the stalled body wrote none');

# --- 200 slow clients at once cost no more than their connections

# the worker's resident size, in kB
sub rss {
    for my $f (glob '/proc/[0-9]*/status') {
        open my $fh, '<', $f or next;
        my $st = do { local $/; <$fh> };
        next unless $st =~ /^PPid:\s+(\d+)$/m && $1 == $t->pid;
        return $st =~ /^VmRSS:\s+(\d+) kB/m ? $1 : undef;
    }
    return undef;
}

my $rss0 = rss();
my @slow;
for (1 .. 200) {
    my $c = connect_to();
    print $c $_ % 2 ? "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b"
                    : $head . "Content-Length: 17\r\n\r\naction=";
    push @slow, $c;
}
sleep 0.5;

is($t->get('/')->{status}, 200, 'with 200 slow clients, a page is answered');
is($t->post_form('/consent/', 'action=reject_all')->{status}, 303,
   'and a consent');
my $rss1 = rss();
ok(defined $rss0 && defined $rss1 && $rss1 - $rss0 < 200 * 32,
   'the worker grew by less than 32 KB a slow client')
    or diag("VmRSS $rss0 kB, then $rss1 kB");

my $open = grep { !defined closed_after($_, 0) } @slow;
is($open, 200, 'all 200 are held meanwhile');
sleep 3;
my $left = grep { !defined closed_after($_, 0.01) } @slow;
is($left, 0, 'and all are cut by the timeouts');
is(records(), $before + 2, 'none of them wrote a record');

sleep 1;    # a checkpoint, 200 ms after the last record, covers them all
my $v = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem 2>&1`;
is($?, 0, 'the log verifies') or diag($v);

# nginx says so at info: "client timed out"
like($t->read_file('logs/error.log'), qr/client timed out/,
     'the error log names the timeouts');

done_testing;
