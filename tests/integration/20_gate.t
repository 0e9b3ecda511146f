#!/usr/bin/perl

# Server-side gating through a real nginx: trackers of refused categories
# never leave the server, granted ones are made live, the banner goes right
# after the real <body>, the Google consent default right after <head>; static
# files, proxy_pass, a chunked upstream, an upstream cut in small pieces,
# HEAD, 304, 404, non-HTML, gzip passed untouched, consent_banner off,
# Vary, ETag and Content-Length.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie forge_cookie);

my $root = "$FindBin::Bin/../..";
my $fixtures = "$root/tests/fixtures/vendors";

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_csp_nonce n0nce;

        consent_gate_host analytics *.googletagmanager.com
                                    www.google-analytics.com
                                    static.hotjar.com *.matomo.cloud
                                    www.clarity.ms;
        consent_gate_host marketing connect.facebook.net *.facebook.com
                                    snap.licdn.com *.linkedin.com
                                    analytics.tiktok.com;
        consent_strip_cookie analytics _ga _ga_*;
        consent_google_mode analytics_storage=analytics
                            ad_storage=marketing ad_user_data=marketing;

        location /consent/ { consent_endpoint; }

        location /quiet/ {
            consent_banner off;
        }

        location /plain/ {
            consent off;
        }

        location /up/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
        }

        location /chunked/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/chunked/;
            proxy_http_version 1.1;
        }

        location /slow/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/slow/;
            proxy_buffering off;
            proxy_buffer_size 1k;
        }

        location /gz/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/gz/;
            proxy_set_header Accept-Encoding gzip;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;

        add_header Set-Cookie "_ga=GA1.1.42; Path=/";
        add_header Set-Cookie "sid=abc; Path=/";

        location /chunked/ {
            alias %%PREFIX%%/html/;
            # a body filter of its own: no Content-Length, chunked
            sub_filter "zzzz" "zzzz";
        }

        location /slow/ {
            alias %%PREFIX%%/html/;
            sendfile off;
            output_buffers 1 97;
            limit_rate 64k;
        }

        location /gz/ {
            alias %%PREFIX%%/html/;
            gzip on;
            gzip_min_length 0;
            gzip_http_version 1.0;
        }
    }
END

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

my %page;
for my $name (qw(article clean gtm meta-pixel cookieconsent)) {
    $page{$name} = slurp("$fixtures/$name.html");
    $t->write_file("html/$name.html", $page{$name});
    $t->write_file("html/quiet/$name.html", $page{$name});
}

$t->write_file('html/data.js', "var s = '</body>';\n");
$t->write_file('html/placement.html',
    "<html><head><!-- <body> in a comment -->\n"
    . "<script>var s = \"<body>\";</script>\n"
    . "<meta name=\"x\" content=\"<body>\">\n"
    . "</head><body class=\"x\"><p>a</p>\n"
    . "<!-- </body> in a comment -->\n"
    . "<script>var s = \"</body>\";</script>\n"
    . "<p title=\"</body>\">b</p>\n"
    . "</body></html>\n");
$t->write_file('html/nobody.html', "<p>no body end tag");
$t->write_file('html/nobodytag.html', "<p>no body tag</p>\n</body></html>\n");

$t->run;

my $key = slurp($t->prefix . '/conf/secret.key');
my $all = forge_cookie(key => $key, granted => [qw(analytics marketing)]);
my $none = forge_cookie(key => $key, refused => [qw(analytics marketing)]);
my $ana = forge_cookie(key => $key, granted => ['analytics'],
                       refused => ['marketing']);

my @trackers = qw(googletagmanager.com hotjar.com connect.facebook.net
                  www.facebook.com);

sub banner_count { my @m = $_[0] =~ /id="consent-banner"/g; scalar @m }

# --- a first visit: everything optional refused, the banner shown ---------

my $r = $t->get('/article.html');
is($r->{status}, 200, 'article: 200');
my $body = $r->{body};

for my $host (@trackers) {
    unlike($body, qr/\Q$host\E/, "first visit: no $host in the page");
}

is(banner_count($body), 1, 'first visit: one banner');
like($body, qr{<body class="article-page"><div class="consent consent-banner"}s,
     'the banner is right after the real <body>');
like($body, qr{</footer>\n</body>\n</html>\n$}s, 'the page ends as it did');
like($body, qr{<head>\n?<script nonce="n0nce">window\.dataLayer=window\.dataLayer\|\|\[\];function gtag\(\)\{dataLayer\.push\(arguments\);\}gtag\('consent','default',\{'analytics_storage':'denied','ad_storage':'denied','ad_user_data':'denied'\}\);</script>}s,
     'the consent default, denied, right after <head>, with the nonce');
like($body, qr{<p>[A-Z][a-z]+ }, 'the article text is there');
ok(length($body) < length($page{article}) + 20000, 'and no more');

