#!/usr/bin/perl

# consent_log syslog:server=...: the same records, byte for byte, reach a
# real collector, Debian's rsyslogd, started here with its own
# configuration on a free UDP port of 127.0.0.1 (as a child, not a
# daemon); policy records larger than nginx's 2 KB error-log line
# included; the tree verifies from what rsyslogd wrote.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use ConsentTest qw(set_cookie);

my $root = "$FindBin::Bin/../..";

my $audit = "$ConsentTest::BUILD/consent-audit";

my $rsyslogd = '/usr/sbin/rsyslogd';
ok(-x $rsyslogd, 'rsyslogd is installed (Debian rsyslog, make deps)')
    or die("no $rsyslogd");

my $dir = ConsentTest->new->prefix;

my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'udp') or die "udp: $!";
my $uport = $probe->sockport;
close $probe;

# every message as received (%rawmsg%), one a line
open my $conf, '>', "$dir/rsyslog.conf" or die $!;
print $conf <<"CONF";
global(workDirectory="$dir" maxMessageSize="64k")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$uport")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="$dir/received" template="raw")
CONF
close $conf;

my $collector = fork // die "fork: $!";
if ($collector == 0) {
    open STDOUT, '>', "$dir/rsyslogd.out";
    open STDERR, '>&', \*STDOUT;
    exec $rsyslogd, '-n', '-f', "$dir/rsyslog.conf", '-i', "$dir/rsyslogd.pid";
    die "exec: $!";
}
END { kill 'TERM', $collector if $collector; }

# rsyslogd is up once it wrote its pid
for (1 .. 100) { last if -s "$dir/rsyslogd.pid"; select(undef, undef, undef, 0.1) }
ok(-s "$dir/rsyslogd.pid", 'rsyslogd runs') or diag(`cat $dir/rsyslogd.out`);

# the lines rsyslogd wrote after the first $from, once $n are there
sub received {
    my ($from, $n) = @_;
    my @l;
    for (1 .. 50) {
        @l = ();
        if (open my $fh, '<', "$dir/received") {
            @l = map { chomp; $_ } <$fh>;
        }
        last if @l >= $from + $n;
        select(undef, undef, undef, 0.1);
    }
    return @l[$from .. $#l];
}

my $t = ConsentTest->new(http => <<"END");
    consent_secret secret.key;
    consent_category necessary required;
    consent_languages en fr;   # one policy record (tests of the log, not of languages)
    consent_category analytics;
    consent_category marketing gpc;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem
                checkpoint_interval=200ms;
    consent_log syslog:server=127.0.0.1:$uport,tag=consent;

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

my $n = 50;
my $ok = 0;

for my $i (1 .. $n) {
    my $r = $t->post_form('/consent/', $i % 3 ? 'action=accept_all'
                                              : 'action=reject_all',
                          'Accept-Language' => $i % 2 ? 'fr' : 'en');
    $ok++ if $r->{status} == 303 && set_cookie($r);
}

is($ok, $n, "$n choices recorded");

# what the collector got

# (and the checkpoints, 200 ms after a record at the latest)

sleep 1;
my @lines = split /\n/, $t->read_file('logs/consent.log');
my @got = received(0, scalar @lines);

is(scalar(grep { !/"type":"checkpoint"\}$/ } @got), $n + 1,
   'one message per record (a policy and the choices)');
like($got[-1], qr/"type":"checkpoint"\}$/, 'and the checkpoints');
like($got[0], qr/^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ consent: \{/,
     'a syslog header with the tag, then the record');

my @records = map { s/^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ consent: //r }
              @got;

is_deeply(\@records, \@lines, 'the same records as the file, byte for byte');

ok(length($records[0]) > 2048, 'the policy record is larger than 2 KB')
    or diag(length $records[0]);
like($records[0], qr/^\{"categories":.*"type":"policy"\}$/,
     'and arrives whole');

$t->write_file('logs/received.log', join('', map { "$_\n" } @records));
my $out = `$audit verify $p/logs/received.log --pubkey $p/keys/log.pub.pem`;
is($?, 0, 'the tree verifies from what the collector received')
    or diag($out);

$t->stop;

# syslog alone, with every built-in language: the policy is too large for
# one datagram (about 80 KB), so it comes as several records, each whole

my $t2 = ConsentTest->new(http => <<"END");
    consent_secret secret.key;
    consent_category necessary required;
    consent_log syslog:server=127.0.0.1:$uport sign=%%PREFIX%%/keys/log.pem;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

mkdir $t2->prefix . '/keys';
system("$audit keygen " . $t2->prefix . "/keys >/dev/null") == 0
    or die "keygen failed";
$t2->run;

my $r = $t2->post_form('/consent/', 'action=accept_all');
is($r->{status}, 303, 'syslog only: recorded');

# t2's messages, with nginx's default tag
for (1 .. 50) {
    @got = grep { / nginx: \{/ } received(0, 0);
    last if grep { /"type":"consent"/ } @got;
    select(undef, undef, undef, 0.1);
}

my @languages = map { m{/(\w+)\.json$} } glob("$root/ui/texts/*.json");
my @policy = map { JSON::PP->new->decode($_) }
             map { / nginx: (\{.*\})$/ ? $1 : () }
             grep { /"type":"policy"/ } @got;
my %shown = map { %{ $_->{texts} } } @policy;

cmp_ok(scalar @policy, '>', 1, 'syslog only: the policy in several records');
cmp_ok(length($_), '<', 8192, 'each fits a syslog message')
    for grep { /"type":"policy"/ } @got;
is_deeply([sort keys %shown], [sort @languages],
          'together, the texts of every language');
like($got[-1], qr/nginx: \{.*"type":"consent"/,
     'then the consent record, with the default tag');

$t2->stop;
$t2->check_log;
$t->check_log;

# a collector that is not there: with a file, the file is the proof and
# choices go on; with syslog alone, a send that fails is no proof

my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Proto => 'udp') or die "udp: $!";
my $cport = $closed->sockport;
close $closed;

for my $with_file (1, 0) {
    my $file = $with_file
        ? 'consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem;'
        : '';
    my $t3 = ConsentTest->new(http => <<"END");
    consent_secret secret.key;
    consent_category necessary required;
    consent_languages en fr;   # one policy record (tests of the log, not of languages)
    $file
    consent_log syslog:server=127.0.0.1:$cport sign=%%PREFIX%%/keys/log.pem;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END
    mkdir $t3->prefix . '/keys';
    system("$audit keygen " . $t3->prefix . "/keys >/dev/null") == 0
        or die "keygen failed";
    $t3->run;

    my (%status, $cookies_on_503);
    for (1 .. 6) {
        my $r = $t3->post_form('/consent/', 'action=reject_all');
        $status{$r->{status}}++;
        $cookies_on_503++ if $r->{status} == 503 && set_cookie($r);
    }

    if ($with_file) {
        is($status{303}, 6, 'collector down, file kept: every choice is 303');
        my $p3 = $t3->prefix;
        $t3->stop;                     # and its last checkpoint
        my $o = `$audit verify $p3/logs/consent.log --pubkey $p3/keys/log.pub.pem`;
        is($?, 0, 'and the file is whole') or diag($o);
        like($t3->read_file('logs/error.log'),
             qr/\[error\].*not sent to syslog, the file has it/,
             'the error log says what the collector misses');
        $t3->check_log;
    } else {
        ok($status{503}, 'collector down, syslog alone: choices fail with 503')
            or diag(join ' ', %status);
        ok(!$cookies_on_503, 'and set no cookie');
        $t3->stop;
        $t3->check_log(qr/not sent to syslog/);
    }
}

done_testing;
