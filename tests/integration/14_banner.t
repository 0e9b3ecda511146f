#!/usr/bin/perl

# The banner's markup, as the body filter inserts it for a reader who has
# not chosen: a labelled region, a form that POSTs to the endpoint with the
# page to come back to, three equal buttons, a close control that records a
# refusal, nothing ticked, the reader's language, escaped texts and URLs,
# the assets from the endpoint with the CSP nonce, and its weight.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Compress::Gzip qw(gzip $GzipError);
use ConsentTest qw(header set_cookie);

my $root = "$FindBin::Bin/../..";

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_category video;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_policy_url "/privacy/?a=1&b=<2>";
        location /consent/ { consent_endpoint; }
        location /nonce/ {
            consent_csp_nonce $request_id;
        }
        location /quiet/ {
            consent_banner off;
        }
    }
END

my $page = "<!DOCTYPE html><html><head><title>x</title></head>"
         . "<body><p>Hello</p></body></html>\n";
$t->write_file("html/$_", $page) for qw(index.html nonce/index.html
                                       quiet/index.html);
$t->run;

sub banner_of {
    my ($body) = @_;
    return $body =~ m{(<div class="consent consent-banner".*?</script></div>)}s
        ? $1 : undef;
}

my $r = $t->get('/?q=%3Cx%3E&b=%22y%22');
my $b = banner_of($r->{body});
ok($b, 'a first visit gets the banner') or diag($r->{body});
$b //= '';

like($b, qr{^<div class="consent consent-banner" id="consent-banner" role="region" aria-labelledby="consent-title" tabindex="-1" lang="en">},
     'a region, labelled by its title, in the reader\'s language');
like($b, qr{<h2 id="consent-title">Your choice about cookies</h2>},
     'the title the region is labelled by');
like($b, qr{<form class="consent-box" method="post" action="/consent/">},
     'a form that POSTs to the endpoint');
like($b, qr{<input type="hidden" name="return" value="/\?q=%3Cx%3E&amp;b=%22y%22">},
     'return: the current URI, escaped');
like($b, qr{<input type="hidden" name="source" value="banner">},
     'source=banner');

my @buttons = $b =~ /<(?:button|a) class="consent-btn"[^>]*>[^<]*/g;
is(scalar @buttons, 4, 'accept, refuse, customise, and save (hidden)');
like($buttons[0], qr{type="submit" name="action" value="accept_all">Accept all$},
     'accept all');
like($buttons[1], qr{type="submit" name="action" value="reject_all">Refuse all$},
     'refuse all');
like($buttons[2], qr{^<a class="consent-btn" id="consent-customise" href="/consent/\?return=%2F%3Fq%3D%253Cx%253E%26b%3D%2522y%2522">Customise$},
     'customise: a link to the preferences page, coming back here');
like($buttons[3], qr{value="save" hidden>Save my choices$},
     'save: hidden until the panel opens');
like($b, qr{<button class="consent-close" type="submit" name="action" value="reject_all">Continue without accepting</button>},
     'continue without accepting records a refusal');
like($b, qr{ <a href="/privacy/\?a=1&amp;b=&lt;2&gt;">Privacy policy</a>},
     'the privacy policy, escaped');

like($b, qr{<div class="consent-cats" id="consent-panel" role="group" aria-labelledby="consent-title" hidden>},
     'the categories, hidden until Customise');
my @boxes = $b =~ /(<input type="checkbox"[^>]*>)/g;
is(scalar @boxes, 4, 'a box per category');
like($boxes[0], qr{checked disabled>$}, 'required: on and disabled');
unlike(join('', @boxes[1 .. 3]), qr{checked}, 'nothing else is ticked');

like($b, qr{<link rel="stylesheet" href="/consent/consent\.css\?v=[0-9a-f]{8}-[0-9a-f]+">},
     'consent.css from the endpoint');
like($b, qr{<script src="/consent/consent\.js\?v=[0-9a-f]{8}-[0-9a-f]+" defer></script></div>$},
     'consent.js from the endpoint, deferred');
unlike($b, qr{nonce=}, 'no nonce without consent_csp_nonce');
unlike($b, qr{<script>|<style|style=|\son\w+=}, 'nothing inline');

# weight: banner HTML + CSS + JS <= 8 KB gzipped
my $total = 0;
for my $part ($b, map { $t->get("/consent/$_")->{body} }
                      qw(consent.css consent.js))
{
    gzip(\$part => \my $gz, -Level => 9) or die $GzipError;
    $total += length $gz;
}
cmp_ok($total, '<=', 8192, "banner + CSS + JS: $total bytes gzipped");

# French, and the nonce
$b = banner_of($t->get('/', 'Accept-Language' => 'fr-FR,fr;q=0.9')->{body})
     // '';
like($b, qr{lang="fr">}, 'French for fr-FR');
like($b, qr{>Tout accepter<.*>Tout refuser<.*>Personnaliser<}s,
     'the French buttons');
like($b, qr{>Continuer sans accepter</button>}, 'and the close control');

$b = banner_of($t->get('/nonce/')->{body}) // '';
like($b, qr{<link rel="stylesheet" href="[^"]+" nonce="[0-9a-f]{32}">},
     'the nonce on the stylesheet');
like($b, qr{<script src="[^"]+" nonce="[0-9a-f]{32}" defer>},
     'the nonce on the script');

# no banner once the reader has chosen, nor where it is off
$r = $t->get('/');
my ($etag, $lm) = (header($r, 'etag'), header($r, 'last-modified'));
like(header($r, 'vary') // '', qr/Cookie/i, 'the banner page varies by Cookie');

$r = $t->post_form('/consent/', 'action=reject_all');
my $cookie = set_cookie($r);
ok($cookie, 'a refusal sets the cookie');
ok(!banner_of($t->get('/', Cookie => "consent=$cookie")->{body}),
   'no banner after a choice');

# the browser reloads with the banner page's validators: a 304 would keep
# the banner on screen after the choice
for my $v (['If-None-Match', $etag, 'ETag'],
           ['If-Modified-Since', $lm, 'Last-Modified'])
{
    my ($h, $value, $name) = @$v;
    my $status = defined $value
        ? $t->get('/', Cookie => "consent=$cookie", $h => $value)->{status}
        : 'none sent';
    isnt($status, 304, "after a choice, the banner page's $name "
                       . "($h: " . ($value // 'none') . ") gets no 304");
}
ok(banner_of($t->get('/', Cookie => "consent=${cookie}x")->{body}),
   'a forged cookie: the banner again');
ok(!banner_of($t->get('/quiet/')->{body}), 'consent_banner off: none');
ok(!banner_of($t->get('/consent/')->{body}),
   'not on the preferences page');

$t->stop;
$t->check_log;

done_testing();
