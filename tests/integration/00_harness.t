#!/usr/bin/perl

# The harness itself: the keys it writes are keys nginx takes as written,
# a start that fails says why in full and ends only its own file, ports are
# never shared, and the error-log check at the end of every file runs by
# itself, fails on an alert and stops every nginx, even after a die.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest;

# --- keys: consent_secret strips a trailing CR or LF, so a key the harness
# writes must not end in one (with plain random bytes, 1 start in 128 failed
# with "holds 31 bytes": the old "nginx ends without a word")

my ($short, $ends) = (0, 0);
for (1 .. 5000) {
    my $k = ConsentTest::random_key();
    $short++ if length($k) != 32;
    $ends++ if $k =~ /[\r\n]\z/;
}
is($short, 0, '5,000 keys: each 32 bytes long');
is($ends, 0, '5,000 keys: none ends in CR or LF');

# --- ports: distinct, free, and locked against every other process

my @ports = map { ConsentTest::free_port() } 1 .. 20;
my %seen = map { ($_ => 1) } @ports;
is(scalar keys %seen, 20, '20 ports, all different');

my $dir = ($ENV{TMPDIR} || '/tmp') . '/consent-test-ports';
system($^X, '-MFcntl=:flock', '-e',
       'open my $f, ">>", $ARGV[0] or exit 2; '
       . 'exit(flock($f, LOCK_EX | LOCK_NB) ? 0 : 1)', "$dir/$ports[0]");
is($? >> 8, 1, 'another process cannot take a port this one holds');

# --- a start that fails: the file dies with nginx's output and log in full

my $bad = ConsentTest->new(http => "    no_such_directive on;\n",
                           log_allow => qr/unknown directive "no_such/);
eval { $bad->run };
my $err = $@;
like($err, qr/^nginx failed to start \(exit 1\)/, 'a failed start dies');
like($err, qr/--- its output:\n.*\[emerg\].*unknown directive "no_such/,
     "and carries nginx's own output");
like($err, qr/--- logs\/error\.log:\n/, 'and the error log');

# --- the end check, in files of their own

my $lib = "$FindBin::Bin/lib";

sub child {
    my ($code) = @_;
    my $file = $bad->write_file('child.t', <<"END");
use strict;
use warnings;
use lib '$lib';
use Test::More;
use ConsentTest;
my \$t = ConsentTest->new(http => <<'EOF')->run;
    server {
        listen 127.0.0.1:%%PORT%%;
        location / { return 204; }
    }
EOF
print STDERR "PID ", \$t->pid, "\\n";
is(\$t->get('/')->{status}, 204, 'nginx answers');
$code
END
    my $out = `$^X $file 2>&1`;
    my ($pid) = $out =~ /^PID (\d+)$/m;
    return ($? >> 8, $out, $pid);
}

my ($rc, $out, $pid) = child('done_testing;');
is($rc, 0, 'a clean file passes') or diag($out);
like($out, qr/^ok 2 - nginx 1 on port \d+: error log has no alert/m,
     'with the error-log check as a test of its own');
like($out, qr/^1\.\.2$/m, 'counted in the plan');
ok($pid && !kill(0, $pid), 'and its nginx is stopped');

($rc, $out, $pid) = child(<<'END');
open my $fh, '>>', $t->prefix . '/logs/error.log' or die;
print $fh "2026/01/01 00:00:00 [alert] 1#1: something went wrong\n";
close $fh;
done_testing;
END
isnt($rc, 0, 'an alert in the log fails the file');
like($out, qr/^not ok 2 - nginx 1 .*error log has no alert/m, 'as a test')
    or diag($out);
like($out, qr/something went wrong/, 'showing the line');

($rc, $out, $pid) = child(<<'END');
open my $fh, '>>', $t->prefix . '/logs/error.log' or die;
print $fh "==1==ERROR: AddressSanitizer: heap-use-after-free\n";
close $fh;
die "the test broke\n";
END
isnt($rc, 0, 'a file that dies fails');
like($out, qr/the test broke/, 'saying why');
like($out, qr/^not ok 2 - nginx 1 .*error log has no/m,
     'and still checks the log');
ok($pid && !kill(0, $pid), 'and stops its nginx');

($rc, $out, $pid) = child(<<'END');
kill 'TERM', $$;
sleep 10;
END
is($rc, 128 + 15, 'a file ended by SIGTERM exits 143');
like($out, qr/^# killed by SIGTERM$/m, 'saying so');
ok($pid && !kill(0, $pid), 'and stops its nginx');

($rc, $out) = child(<<'END');
open my $fh, '>>', $t->prefix . '/logs/error.log' or die;
print $fh "2026/01/01 00:00:00 [crit] 1#1: expected by this test\n";
close $fh;
$t->check_log(qr/expected by this test/);
done_testing;
END
is($rc, 0, 'a line the file allows passes the end check too') or diag($out);

done_testing;
