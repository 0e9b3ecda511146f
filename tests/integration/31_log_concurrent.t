#!/usr/bin/perl

# One tree across 4 workers: N concurrent POSTs make exactly N consent
# records and the tree verifies under its checkpoints; the same with
# "nginx -s reload" (with a new revision, hence a new policy record) and
# "nginx -s reopen" after the file was renamed, both during the run.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX qw(_exit);
use Time::HiRes qw(sleep);
use ConsentTest;

my $N = $ENV{TEST_LOG_N} || 2000;
my $CLIENTS = 16;

my $audit = "$ConsentTest::BUILD/consent-audit";
ok(-x $audit, 'consent-audit is built') or die "no $audit\n";

my $http = <<'END';
    consent_secret secret.key;
    consent_revision %%REV%%;
    consent_category necessary required;
    consent_languages en fr;   # one policy record (tests of the log, not of languages)
    consent_category analytics;
    consent_category marketing gpc;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem
                checkpoint_interval=200ms;

    server {
        listen 127.0.0.1:%%PORT%% backlog=1024;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $t = ConsentTest->new(http => $http =~ s/%%REV%%/1/r, workers => 4);
my $p = $t->prefix;
# the workers replace PATH.checkpoint in the log's directory
chmod 01777, "$p/logs";

mkdir "$p/keys";
system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed";
$t->run;

# N POSTs from CLIENTS processes at once; $during runs in the parent
# meanwhile. Returns how many were answered 303 with a cookie.
sub storm {
    my ($during) = @_;
    my @pids;

    pipe(my $rd, my $wr) or die "pipe: $!";

    for my $c (1 .. $CLIENTS) {
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            close $rd;
            my $ok = 0;
            my $n = int($N / $CLIENTS) + ($c <= $N % $CLIENTS ? 1 : 0);
            for my $i (1 .. $n) {
                my $r = eval {
                    $t->post_form('/consent/',
                                  $i % 2 ? 'action=accept_all'
                                         : 'action=save&category=analytics');
                };
                $ok++ if $r && $r->{status} == 303
                         && ConsentTest::set_cookie($r);
            }
            syswrite $wr, "$ok\n";
            close $wr;
            $t->{running} = 0;      # the child must not stop nginx
            _exit(0);
        }

        push @pids, $pid;
    }

    close $wr;
    $during->() if $during;

    my $ok = 0;
    $ok += $_ for <$rd>;
    waitpid($_, 0) for @pids;

    return $ok;
}

sub consents {
    my $n = 0;
    for my $f (@_) {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            $n++ if /"type":"consent"/;
        }
    }
    return $n;
}

# a checkpoint comes at most 200 ms after the last record
sub verify {
    sleep 0.7;
    my $out = `$audit verify @_ --pubkey $p/keys/log.pub.pem 2>&1`;
    return ($? >> 8, $out);
}

# 1. a plain storm

my $ok = storm();
is($ok, $N, "$N concurrent POSTs answered 303 with a cookie");
is(consents("$p/logs/consent.log"), $N, "exactly $N consent records");

my ($rc, $out) = verify("$p/logs/consent.log");
is($rc, 0, 'the chain of 4 workers verifies') or diag($out);

# 2. a reload with a new revision during the storm

$ok = storm(sub {
    sleep 0.5;
    $t->reload($http =~ s/%%REV%%/2/r) or diag('reload failed');
});
is($ok, $N, "$N POSTs across a reload");

# the storm may end before the new workers answer one POST: one more, once
# the reload is done, so that the new configuration surely writes
sleep 1;
is($t->post_form('/consent/', 'action=accept_all')->{status}, 303,
   'a POST after the reload');
is(consents("$p/logs/consent.log"), 2 * $N + 1, "exactly $N + 1 more records");

($rc, $out) = verify("$p/logs/consent.log");
is($rc, 0, 'the chain goes on across the reload') or diag($out);

my $policies = () = $t->read_file('logs/consent.log') =~ /"type":"policy"/g;
is($policies, 2, 'a policy record for each configuration');

# 3. rotation: rename, then reopen, during the storm

$ok = storm(sub {
    sleep 0.5;
    rename("$p/logs/consent.log", "$p/logs/consent.log.1") or die $!;
    $t->signal('reopen') or diag('reopen failed');
});
is($ok, $N, "$N POSTs across a rotation");

# likewise: one more once every worker has reopened
sleep 1;
is($t->post_form('/consent/', 'action=accept_all')->{status}, 303,
   'a POST after the reopen');

my @files = ("$p/logs/consent.log.1", "$p/logs/consent.log");
ok(-s $files[1], 'the new file has records');
is(consents(@files), 3 * $N + 2, "exactly $N + 1 more records, in both files");

($rc, $out) = verify(@files);
is($rc, 0, 'the chain goes on from the old file to the new') or diag($out);

my $old = () = $t->read_file('logs/consent.log.1') =~ /"seq":/g;
my ($first) = split /\n/, $t->read_file('logs/consent.log');
like($first, qr/^\{"note":"[^"]*\\n$old\\n.*"type":"checkpoint"\}$/,
     'the new file starts with a checkpoint of the records before it');

# the files in the wrong order do not verify

($rc, $out) = verify(reverse @files);
is($rc, 1, 'rotated files in the wrong order fail');

$t->stop;
$t->check_log;

done_testing;
