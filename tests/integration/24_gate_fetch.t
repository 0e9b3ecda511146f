#!/usr/bin/perl

# Every way a page fetches, through a real nginx: tests/fixtures/
# constructs.html (srcset, source, video, audio, track, object, embed,
# input type=image, ping, every fetching link, SVG image and use,
# background, style attributes and elements, iframe srcdoc, meta refresh,
# base, hosts written with references, case, tabs and percent-encoding),
# from a file and from an upstream cut in small pieces.  Refused: no gated
# host is left, the page is otherwise whole; granted: byte for byte.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header forge_cookie);

my $root = "$FindBin::Bin/../..";

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_banner off;

        consent_gate_host analytics *.googletagmanager.com
                                    www.google-analytics.com
                                    static.hotjar.com www.clarity.ms;
        consent_gate_host marketing *.facebook.com connect.facebook.net
                                    snap.licdn.com *.linkedin.com
                                    analytics.tiktok.com;

        location /slow/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
            proxy_buffering off;
            proxy_buffer_size 1k;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;
        sendfile off;
        output_buffers 1 61;
        limit_rate 32k;
    }
END

open my $fh, '<:raw', "$root/tests/fixtures/constructs.html" or die $!;
my $page = do { local $/; <$fh> };
close $fh;

$t->write_file('html/constructs.html', $page);
$t->run;

my $key = $t->read_file('conf/secret.key');
my $all = forge_cookie(key => $key, granted => [qw(analytics marketing)]);
my $none = forge_cookie(key => $key, refused => [qw(analytics marketing)]);
my $ana = forge_cookie(key => $key, granted => ['analytics'],
                       refused => ['marketing']);

my @analytics = qw(googletagmanager.com google-analytics.com
                   static.hotjar.com www.clarity.ms);
my @marketing = qw(facebook.com connect.facebook.net snap.licdn.com
                   linkedin.com analytics.tiktok.com);

# what a refused page must not hold, however it is written
my @disguised = (qr/entities\.(gif|png)/, qr/case\.gif/, qr/tab\.gif/,
                 qr/percent\.gif/, qr/srcdoc/, qr/<base\b/,
                 qr/http-equiv="refresh"/);

for my $path ('/constructs.html', '/slow/constructs.html') {
    my $r = $t->get($path, Cookie => "consent=$none");
    is($r->{status}, 200, "$path refused: 200");
    my $body = $r->{body};

    for my $host (@analytics, @marketing) {
        unlike($body, qr/\Q$host\E/i, "$path refused: no $host");
    }

    for my $re (@disguised) {
        unlike($body, $re, "$path refused: no $re");
    }

    # what stays: the page, the own srcset candidate, the elements that
    # only lost an attribute
    like($body, qr{<h1 class="hero own">Every way a page fetches</h1>},
         "$path refused: the page is there");
    like($body, qr{srcset="/own\.png 1x"}, "$path refused: own candidate");
    like($body, qr{<video\s+controls>}, "$path refused: the video stays");
    like($body, qr{<a href="/next\.html" >next</a>},
         "$path refused: the link stays, without ping");
    like($body, qr{<input type="image"\s+alt="Go">},
         "$path refused: the button stays");
    like($body, qr{<style>body \{ margin: 0 \}},
         "$path refused: the own style stays");
    like($body, qr{<link rel="canonical"}, "$path refused: canonical stays");
    like($body, qr{</body>\s*</html>\s*$}, "$path refused: the whole page");

    $r = $t->get($path, Cookie => "consent=$all");
    is($r->{body}, $page, "$path granted: byte for byte");

    $r = $t->get($path, Cookie => "consent=$ana");
    $body = $r->{body};

    for my $host (@marketing) {
        unlike($body, qr/\Q$host\E/i, "$path analytics only: no $host");
    }

    like($body, qr{static\.hotjar\.com/c\.css},
         "$path analytics only: the analytics stylesheet stays");
    like($body, qr{googletagmanager\.com/gtag/js},
         "$path analytics only: the analytics script stays");
}

# a first visit is a refusal of every optional category

my $r = $t->get('/constructs.html');
unlike($r->{body}, qr/\Q$_\E/i, "first visit: no $_") for @analytics;

$t->check_log;

done_testing();
