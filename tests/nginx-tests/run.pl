#!/usr/bin/perl

# Runs nginx's own test suite (nginx-tests) against one nginx binary and
# writes one line per test file: its name, its result and what failed.
#
#     perl run.pl --tests DIR --nginx BIN --out FILE [--jobs N]
#                 [--skip FILE]...
#
# A result is "pass", "skip" (the file skipped itself: a module or a
# feature this nginx lacks, with its reason), "fail" (failed tests, or a bad
# exit status, with their numbers) or "not-run" (named in a --skip file:
# tests/nginx-tests/compare.pl wants a reason for each in docs/testing.md).
# TEST_NGINX_GLOBALS and TEST_NGINX_GLOBALS_HTTP pass through, as nginx-tests
# reads them. The diagnostics of each failed file come before the summary,
# the last line, each line as "diag FILE: ...". Core Perl only
# (TAP::Harness).

use strict;
use warnings;

use Cwd qw(abs_path);
use Getopt::Long;
use TAP::Harness;

my ($tests, $nginx, $out, $jobs, @skip) = (undef, undef, undef, 2);
GetOptions('tests=s' => \$tests, 'nginx=s' => \$nginx, 'out=s' => \$out,
           'jobs=i' => \$jobs, 'skip=s' => \@skip)
    && $tests && $nginx && $out
    or die "usage: $0 --tests DIR --nginx BIN --out FILE [--jobs N]\n";

$nginx = abs_path($nginx);
$out = abs_path($out) // $out;
-x $nginx or die "$nginx: not an executable\n";
chdir $tests or die "$tests: $!\n";

my %skip;
for my $f (@skip) {
    open my $fh, '<', $f or die "$f: $!\n";
    for (<$fh>) {
        $skip{$1} = 1 if /^\s*([\w.-]+\.t)\b/;
    }
}

my @files = grep { !$skip{$_} } sort glob('*.t');

$ENV{TEST_NGINX_BINARY} = $nginx;
delete $ENV{TEST_NGINX_LEAVE};
delete $ENV{TEST_NGINX_VERBOSE};

my $harness = TAP::Harness->new({
    jobs      => $jobs,
    lib       => ['lib'],
    verbosity => -1,
    merge     => 1,
});

# each file's diagnostics, so that a failed one says what it saw (the
# suite deletes its temporary directory, error log included)
my %diag;
$harness->callback(made_parser => sub {
    my ($parser, $job) = @_;
    my $file = $job->[1] // $job->[0];
    $parser->callback(comment => sub {
        push @{ $diag{$file} }, $_[0]->as_string;
    });
});

my $agg = $harness->runtests(@files);

open my $fh, '>', $out or die "$out: $!\n";
my @failed;

for my $file (@files) {
    my ($p) = $agg->parsers($file);
    my $result;

    if ($p->skip_all) {
        (my $why = $p->skip_all) =~ s/\s+/ /g;
        $result = "skip\t$why";
    } elsif ($p->failed || $p->exit || $p->has_problems) {
        my @what;
        push @what, 'failed ' . join(',', $p->failed) if $p->failed;
        push @what, 'exit ' . $p->exit if $p->exit;
        push @what, 'planned ' . ($p->tests_planned // '?') . ', ran '
                    . $p->tests_run
            if ($p->tests_planned // -1) != $p->tests_run;
        $result = "fail\t" . (join('; ', @what) || 'parse errors');
        push @failed, $file;
    } else {
        $result = "pass\t" . $p->tests_run . ' tests'
                  . ($p->todo_passed ? ', TODO passed ' . join(',',
                                       $p->todo_passed) : '');
    }

    print $fh "$file\t$result\n";
}

print $fh "$_\tnot-run\n" for sort keys %skip;
close $fh;

for my $file (@failed) {
    my @lines = @{ $diag{$file} || [] };
    splice(@lines, 20, @lines - 20, '# ...') if @lines > 20;
    print "diag $file: $_\n" for @lines;
}

printf "%d files, %d tests, %d failed files\n",
       scalar @files, $agg->total, scalar(my @f = $agg->failed);

exit 0;
