#!/usr/bin/perl

# Compares two runs of nginx-tests (tests/nginx-tests/run.pl): the suite as
# it is, and the suite with the module enabled. Every file whose result
# differs must be listed, with its reason, in docs/testing.md, in the table
# of the run's mode (a table may name several modes):
#
#     <!-- nginx-tests: module banner -->
#     | file | with the module | reason |
#     | ---- | --------------- | ------ |
#     | `range.t` | fail | ... |
#
# Exit status 0 when the differences are exactly the listed ones; else 1,
# naming each difference not listed and each listed one that no longer
# differs (take it off the list: it is fixed).  A file that fails without
# the module and passes with it is named, but is no difference of the
# module's: it failed with nginx as it is (a timing test on a busy
# machine), and the module cannot make a failing test pass.
#
#     perl compare.pl --docs docs/testing.md --mode module BASE.txt RUN.txt
#     perl compare.pl --docs docs/testing.md --mode module --skips
#         (prints the files the mode does not run, for run.pl --skip)

use strict;
use warnings;

use Getopt::Long;

my ($docs, $mode, $skips);
GetOptions('docs=s' => \$docs, 'mode=s' => \$mode, 'skips' => \$skips)
    && $docs && $mode && ($skips || @ARGV == 2)
    or die "usage: $0 --docs FILE --mode NAME (--skips | BASE RUN)\n";

my %expected = expected($docs, $mode);

if ($skips) {
    print "$_\n" for grep { $expected{$_}{result} eq 'not-run' }
                     sort keys %expected;
    exit 0;
}

my %base = results($ARGV[0]);
my %run = results($ARGV[1]);

my (@unexpected, @listed, @fixed, @base);

for my $file (sort keys %{{ %base, %run }}) {
    my $b = $base{$file} // { result => 'absent', what => '' };
    my $r = $run{$file} // { result => 'absent', what => '' };
    my $e = $expected{$file};

    if ($b->{result} eq $r->{result}) {
        push @fixed, "$file: $r->{result} in both runs, listed as "
                     . "\"$e->{result}\": take it off the list" if $e;
        next;
    }

    my $line = "$file: $b->{result} -> $r->{result}"
               . ($r->{what} ne '' ? " ($r->{what})" : '');

    if ($e && $e->{result} eq $r->{result}) {
        push @listed, "$line\n    because: $e->{reason}";
    } elsif (!$e && $b->{result} eq 'fail' && $r->{result} eq 'pass') {
        push @base, $line;
    } else {
        push @unexpected, $line
            . ($e ? "\n    listed as \"$e->{result}\": $e->{reason}" : '');
    }
}

my $n = scalar keys %run;
print "nginx-tests, mode \"$mode\": $n files; ", scalar(@listed),
      " listed differences, ", scalar(@unexpected), " unexpected, ",
      scalar(@fixed), " listed but gone\n";
print "  listed (docs/testing.md): $_\n" for @listed;
print "  UNEXPECTED: $_\n" for @unexpected;
print "  FAILED WITHOUT THE MODULE ONLY (nginx-tests' own, not compared): "
      . "$_\n" for @base;
print "  GONE: $_\n" for @fixed;

exit(@unexpected || @fixed ? 1 : 0);

sub results {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my %r;
    for (<$fh>) {
        chomp;
        my ($file, $result, $what) = split /\t/, $_, 3;
        $r{$file} = { result => $result, what => $what // '' };
    }
    return %r;
}

sub expected {
    my ($path, $name) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my ($in, $table, %e) = (0, 0);
    for (<$fh>) {
        if (/^<!-- nginx-tests: ([\w -]+?) -->/) {
            $in = grep { $_ eq $name } split ' ', $1;
            next;
        }
        next unless $in;
        $table = 1 if /^\|/;
        last if $table && !/^\|/;
        next unless /^\| \s* `([\w.-]+\.t)` \s* \| \s* ([\w-]+) \s* \|
                     \s* (.+?) \s* \| \s*$/x;
        $e{$1} = { result => $2, reason => $3 };
    }
    return %e;
}
