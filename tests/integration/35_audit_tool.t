#!/usr/bin/perl

# consent-audit on its own (no nginx): keygen, verify and its faults named
# with file, line and reason, stats, export --csv, report, --help.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use ConsentTest;

my $audit = "$ConsentTest::BUILD/consent-audit";
ok(-x $audit, 'consent-audit is built') or die "no $audit\n";

my $d = tempdir('consent-audit-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);

sub run {
    my $out = `$audit @_ 2>&1`;
    return ($? >> 8, $out);
}

sub slurp { open my $f, '<:raw', $_[0] or die "$_[0]: $!"; local $/; <$f> }

sub spew {
    my ($name, @lines) = @_;
    open my $f, '>:raw', "$d/$name" or die "$name: $!";
    print $f @lines;
    close $f;
    return "$d/$name";
}

# --help, usage

my ($rc, $out) = run('--help');
is($rc, 0, '--help exits 0');
like($out, qr/verify FILE\.\.\. --pubkey PEM/, '--help documents verify');
like($out, qr/report -o FILE\.html/, 'and report');

($rc, $out) = run('frobnicate');
is($rc, 2, 'an unknown command exits 2');

($rc, $out) = run("verify $d/none.log");
is($rc, 2, 'verify without --pubkey exits 2');

# keygen

($rc, $out) = run("keygen $d");
is($rc, 0, 'keygen');
is((stat "$d/log.pem")[2] & 0777, 0600, 'the private key is 0600');
is((stat "$d/secret.key")[2] & 0777, 0600, 'the secret is 0600');
is(-s "$d/secret.key", 32, 'the secret is 32 bytes');
like(slurp("$d/log.pub.pem"), qr/^-----BEGIN PUBLIC KEY-----/,
     'the public key is PEM');
like(`openssl pkey -in $d/log.pem -noout -text 2>&1`, qr/ED25519/i,
     'the key is Ed25519, for openssl too');

($rc, $out) = run("keygen $d");
is($rc, 2, 'keygen keeps existing files');
like($out, qr/use --force/, 'and says how to replace them');

mkdir "$d/other";
run("keygen $d/other");

# a log, and faults

my $pub = "--pubkey $d/log.pub.pem";

system("$audit sample 20 --sign $d/log.pem > $d/good.log") == 0
    or die 'sample failed';
system("$audit sample 20 --sign $d/other/log.pem > $d/other.log") == 0
    or die 'sample failed';

my @l = split /^/, slurp("$d/good.log");
my @o = split /^/, slurp("$d/other.log");

($rc, $out) = run("verify $d/good.log $pub");
is($rc, 0, 'a whole log verifies');
like($out, qr/^OK: 20 records \(1 policy, 19 consent\), seq 1 to 20/, 'OK');

($rc, $out) = run("verify $d/good.log $pub --fast");
is($rc, 0, '--fast too');

($rc, $out) = run("verify $d/good.log --pubkey $d/other/log.pub.pem");
is($rc, 1, 'another key fails');

my %cases = (
    'changed byte' => [[@l[0 .. 6], $l[7] =~ s/"save"/"savf"/r,
                        @l[8 .. 19]],
                       qr/:8: bad signature/, qr/:9: broken link/],
    'deleted line' => [[@l[0 .. 6], @l[8 .. 19]], qr/:8: gap: seq 9 follows seq 7/],
    'inserted line' => [[@l[0 .. 9], $l[3], @l[10 .. 19]],
                        qr/:11: duplicate: seq 4/],
    'swapped lines' => [[@l[0 .. 6], $l[8], $l[7], @l[9 .. 19]],
                        qr/:9: out of order: seq 8 comes after seq 9/],
    'spliced record' => [[@l[0 .. 6], $o[7], @l[8 .. 19]],
                         qr/:8: bad signature/, qr/:8: broken link/],
    'truncated line' => [[@l[0 .. 18], substr($l[19], 0, 50)],
                         qr/:20: truncated line/],
);

for my $name (sort keys %cases) {
    my ($lines, @want) = @{ $cases{$name} };
    my $f = spew("$name.log" =~ s/ /-/r, @$lines);

    for my $fast ('', ' --fast') {
        ($rc, $out) = run("verify $f $pub$fast");
        is($rc, 1, "$name$fast: fails");
        for my $re (@want) {
            next if $fast && $re =~ /bad signature/;    # not checked
            like($out, $re, "$name$fast: named: $re");
        }
    }
}

# across files: in order, a gap between files, the wrong order

my $a = spew('a.log', @l[0 .. 9]);
my $b = spew('b.log', @l[10 .. 19]);
my $b2 = spew('b2.log', @l[11 .. 19]);

($rc, $out) = run("verify $a $b $pub");
is($rc, 0, 'two files in order verify');
($rc, $out) = run("verify $a $b2 $pub");
like($out, qr/b2\.log:1: gap/, 'a record lost between files: gap') ;
($rc, $out) = run("verify $b $a $pub");
is($rc, 1, 'files in the wrong order fail');

# stats, export, report, show

($rc, $out) = run("stats $d/good.log");
is($rc, 0, 'stats');
like($out, qr/^analytics\s+9\s+10\s+47\.4%$/m, 'consent rate per category');
like($out, qr/^\d{4}-\d\d-\d\d\s+19\s/m, 'choices per day');

($rc, $out) = run("export --csv $d/good.log");
is($rc, 0, 'export --csv');
my @rows = split /\r\n/, $out;
is(scalar @rows, 20, 'a header and one row per choice');
like($rows[0], qr/^ts,id,action,granted,denied,revision,text_hash/, 'header');
like($rows[1], qr/^\d{4}-[^,]+,[0-9a-f]{32},save,/, 'a row');

($rc, $out) = run("report -o $d/r.html $d/good.log");
is($rc, 0, 'report');
my $html = slurp("$d/r.html");
like($html, qr/<svg[^>]*>.*<polyline/s, 'with an inline SVG chart');
my @ext = $html =~ /(?:src|href)\s*=\s*"([^"]*)"/g;
is_deeply(\@ext, [], 'and no external resource');
unlike($html, qr/<script/, 'nor a script');

my ($id) = $l[5] =~ /"id":"([0-9a-f]{32})"/;
($rc, $out) = run("show $id $d/good.log");
is($rc, 0, 'show');
like($out, qr/texts shown \(language en, policy record seq 1 .*matches/,
     'with the texts shown');

($rc, $out) = run("show 00000000000000000000000000000000 $d/good.log");
is($rc, 1, 'show: an unknown id exits 1');

done_testing;
