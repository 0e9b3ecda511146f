#!/usr/bin/perl

# $consent_removed through a real nginx: what the gate removed from a page,
# by kind (script, iframe, img, link, video; attr, css), for each choice;
# the same value from a plan hit, a plan miss and the full scan (a file in
# 1 KB pieces, gzip, a proxied page in pieces); in log_format, and in
# add_header where it is known at header time (a plan) and absent where it
# is not (the full scan), in add_trailer; "-" for what the gate does not read; a category
# named "removed" refused.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header forge_cookie);

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;

    log_format removed '$request_uri $consent_plan [$consent_removed]';

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_plan_cache 1m;
        sendfile on;
        access_log %%PREFIX%%/logs/removed.log removed;

        add_header X-Removed $consent_removed;

        consent_gate_host analytics *.googletagmanager.com
                                    www.google-analytics.com
                                    static.hotjar.com www.clarity.ms;
        consent_gate_host marketing connect.facebook.net *.facebook.com
                                    *.linkedin.com;

        location /consent/ { consent_endpoint; }

        location /full/ {
            alias %%PREFIX%%/html/;
            consent_plan_cache off;
            output_buffers 2 1k;
        }

        location /nosf/ {
            alias %%PREFIX%%/html/;
            sendfile off;
        }

        location /gz/ {
            alias %%PREFIX%%/html/;
            gzip on;
            gzip_min_length 0;
        }

        location /trailer/ {
            alias %%PREFIX%%/html/;
            consent_plan_cache off;
            add_trailer X-Removed-Trailer $consent_removed;
        }

        location /up/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
            proxy_buffering off;
            proxy_buffer_size 1k;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;
        output_buffers 2 1k;
        access_log off;
    }
END

