#!/usr/bin/perl

# consent_placeholder through a real nginx: a refused iframe leaves a
# placeholder naming its category, with a form that grants it without
# JavaScript and comes back to the page at the placeholder's number; the
# granted page carries the iframe behind an anchor of that number; English
# and French; off by default.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie forge_cookie);
use JSON::PP;

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_texts texts;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_banner off;
        consent_gate_host marketing *.youtube.com;
        consent_gate_host analytics static.hotjar.com;

        location /consent/ { consent_endpoint; }
        location /embed/ { consent_placeholder on; }
    }
END

my $page = "<p>before</p>\n"
    . "<iframe src=\"https://www.youtube.com/embed/x\" title=\"video\">"
    . "</iframe>\n<p>after</p>\n";

$t->write_file('html/embed/page.html', $page);
$t->write_file('html/embed/video.html', "<p>v</p>\n"
    . "<video src=\"https://www.youtube.com/v.mp4\" controls>old</video>\n"
    . "<audio controls><source src=\"https://www.youtube.com/a.mp3\">"
    . "</audio>\n");

# the operator's English: written before the placeholder's keys, with a
# sentence of their own for marketing
my $en = JSON::PP->new->utf8->decode(do {
    local $/;
    open my $fh, '<', "$FindBin::Bin/../../ui/texts/en.json" or die $!;
    <$fh>;
});
delete $en->{$_} for qw(placeholder placeholder_nohost placeholder_accept);
$en->{categories}{marketing}{placeholder} =
    'Videos from {host} set cookies that <follow> you.';
$t->write_file('conf/texts/en.json', JSON::PP->new->utf8->encode($en));
$t->write_file('html/plain.html', $page);
$t->run;

my $key = $t->read_file('conf/secret.key');
my $ana = forge_cookie(key => $key, granted => ['analytics'],
                       refused => ['marketing']);

# --- refused: the placeholder -----------------------------------------

my $r = $t->get('/embed/page.html?a=1');
is($r->{status}, 200, 'placeholder page: 200');
my $body = $r->{body};

unlike($body, qr{<iframe|youtube\.com/embed}, 'refused: no iframe, no URL');
like($body, qr{<p>before</p>\n<div class="consent consent-placeholder" id="consent-embed-1" role="group" aria-labelledby="consent-embed-1-text" lang="en"><p id="consent-embed-1-text">This content from www\.youtube\.com is not shown: it needs your consent to \x{e2}\x{80}\x{9c}Advertising\x{e2}\x{80}\x{9d}\.</p>}s,
     'refused: a labelled placeholder in the iframe\'s place');
like($body, qr{<form method="post" action="/consent/"><input type="hidden" name="action" value="save"><input type="hidden" name="source" value="banner"><input type="hidden" name="category" value="marketing"><input type="hidden" name="return" value="/embed/page\.html\?a=1#consent-embed-1"><button class="consent-btn" type="submit">Accept \x{e2}\x{80}\x{9c}Advertising\x{e2}\x{80}\x{9d} and show</button></form></div>\n<p>after</p>},
     'refused: a form granting marketing, back to the page and anchor');

$r = $t->get('/embed/page.html', 'Accept-Language' => 'fr-FR,fr;q=0.9');
like($r->{body}, qr{lang="fr".*Ce contenu de www\.youtube\.com n\x{e2}\x{80}\x{99}est pas affich\x{c3}\x{a9}\x{c2}\x{a0}: il demande votre accord pour \x{c2}\x{ab}\x{c2}\x{a0}Publicit\x{c3}\x{a9}\x{c2}\x{a0}\x{c2}\x{bb}\..*Accepter \x{c2}\x{ab}\x{c2}\x{a0}Publicit\x{c3}\x{a9}\x{c2}\x{a0}\x{c2}\x{bb} et afficher</button>}s,
     'in French');

$r = $t->get('/embed/page.html');
like($r->{body}, qr{</p><p>Videos from www\.youtube\.com set cookies that &lt;follow&gt; you\.</p><form }s,
     'the operator\'s own words for the category, escaped');
unlike($r->{body}, qr{<follow>}, 'nothing of them unescaped');

# video and audio
$r = $t->get('/embed/video.html');
like($r->{body}, qr{^<p>v</p>\n<div class="consent consent-placeholder" id="consent-embed-1" [^>]*>.*?</div><video  controls hidden>old</video>\n}s,
     'a video whose src is refused: hidden, behind its placeholder');
like($r->{body}, qr{\n<span id="consent-embed-2"></span><audio controls></audio><div class="consent consent-placeholder" role="group" aria-labelledby="consent-embed-2-text" lang="en"><p id="consent-embed-2-text">This content from www\.youtube\.com}s,
     'an audio with every source refused: the placeholder after it');
unlike($r->{body}, qr{youtube\.com/}, 'no refused URL');

# analytics already granted: kept in the form
$r = $t->get('/embed/page.html', Cookie => "consent=$ana");
like($r->{body}, qr{name="category" value="analytics"><input type="hidden" name="category" value="marketing">},
     'the grants the reader has go with the new one');

# off where consent_placeholder is not on
$r = $t->get('/plain.html');
is($r->{body}, "<p>before</p>\n\n<p>after</p>\n",
   'without consent_placeholder: only the removal');

# --- the button, without JavaScript -----------------------------------

$r = $t->post_form('/consent/', 'action=save&source=banner'
                   . '&category=marketing'
                   . '&return=%2Fembed%2Fpage.html%3Fa%3D1%23consent-embed-1');
is($r->{status}, 303, 'the form: 303');
is(header($r, 'location') =~ s{^https?://[^/]+}{}r,
   '/embed/page.html?a=1#consent-embed-1',
   'back to the page, at the placeholder');
my $c = set_cookie($r);
ok($c, 'a consent cookie');

$r = $t->get('/embed/page.html?a=1', Cookie => "consent=$c");
like($r->{body}, qr{<p>before</p>\n<span id="consent-embed-1"></span><iframe src="https://www\.youtube\.com/embed/x" title="video"></iframe>},
     'granted: the iframe, behind its anchor');
unlike($r->{body}, qr/consent-placeholder/, 'granted: no placeholder');

# nginx -t: a value that is not on or off names the file and line

my ($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category necessary required;
    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        consent_placeholder maybe;
    }
END
isnt($rc, 0, 'consent_placeholder maybe: nginx -t fails');
like($out, qr{invalid value "maybe" in "consent_placeholder" directive, it must be "on" or "off" in \S+test\.conf:\d+},
     'and names the directive, the values and file:line');

# a placeholder text that is not a string: nginx -t names the file and key

$en->{placeholder_accept} = 3;
$t->write_file('conf/badtexts/en.json', JSON::PP->new->utf8->encode($en));
($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_texts badtexts;
    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
    }
END
isnt($rc, 0, 'placeholder_accept: 3: nginx -t fails');
like($out, qr{texts file "\S+badtexts/en\.json": "placeholder_accept" must be a non-empty string}, 'and names the file and the key');

$t->check_log;

done_testing();
