#!/usr/bin/perl

# A log without sign= has no checkpoints to sign, but the files beside it
# (PATH.hashes, .leaves, .index) are still written every checkpoint=N
# records, from the buffers in the shared zone: not after every record
# once the first N are there (three more write() calls a consent, as the
# version before the fix did). And what is buffered reaches them at shutdown.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest;

my $N = 40;          # checkpoint=
my $POSTS = 100;     # with the policy record: 101 leaves, flushed at 40, 80

my $t = ConsentTest->new(http => <<"END");
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_languages en;
    consent_log %%PREFIX%%/logs/consent.log checkpoint=$N sync=off;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $p = $t->prefix;
$t->run;

my $ok = 0;
for my $i (1 .. $POSTS) {
    my $r = $t->post_form('/consent/', 'action=accept_all');
    $ok++ if $r->{status} == 303;
}
is($ok, $POSTS, "$POSTS consents answered");

my $leaves = () = $t->read_file('logs/consent.log') =~ /"seq":/g;
is($leaves, $POSTS + 1, 'the log has them and the policy record');

my $mid = -s "$p/logs/consent.log.index";

$t->stop;

my $end = -s "$p/logs/consent.log.index";
ok($end && $end % $leaves == 0, "at shutdown the index has every leaf ($end bytes)")
    or diag("index: $end bytes for $leaves leaves");

my $entry = $end / $leaves;
my $flushed = int($leaves / $N) * $N;
is($mid / $entry, $flushed,
   "before it, $flushed leaves (every $N), not all $leaves");

like($t->read_file('logs/error.log'), qr/has no sign=KEY\.pem/,
     'the missing key is warned about');

done_testing;