# one of each kind the gate removes: elements, attributes (a srcset
# candidate, a ping, the video's src: the video stays), an inline style's URL
my $page = <<'END';
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>removed</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<script>!function(){var s="https://connect.facebook.net/en_US/fbevents.js"}();</script>
<script type="text/plain" data-consent="analytics" src="/stats.js"></script>
<link rel="stylesheet" href="https://static.hotjar.com/c.css">
<style>.hero { background: url(//www.clarity.ms/bg.png) } .own { color: red }</style>
</head>
<body>
<h1 class="hero own">A page that fetches</h1>
<iframe src="https://www.facebook.com/plugins/page.php" title="fb"></iframe>
<img src="https://www.facebook.com/tr?id=1&amp;ev=PageView" alt="">
<img src="/own.png" data-consent="marketing" alt="">
<img src="/own.png" srcset="/own.png 1x, https://www.facebook.com/tr.png 2x" alt="own">
<p><a href="/next.html" ping="https://www.google-analytics.com/ping">next</a></p>
<video src="https://www.linkedin.com/v.mp4" controls></video>
END
$page .= "<p>" . ("filler text, " x 12) . "</p>\n" for 1 .. 40;
$page .= "</body>\n</html>\n";

$t->write_file($t->prefix . '/html/page.html', $page);
$t->write_file($t->prefix . '/html/plain.txt', "no HTML here\n");
$t->run;

my $key = $t->read_file('conf/secret.key');

my %cookie = (
    refused => forge_cookie(key => $key,
                            refused => [qw(analytics marketing)]),
    analytics => forge_cookie(key => $key, granted => ['analytics'],
                              refused => ['marketing']),
    marketing => forge_cookie(key => $key, granted => ['marketing'],
                              refused => ['analytics']),
    accepted => forge_cookie(key => $key,
                             granted => [qw(analytics marketing)]),
);

# what each choice loses: every kind once at least when all is refused
my %want = (
    'first visit' => 'script:3,iframe:1,img:2,link:1,attr:3,css:1',
    refused => 'script:3,iframe:1,img:2,link:1,attr:3,css:1',
    analytics => 'script:1,iframe:1,img:2,attr:2',
    marketing => 'script:2,link:1,attr:1,css:1',
    accepted => 'none',
);

# the last line of the log: (uri, $consent_plan, $consent_removed)
sub logged {
    my $log = $t->read_file('logs/removed.log') // '';
    my ($last) = $log =~ /([^\n]*)\n\z/;
    return ($last // '') =~ /^(\S+) (\S+) \[([^\]]*)\]$/;
}

sub get {
    my ($uri, $who, %h) = @_;
    my $c = $cookie{$who};
    return $t->get($uri, ($c ? (Cookie => "consent=$c") : ()), %h);
}

for my $who (sort keys %want) {
    my $want = $want{$who};

    # a new inode: the first request is a plan miss
    $t->write_file($t->prefix . '/html/page.html.new', $page);
    rename $t->prefix . '/html/page.html.new', $t->prefix . '/html/page.html'
        or die "rename: $!";

    for my $case (['/page.html', 'MISS', 1], ['/page.html', 'HIT', 1],
                  ['/nosf/page.html', 'MISS', 1],
                  ['/nosf/page.html', 'HIT', 1],
                  ['/full/page.html', '-', 0],
                  # gzip needs the body in memory: the full scan sends it,
                  # the plan made in the header filter said it already
                  ['/gz/page.html', 'BYPASS', 1],
                  ['/up/page.html', 'BYPASS', 0])
    {
        my ($uri, $plan, $at_header) = @$case;
        my $r = get($uri, $who,
                    $uri =~ /gz/ ? ('Accept-Encoding' => 'gzip') : ());
        my ($luri, $lplan, $removed) = logged();

        is($r->{status}, 200, "$who $uri: 200");
        is($luri, $uri, "$who $uri: logged");
        is($lplan, $plan, "$who $uri: \$consent_plan $plan");
        is($removed, $want, "$who $uri: \$consent_removed in the log");

        if ($at_header) {
            is(header($r, 'x-removed'), $want,
               "$who $uri: known at header time (a plan): add_header");
        } else {
            ok(!defined header($r, 'x-removed'),
               "$who $uri: not known at header time (the full scan): "
               . 'no header rather than a guess');
        }

        if ($uri =~ /gz/) {
            is(header($r, 'content-encoding'), 'gzip', "$who $uri: gzip");
        }
    }
}

# what was counted was removed: the refused page has none of it

my $r = get('/full/page.html', 'refused');
unlike($r->{body}, qr/googletagmanager|facebook|hotjar|linkedin|ping=/,
       'refused: every counted construct is gone');
like($r->{body}, qr/<style>\.hero \{ background: url\(about:invalid\) \}/,
     'refused: the inline style stays, its refused URL made harmless (css)');
like($r->{body}, qr/<video\s+controls><\/video>/,
     'refused: the video stays without its src (attr)');
$r = get('/full/page.html', 'accepted');
like($r->{body}, qr/googletagmanager.*facebook.*hotjar.*linkedin/s,
     'accepted: nothing removed, as "none" says');

# the full scan: known after the body, in a trailer

$r = get('/trailer/page.html', 'refused');
like($r->{raw}, qr/\r\n0\r\nX-Removed-Trailer: \Q$want{refused}\E\r\n/,
     'the full scan: the value in a trailer (add_trailer)');
ok(!defined header($r, 'x-removed'), 'and not in the header');

# HEAD: a plan gives the GET's value at header time

$r = get('/page.html', 'refused');
$r = $t->head('/page.html', Cookie => "consent=$cookie{refused}");
is(header($r, 'x-removed'), $want{refused}, 'HEAD: the GET\'s value');
is(header($r, 'content-length'),
   length(get('/page.html', 'refused')->{body}), 'HEAD: the GET\'s length');

# what the gate does not read: not found, "-" in the log

get('/plain.txt', 'refused');
my (undef, undef, $plain) = logged();
is($plain, '-', 'a text file: "-" in the log');

get('/consent/', 'refused');
my (undef, undef, $ep) = logged();
is($ep, '-', 'the endpoint: "-" in the log');

$r = get('/missing.html', 'refused');
is($r->{status}, 404, 'a missing page: not found');
my (undef, undef, $nf) = logged();
is($nf, '-', 'a 404: "-" in the log');

# a category may not take the variable's name

my ($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category removed;
    server { listen 127.0.0.1:%%PORT%%; }
END
isnt($rc, 0, 'a category named "removed": nginx -t fails');
like($out, qr/category name "removed" is reserved: \$consent_removed is a variable of its own.* in \S+test\.conf:\d+/,
     'and says why, with file:line');

done_testing;
