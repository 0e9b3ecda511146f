#!/usr/bin/perl

# module/ngx_http_consent_ui_data.c is generated from ui/ by ui/embed.sh and
# committed: it must be what the generator makes of ui/ today ("make ui").

use strict;
use warnings;
use FindBin;
use Test::More;

my $root = "$FindBin::Bin/../..";
my @files = ('ui/consent.css', 'ui/consent.js',
             sort map { s{^\Q$root\E/}{}r } glob("$root/ui/texts/*.json"));

ok(scalar(grep { m{^ui/texts/en\.json$} } @files), 'en.json is there');
ok(scalar(grep { m{^ui/texts/fr\.json$} } @files), 'fr.json is there');

my $now = `cd $root && LC_ALL=C sh ui/embed.sh @files`;
is($?, 0, 'ui/embed.sh runs');

open my $fh, '<:raw', "$root/module/ngx_http_consent_ui_data.c"
    or die "ngx_http_consent_ui_data.c: $!";
my $committed = do { local $/; <$fh> };

ok($now eq $committed,
   'module/ngx_http_consent_ui_data.c is current (else run "make ui")');

# the bytes round-trip: decode the arrays and compare with the files
my %data;
while ($committed =~ m{/\* (\S+) \*/\s+static const unsigned char\s+\w+\[\] = \{(.*?)\};}sg) {
    my ($name, $body) = ($1, $2);
    my @b = map { hex } $body =~ /0x([0-9a-f]{2})/g;
    pop @b;    # the NUL after the data
    $data{$name} = pack 'C*', @b;
}

for my $f (@files) {
    (my $name = $f) =~ s{^ui/}{};
    open my $in, '<:raw', "$root/$f" or die "$f: $!";
    my $want = do { local $/; <$in> };
    ok(defined $data{$name} && $data{$name} eq $want, "$name round-trips");
}

# the weight budget of the issue: banner HTML + CSS + JS <= 8 KB gzipped;
# the CSS and JS here, the banner's HTML in 13_page.t
my $gz = 0;
for my $f ('ui/consent.css', 'ui/consent.js') {
    my $n = `gzip -9c $root/$f | wc -c`;
    $gz += $n;
}
cmp_ok($gz, '<=', 6 * 1024, "CSS + JS are $gz bytes gzipped (<= 6 KB)");

done_testing();
