#!/usr/bin/perl

# Sec-GPC: 1 and the banner: when the signal already refuses every optional
# category, there is nothing to ask and no banner; when one optional
# category is not covered by it, the banner stays. Gating applies either way.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header);

my $page = "<html><head></head><body>"
         . "<script src=\"https://www.clarity.ms/tag/x\"></script>"
         . "<p>text</p></body></html>\n";

sub start {
    my ($categories) = @_;
    my $t = ConsentTest->new(http => <<"END");
    consent_secret secret.key;
    consent_category necessary required;
$categories
    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_gate_host analytics www.clarity.ms;
        location /consent/ { consent_endpoint; }
    }
END
    $t->write_file('html/index.html', $page);
    return $t->run;
}

sub banner { $_[0]->{body} =~ /id="consent-banner"/ ? 1 : 0 }

my $all = start("    consent_category analytics gpc;\n"
                . "    consent_category marketing gpc;\n");

my $r = $all->get('/', 'Sec-GPC' => '1');
is($r->{status}, 200, 'GPC covering every option: 200');
is(banner($r), 0, 'GPC covering every option: no banner');
unlike($r->{body}, qr/clarity/, 'GPC covering every option: gated');
is(banner($all->get('/')), 1, 'the same site without GPC: banner');

my $some = start("    consent_category analytics gpc;\n"
                 . "    consent_category video;\n");

$r = $some->get('/', 'Sec-GPC' => '1');
is(banner($r), 1, 'GPC, an option it does not cover: banner');
unlike($r->{body}, qr/clarity/, 'and gated');

done_testing();
