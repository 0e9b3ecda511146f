#!/usr/bin/perl

# The preferences page (GET on the endpoint): a whole HTML5 document in the
# reader's language, one checkbox per category, nothing ticked until the
# reader says so, required categories on and disabled, each category's
# cookies, the privacy policy, the current choice when the cookie is valid,
# and every operator text HTML-escaped.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie);

my $root = "$FindBin::Bin/../..";

open my $fh, '<:raw', "$root/ui/texts/en.json" or die "en.json: $!";
my $en = do { local $/; <$fh> };

# an operator's texts with markup in them: it must come out as text
my $evil = $en;
$evil =~ s/"Cookie preferences"/"Cookies <script>alert(1)<\/script> & \\"you\\""/;
$evil =~ s/"Audience measurement"/"<b>Stats<\/b>"/;
$evil =~ s/"title": "\{name\}"/"title": "Other: {name} <i>"/;

my $http = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;
    consent_category video;
    consent_texts texts;
%%EXTRA%%
    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        consent_policy_url "/privacy/?a=1&b=<2>\"";
        consent_strip_cookie analytics _ga _ga_* _gid;
        consent_strip_cookie marketing _fbp;
        location /consent/ { consent_endpoint; }
    }
END

my $t = ConsentTest->new(http => $http =~ s/%%EXTRA%%//r);
$t->write_file('conf/texts/xx.json', $evil);
$t->run;

my $r = $t->get('/consent/', 'Accept-Language' => 'en');
my $b = $r->{body};

is($r->{status}, 200, 'GET the endpoint: 200');
like(header($r, 'content-type'), qr{^text/html; charset=utf-8}, 'text/html');
like($b, qr{^<!DOCTYPE html>\n<html lang="en">}, 'HTML5 with a lang');
like($b, qr{<meta name="viewport" content="width=device-width, initial-scale=1">},
     'a viewport for phones');
like($b, qr{<title>Cookie preferences</title>}, 'a title');
like($b, qr{<h1>Cookie preferences</h1>}, 'a heading');
like($b, qr{<form method="post" action="/consent/">}, 'a form to the endpoint');
like($b, qr{<input type="hidden" name="source" value="page">}, 'source=page');
unlike($b, qr{<script|style=|\son\w+=}i, 'no inline script or style');

my @boxes = $b =~ /(<input type="checkbox"[^>]*>)/g;
is(scalar @boxes, 4, 'one checkbox per category');
like($boxes[0], qr{ checked disabled>}, 'required: on and disabled');
unlike($boxes[0], qr{name=}, 'required: not a form field');
like($b, qr{>Strictly necessary \(Always on\)</label>}, 'required: says so');
for my $i (1 .. 3) {
    unlike($boxes[$i], qr{checked}, "category $i: not ticked");
}
like($boxes[1], qr{name="category" value="analytics"}, 'analytics box');
like($b, qr{<label for="consent-c1">Audience measurement</label>}, 'a title');
like($b, qr{<p id="consent-d1">Count visits}, 'a description');
like($boxes[1], qr{aria-describedby="consent-d1 consent-k1"},
     'the box is described by its text and cookies');
like($b, qr{<label for="consent-c3">video</label>}, 'other: the name');
like($b, qr{Cookies of the category \x{e2}\x{80}\x{9c}video\x{e2}\x{80}\x{9d}},
     'other: the fallback description');

like($b, qr{<p id="consent-k1">Cookies: <code>_ga</code>, <code>_ga_\*</code>, <code>_gid</code></p>},
     'the cookies of a category, from consent_strip_cookie');
like($b, qr{<p id="consent-k2">Cookies: <code>_fbp</code></p>},
     'marketing cookies');
unlike($b, qr{consent-k3}, 'no cookie list when there is none');
like($b, qr{<p id="consent-k0">Cookies: <code>consent</code></p>},
     'the consent cookie itself, under the required category');

for my $a ('save', 'accept_all', 'reject_all') {
    like($b, qr{<button class="consent-btn" type="submit" name="action" value="$a">},
         "a $a button");
}
unlike($b, qr{value="withdraw"}, 'no withdraw without a choice');
like($b, qr{<a href="/privacy/\?a=1&amp;b=&lt;2&gt;&quot;">Privacy policy</a>},
     'the privacy policy, escaped');
like($b, qr{<p class="consent-status">You have not made a choice yet\.</p>},
     'says there is no choice yet');
like($b, qr{<a href="/">Back to the site</a>}, 'back to /');

# ?return=: a path of this site only
$b = $t->get('/consent/?return=%2Fshop%3Fid%3D1%26q%3D%22x%22')->{body};
like($b, qr{<input type="hidden" name="return" value="/shop\?id=1&amp;q=&quot;x&quot;">},
     'return: carried, escaped');
like($b, qr{<a href="/shop\?id=1&amp;q=&quot;x&quot;">Back to the site</a>},
     'return: the way back');
for my $bad ('%2F%2Fevil.example%2F', 'https%3A%2F%2Fevil.example%2F',
             'javascript%3Aalert(1)', '%2F%5Cevil.example', '%2Fa%0Ab', '')
{
    $b = $t->get("/consent/?return=$bad")->{body};
    unlike($b, qr{name="return"}, "return=$bad: dropped");
}

# operator texts are text, never markup
$b = $t->get('/consent/', 'Accept-Language' => 'xx')->{body};
like($b, qr{<html lang="xx">}, 'the operator language');
like($b, qr{<h1>Cookies &lt;script&gt;alert\(1\)&lt;/script&gt; &amp; &quot;you&quot;</h1>},
     'an operator title is escaped');
like($b, qr{<title>Cookies &lt;script&gt;}, 'in <title> too');
like($b, qr{<label for="consent-c1">&lt;b&gt;Stats&lt;/b&gt;</label>},
     'an operator category title is escaped');
like($b, qr{<label for="consent-c3">Other: video &lt;i&gt;</label>},
     'the fallback title, {name} replaced, escaped');
unlike($b, qr{<script|<b>|<i>}, 'no operator markup gets through');

# French
$b = $t->get('/consent/', 'Accept-Language' => 'fr-FR,fr;q=0.9')->{body};
like($b, qr{<html lang="fr">}, 'French page');
like($b, qr{>Tout accepter</button>.*>Tout refuser</button>}s,
     'French buttons');

# the current choice, once the cookie is valid
$r = $t->post_form('/consent/', 'action=save&category=analytics&source=page');
my $cookie = set_cookie($r);
ok($cookie, 'a choice sets the cookie') or diag($r->{raw});

$b = $t->get('/consent/', Cookie => "consent=$cookie")->{body};
@boxes = $b =~ /(<input type="checkbox"[^>]*>)/g;
like($boxes[1], qr{ checked}, 'valid cookie: the granted category is ticked');
unlike($boxes[2], qr{checked}, 'valid cookie: a refused one is not');
unlike($boxes[3], qr{checked}, 'valid cookie: nor another');
like($b, qr{Your current choice is shown below\.}, 'says so');
like($b, qr{<button class="consent-close" type="submit" name="action" value="withdraw">Withdraw my consent</button>},
     'a withdraw button');

$b = $t->get('/consent/', Cookie => "consent=${cookie}x")->{body};
unlike(join('', $b =~ /(<input type="checkbox"[^>]*>)/g)
       =~ s/ checked disabled//r, qr{checked},
       'a forged cookie: nothing ticked');

# a category added since: the cookie is outdated, nothing is ticked
$t->reload($http =~ s/%%EXTRA%%/    consent_category maps;\n/r);
sleep 1;
$b = $t->get('/consent/', Cookie => "consent=$cookie")->{body};
like($b, qr{The list of cookies has changed since your last choice},
     'outdated: asks again');
@boxes = $b =~ /(<input type="checkbox"[^>]*>)/g;
is(scalar @boxes, 5, 'the new category is listed');
unlike(join('', @boxes[1 .. 4]), qr{checked}, 'outdated: nothing ticked');

$t->stop;
$t->check_log;

done_testing();