is(header($r, 'content-length'), undef, 'no Content-Length');
like(join(',', header($r, 'vary')), qr/Cookie/, 'Vary: Cookie');
like(header($r, 'etag') // 'W/', qr{^W/}, 'a weak ETag, if any');
is(header($r, 'last-modified'), undef, 'no Last-Modified');

# the page without the inserted parts is the page without the trackers

(my $stripped = $body) =~ s{<div class="consent consent-banner".*?</script></div>}{}s;
$stripped =~ s{<script nonce="n0nce">window\.dataLayer.*?</script>}{}s;
my $expect = $page{article};
$expect =~ s{<link rel="preload" as="script" href="https://www\.googletagmanager\.com[^>]*>}{};
$expect =~ s{<script>\(function\(w,d,s,l,i\).*?</script>}{}s;
$expect =~ s{<script async src="https://www\.googletagmanager\.com[^>]*></script>}{};
$expect =~ s{<script>\n!function\(f,b,e,v,n,t,s\).*?</script>}{}s;
$expect =~ s{<img height="1" width="1" style="display:none"\nsrc="https://www\.facebook\.com[^>]*>}{}s;
$expect =~ s{<script type="text/plain" data-consent="analytics">.*?</script>}{}s;
$expect =~ s{<iframe src="https://www\.googletagmanager\.com.*?</iframe>}{}s;
is($stripped, $expect, 'everything else passes byte for byte');

# --- every category granted ---------------------------------------------

$r = $t->get('/article.html', Cookie => "consent=$all");
$body = $r->{body};
is(banner_count($body), 0, 'granted: no banner');
like($body, qr{googletagmanager\.com/gtm\.js}, 'granted: GTM is there');
like($body, qr{connect\.facebook\.net/en_US/fbevents\.js},
     'granted: the Meta Pixel is there');
like($body, qr{<script  data-consent="analytics">\n\s+\(function\(h,o,t,j,a,r\)},
     'granted: the text/plain Hotjar tag is made live');
like($body, qr{'analytics_storage':'granted','ad_storage':'granted'},
     'granted: the consent default says granted');
like(join(',', header($r, 'vary')), qr/Cookie/, 'granted: Vary: Cookie');

# --- analytics only -------------------------------------------------------

$r = $t->get('/article.html', Cookie => "consent=$ana");
$body = $r->{body};
like($body, qr{googletagmanager\.com/gtm\.js}, 'analytics: GTM is there');
unlike($body, qr{facebook}, 'analytics: no Meta Pixel');
like($body, qr{'analytics_storage':'granted','ad_storage':'denied'},
     'analytics: the signals differ');

# --- refused by a choice: no banner, no tracker ------------------------

$r = $t->get('/article.html', Cookie => "consent=$none");
$body = $r->{body};
is(banner_count($body), 0, 'refused: no banner');
unlike($body, qr/\Q$_\E/, "refused: no $_") for @trackers;

# --- markup of the consent tools ---------------------------------------

$r = $t->get('/cookieconsent.html', Cookie => "consent=$ana");
$body = $r->{body};
like($body, qr{<script type="module" data-category="analytics" data-type="module" src="/js/stats\.js">},
     'cookieconsent: type from data-type');
unlike($body, qr{statsDenied}, 'cookieconsent: !analytics is removed');
unlike($body, qr{/js/ads\.js}, 'Cookiebot: marketing is removed');
like($body, qr{<script data-consent="analytics" src="/js/heatmap\.js">},
     'data-consent granted');
unlike($body, qr{/embed/video\.html}, 'iframe of marketing removed');

# --- a page with nothing gated passes byte for byte -------------------

sub unsnippet {
    my ($b) = @_;
    $b =~ s{<script nonce="n0nce">window\.dataLayer.*?</script>}{}s;
    return $b;
}

$r = $t->get('/quiet/clean.html');
is(unsnippet($r->{body}), $page{clean},
   'clean page, banner off: byte-identical but for the consent default');
$r = $t->get('/clean.html', Cookie => "consent=$all");
is(unsnippet($r->{body}), $page{clean},
   'clean page, chosen: byte-identical but for the consent default');

# --- consent_banner off: gating still applies -------------------------

$r = $t->get('/quiet/gtm.html');
is(banner_count($r->{body}), 0, 'banner off: no banner');
unlike($r->{body}, qr/googletagmanager/, 'banner off: still gated');

# --- consent off: nothing happens ---------------------------------------

$t->write_file('html/plain/gtm.html', $page{gtm});
$r = $t->get('/plain/gtm.html');
is($r->{body}, $page{gtm}, 'consent off: untouched');
is(header($r, 'content-length'), length($page{gtm}),
   'consent off: Content-Length kept');

# --- placement ----------------------------------------------------------

$r = $t->get('/placement.html');
like($r->{body}, qr{<meta name="x" content="<body>">\n</head><body class="x"><div class="consent consent-banner".*?</script></div><p>a</p>\n<!-- </body> in a comment -->.*<p title="</body>">b</p>\n</body></html>\n$}s,
     'after the real <body>: not in a comment, a script string or an attribute');
is(banner_count($r->{body}), 1, 'once');

$r = $t->get('/nobody.html');
like($r->{body}, qr{^<p>no body end tag<div class="consent consent-banner".*</div>$}s,
     'no </body>: at the end');

$r = $t->get('/nobodytag.html');
like($r->{body}, qr{^<p>no body tag</p>\n<div class="consent consent-banner".*</div></body></html>\n$}s,
     'no <body> tag: right before the real </body>');
is(banner_count($r->{body}), 1, 'no <body> tag: once');

# --- HEAD, 304, 404, non-HTML -----------------------------------------

$r = $t->head('/article.html');
is($r->{status}, 200, 'HEAD: 200');
is($r->{body}, '', 'HEAD: no body');
is(header($r, 'content-length'), undef, 'HEAD: no Content-Length');
like(join(',', header($r, 'vary')), qr/Cookie/, 'HEAD: Vary: Cookie');

$r = $t->get('/clean.html');
my $etag = header($r, 'etag');
like($etag, qr{^W/"[^"]+-cn[0-9a-f]+"$}, 'the ETag says the choice (none yet)');
is(header($r, 'last-modified'), undef, 'no Last-Modified on a gated page');
$r = $t->get('/clean.html', 'If-None-Match' => $etag);
is($r->{status}, 304, '304 on a matching ETag, same choice');
is(header($r, 'etag'), $etag, '304: the page\'s ETag');
like(join(',', header($r, 'vary')), qr/Cookie/, '304: Vary: Cookie');
$r = $t->get('/clean.html', 'If-None-Match' => $etag,
             Cookie => "consent=$all");
is($r->{status}, 200, 'after a choice, that ETag gets the page anew');
isnt(header($r, 'etag'), $etag, 'with another ETag');
$r = $t->get('/data.js');
$r = $t->get('/data.js', 'If-None-Match' => header($r, 'etag'));
is($r->{status}, 304, 'non-HTML: 304 as usual');
is(header($r, 'vary'), undef, 'non-HTML 304: no Vary');

$r = $t->get('/missing.html');
is($r->{status}, 404, 'a missing page: not found');
is(banner_count($r->{body}), 0, 'not found: no banner');

$r = $t->get('/data.js');
is($r->{body}, "var s = '</body>';\n", 'non-HTML: untouched');
is(header($r, 'content-length'), length($r->{body}),
   'non-HTML: Content-Length kept');
is(header($r, 'vary'), undef, 'non-HTML: no Vary');

# --- through proxy_pass -------------------------------------------------

# the banner's return URL names the page: compare without it
sub unbanner {
    my ($b) = @_;
    $b =~ s{<div class="consent consent-banner".*?</script></div>}{[banner]}s;
    return $b;
}

my $static = unbanner($t->get('/article.html')->{body});

$r = $t->get('/up/article.html');
is(unbanner($r->{body}), $static, 'proxied: as the static file');
my @sc = header($r, 'set-cookie');
ok(!grep(/^_ga=/, @sc), 'proxied: the tracking cookie is stripped');
ok(grep(/^sid=/, @sc), 'proxied: the session cookie is kept');

$r = $t->get('/up/article.html', Cookie => "consent=$all");
ok(grep(/^_ga=/, header($r, 'set-cookie')),
   'proxied, granted: the tracking cookie passes');

$r = $t->get('/chunked/article.html');
is(unbanner($r->{body}), $static, 'chunked upstream: the same page');

$r = $t->get('/slow/article.html');
is(unbanner($r->{body}), $static,
   'upstream cut in 97-byte pieces: the same page');

for my $name (qw(gtm meta-pixel cookieconsent clean)) {
    is($t->get("/slow/$name.html", Cookie => "consent=$ana")->{body},
       $t->get("/$name.html", Cookie => "consent=$ana")->{body},
       "small pieces: $name the same");
    is(unbanner($t->get("/slow/$name.html")->{body}),
       unbanner($t->get("/$name.html")->{body}),
       "small pieces, first visit: $name the same");
}

# --- a compressed upstream is inflated and gated (issue 9) ------------
# (tests/integration/23_compressed.t tries every encoding)

$r = $t->get('/gz/gtm.html');
my $direct = $t->raw("GET /gz/gtm.html HTTP/1.0\r\nHost: x\r\n"
                     . "Accept-Encoding: gzip\r\n\r\n", port => $t->port2);
like($direct->{body}, qr/^\x1f\x8b/, 'gzip upstream: it does compress');
ok(!defined header($r, 'content-encoding'),
   'gzip upstream: inflated for a reader that asked for no encoding');
is(unbanner($r->{body}), unbanner($t->get('/gtm.html')->{body}),
   'gzip upstream: gated exactly like the identity page, banner and all');

done_testing();
