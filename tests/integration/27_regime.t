#!/usr/bin/perl

# consent_regime: opt-in (nothing optional before a choice) or opt-out
# (every optional category on until refused; Sec-GPC: 1 refuses them all;
# a "Do not sell or share my personal information" link instead of the
# banner), fixed or from a variable evaluated per request, an unknown value
# failing closed to opt-in with a warning.  The cookie and the consent log
# record the regime a choice was made under.  consent_banner takes a
# variable too, an unknown value showing the banner.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ConsentTest qw(header set_cookie forge_cookie);

my $audit = "$ConsentTest::BUILD/consent-audit";
ok(-x $audit, 'consent-audit is built') or die "no $audit\n";

my $dns = JSON::PP->new->utf8->decode(do {
    my $f = "$FindBin::Bin/../../ui/texts/en.json";
    open my $fh, '<:raw', $f or die "$f: $!";
    local $/;
    scalar <$fh>;
})->{do_not_sell};
is($dns, 'Do not sell or share my personal information',
   'the English words of the link');

my $http = <<'END';
    consent_secret secret.key;
    consent_revision 2;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem
                checkpoint_interval=200ms;

    map $http_x_country $consent_regime_v {
        default  opt-in;
        US       opt-out;
        XX       bogus;
    }

    map $http_x_banner $consent_banner_v {
        default  on;
        quiet    off;
        odd      maybe;
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_regime $consent_regime_v;
        consent_gate_host analytics www.clarity.ms;
        consent_gate_host marketing connect.facebook.net;

        add_header X-Regime $consent_regime always;
        add_header X-State $consent_state always;
        add_header X-Categories $consent_categories always;

        location /consent/ { consent_endpoint; }
        location /out/ { consent_regime opt-out; }
        location /in/ { consent_regime opt-in; }
        location /b/ { consent_banner $consent_banner_v; }
    }
END

my $page = "<!DOCTYPE html><html><head><title>x</title></head><body>"
         . "<script src=\"https://www.clarity.ms/tag/x\"></script>"
         . "<script src=\"https://connect.facebook.net/en_US/fbevents.js\">"
         . "</script><p>text</p></body></html>\n";

my $t = ConsentTest->new(http => $http);
my $p = $t->prefix;
mkdir "$p/keys";
chmod 01777, "$p/logs";
system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed";

# the values are checked at configuration time

for my $bad ('consent_regime maybe;', 'consent_regime opt_out;',
             'consent_banner maybe;')
{
    my ($rc, $out) = $t->test_config(
        $http =~ s/(location \/consent\/)/location \/t\/ { $bad }\n        $1/r);
    isnt($rc, 0, "\"$bad\" is refused");
    like($out, qr/invalid value "\w+" in "consent_(regime|banner)"; use/,
         'naming what to use');
    like($out, qr{ in \Q$p\E/conf/test\.conf:\d+}, 'and file:line');
}

for my $d ('consent_regime opt-in; consent_regime opt-out;',
           'consent_banner on; consent_banner $consent_banner_v;')
{
    my ($rc, $out) = $t->test_config(
        $http =~ s/(location \/consent\/)/location \/t\/ { $d }\n        $1/r);
    isnt($rc, 0, "\"$d\" is refused");
    like($out, qr/"consent_(regime|banner)" directive is duplicate: keep one "consent_\1" line per block in \Q$p\E/,
         'as a duplicate, with the fix');
}

{
    my ($rc, $out) = $t->test_config(
        $http =~ s/(consent_category analytics;)/$1\n    consent_category regime;/r);
    isnt($rc, 0, 'a category named "regime" is refused');
    like($out, qr/category name "regime" is reserved: \$consent_regime is a variable of its own/,
         'for $consent_regime');
}

{
    my ($rc, $out) = $t->test_config(
        $http =~ s/(location \/consent\/)/location \/t\/ { consent_regime OPT-OUT; }\n        $1/r);
    is($rc, 0, 'the values are not case-sensitive, as nginx\'s own')
        or diag($out);
}

$t->write_file("html/$_", $page) for qw(index.html out/index.html
                                       in/index.html b/index.html);
$t->run;

sub banner { $_[0]->{body} =~ /id="consent-banner"/ ? 1 : 0 }

sub link_of {
    return $_[0]->{body}
        =~ m{(<div class="consent consent-choices".*?</div>)}s ? $1 : undef;
}

sub clarity { $_[0]->{body} =~ /www\.clarity\.ms/ ? 1 : 0 }
sub facebook { $_[0]->{body} =~ /connect\.facebook\.net/ ? 1 : 0 }

# opt-in, as before

my $r = $t->get('/');
is($r->{status}, 200, 'opt-in by default');
is(header($r, 'x-regime'), 'opt-in', '$consent_regime: opt-in');
is(banner($r), 1, 'opt-in: the banner');
ok(!link_of($r), 'opt-in: no link');
is(clarity($r) + facebook($r), 0, 'opt-in: nothing optional before a choice');
is(header($r, 'x-categories'), 'necessary', 'opt-in: $consent_categories');

$r = $t->get('/in/', 'X-Country' => 'US');
is(header($r, 'x-regime'), 'opt-in', 'a location\'s own opt-in wins');
is(banner($r), 1, 'and the banner is there');

# opt-out, from the location

$r = $t->get('/out/');
is($r->{status}, 200, 'opt-out');
is(header($r, 'x-regime'), 'opt-out', '$consent_regime: opt-out');
is(header($r, 'x-state'), 'none', '$consent_state stays truthful: none');
is(header($r, 'x-categories'), 'necessary,analytics,marketing',
   'opt-out: every category granted until refused');
is(clarity($r), 1, 'opt-out: the analytics script is kept');
is(facebook($r), 1, 'opt-out: the marketing script is kept');
is(banner($r), 0, 'opt-out: no banner');
my $link = link_of($r);
ok($link, 'opt-out: a link instead') or diag($r->{body});
$link //= '';
like($link, qr{<a class="consent-choices-link" href="/consent/\?return=%2Fout%2F">\Q$dns\E</a>},
     'to the preferences page, "Do not sell or share my personal information"');

$r = $t->get('/out/', 'Accept-Language' => 'fr');
like(link_of($r) // '', qr{lang="fr".*>Ne pas vendre ni partager mes informations personnelles</a>}s,
     'in the reader\'s language');

# opt-out and Sec-GPC: 1, a refusal of every optional category

$r = $t->get('/out/', 'Sec-GPC' => '1');
is(header($r, 'x-categories'), 'necessary',
   'opt-out and Sec-GPC: 1: every optional category refused');
is(clarity($r), 0, 'the analytics script, not marked gpc, is gated out');
is(facebook($r), 0, 'the marketing script is gated out');
is(banner($r), 0, 'no banner');
ok(link_of($r), 'the link stays');

# a page's ETag says the regime where the page differs for the same grants

my $etag_out = header($t->get('/', 'X-Country' => 'US', 'Sec-GPC' => '1'),
                      'etag');
my $etag_in = header($t->get('/', 'X-Country' => 'FR'), 'etag');
like($etag_out // '', qr{-cN[0-9a-f]+"$}, 'opt-out before a choice: -cN');
like($etag_in // '', qr{-cn[0-9a-f]+"$}, 'opt-in: -cn');
isnt($etag_out, $etag_in, 'the same grants, another page, another ETag');
is($t->get('/', 'X-Country' => 'US', 'Sec-GPC' => '1',
           'If-None-Match' => $etag_out)->{status}, 304,
   'revalidation under the same regime: 304');
is($t->get('/', 'X-Country' => 'FR', 'If-None-Match' => $etag_out)->{status},
   200, 'under the other: the page anew');

# the variable picks per request

$r = $t->get('/', 'X-Country' => 'US');
is(header($r, 'x-regime'), 'opt-out', 'X-Country: US: opt-out');
is(clarity($r), 1, 'and the script kept');
ok(link_of($r) && !banner($r), 'and the link, not the banner');

$r = $t->get('/', 'X-Country' => 'FR');
is(header($r, 'x-regime'), 'opt-in', 'X-Country: FR: opt-in');
is(clarity($r), 0, 'and the script gated');
is(banner($r), 1, 'and the banner');

# an unknown value fails closed to opt-in, with a warning

$r = $t->get('/', 'X-Country' => 'XX');
is($r->{status}, 200, 'an unknown regime: 200');
is(header($r, 'x-regime'), 'opt-in', 'falls back to opt-in');
is(clarity($r) + facebook($r), 0, 'nothing optional');
is(banner($r), 1, 'the banner');
like($t->read_file('logs/error.log'),
     qr/\[warn\].*consent_regime "\$consent_regime_v" gave "bogus", which is not "opt-in" or "opt-out": opt-in applies; make the variable give "opt-in" or "opt-out" for every request/,
     'a warning names the variable, its value and the fix');

# the preferences page under opt-out shows what holds

$r = $t->get('/consent/', 'X-Country' => 'US');
like($r->{body}, qr/name="category" value="analytics" checked/,
     'opt-out: the page ticks what runs until refused');
$r = $t->get('/consent/', 'X-Country' => 'FR');
unlike($r->{body}, qr/value="analytics" checked/,
       'opt-in: nothing optional ticked');

# a choice under opt-out: the cookie and the log say so

$r = $t->post_form('/consent/', 'action=save&category=analytics&source=page',
                   'X-Country' => 'US');
is($r->{status}, 303, 'a choice under opt-out');
my $out_cookie = set_cookie($r);
like($out_cookie // '', qr/^2\.[\w-]{22}\.\d+\.2\.necessary~analytics\.marketing\.out\.[0-9a-f]{8}\.[\w-]{22}$/,
     'its cookie is of format 2 and records "out"');

$r = $t->get('/', 'X-Country' => 'US', Cookie => "consent=$out_cookie");
is(header($r, 'x-state'), 'valid', 'the cookie is valid');
is(header($r, 'x-categories'), 'necessary,analytics', 'the choice wins');
is(clarity($r), 1, 'analytics kept');
is(facebook($r), 0, 'marketing, refused, gated out');
ok(!link_of($r) && !banner($r), 'neither banner nor link once chosen');

$r = $t->get('/', 'X-Country' => 'FR', Cookie => "consent=$out_cookie");
is(header($r, 'x-state'), 'valid', 'valid under opt-in too');
is(clarity($r), 1, 'a choice is a choice, whatever the regime now');

(my $forged = $out_cookie) =~ s/\.out\./.in./;
$r = $t->get('/', Cookie => "consent=$forged");
is(header($r, 'x-state'), 'invalid', 'the MAC covers the regime');

$r = $t->post_form('/consent/', 'action=reject_all', 'X-Country' => 'FR');
my $in_cookie = set_cookie($r);
like($in_cookie // '', qr/^1\.[\w-]{22}\.\d+\.2\.necessary\.analytics~marketing\.[0-9a-f]{8}\.[\w-]{22}$/,
     'a choice under opt-in keeps format 1');

$r = $t->post_form('/consent/', 'action=reject_all', 'X-Country' => 'US',
                   'Sec-GPC' => '1');
is($r->{status}, 303, 'a refusal under opt-out with GPC');

sleep 1;
my @rec = map { JSON::PP->new->decode($_) }
          grep { /"type":"consent"/ } split /\n/, $t->read_file('logs/consent.log');
is(scalar @rec, 3, 'three consent records');
is($rec[0]{regime}, 'opt-out', 'the log records opt-out');
is($rec[1]{regime}, 'opt-in', 'and opt-in');
is($rec[2]{regime}, 'opt-out', 'and opt-out again');
ok($rec[2]{gpc}, 'with its gpc');
like($t->read_file('logs/consent.log'), qr/"node":"[^"]*","regime":"opt-out","revision":2,/,
     'in its place among the sorted keys');

my $v = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem`;
is($?, 0, 'consent-audit verify: the log is whole') or diag($v);
like($v, qr/^OK: \d+ records \(\d+ policy, 3 consent\)/, 'every record') or diag($v);

$v = `$audit stats $p/logs/consent.log`;
like($v, qr/3 choices in 1 day, 1 with Sec-GPC: 1, 2 under opt-out/,
     'consent-audit stats counts the choices under opt-out') or diag($v);

my @csv = split /\r\n/, `$audit export --csv $p/logs/consent.log`;
like($csv[0], qr/,seq,regime$/, 'export: a regime column, last');
is_deeply([map { (split /,/)[-1] } @csv[1 .. 3]], [qw(opt-out opt-in opt-out)],
          'with each choice\'s regime');

# the state API says the regime

$r = $t->get('/consent/state', 'X-Country' => 'US');
my $state = JSON::PP->new->decode($r->{body});
is($state->{regime}, 'opt-out', 'the state API: regime opt-out');
is($state->{state}, 'none', 'state none');
ok($state->{categories}{analytics} && $state->{categories}{marketing},
   'and what runs until refused');
$state = JSON::PP->new->decode($t->get('/consent/state')->{body});
is($state->{regime}, 'opt-in', 'opt-in elsewhere');
ok(!$state->{categories}{analytics}, 'where nothing optional runs');

# the cookies written by a module before this one: format 1 is opt-in

my $key = $t->read_file('conf/secret.key');
my $old = forge_cookie(key => $key, revision => 2,
                       granted => ['analytics'], refused => ['marketing']);
$r = $t->get('/out/', Cookie => "consent=$old");
is(header($r, 'x-state'), 'valid', 'an old cookie is still valid');
is(header($r, 'x-categories'), 'necessary,analytics', 'and holds its choice');

# under opt-out, an outdated cookie's refusals still stand

my $outdated = forge_cookie(key => $key, revision => 1,
                            granted => ['analytics'], refused => ['marketing'],
                            regime => 'out');
$r = $t->get('/out/', Cookie => "consent=$outdated");
is(header($r, 'x-state'), 'outdated', 'an outdated cookie');
is(header($r, 'x-categories'), 'necessary,analytics',
   'its refusal still stands under opt-out');
ok(link_of($r), 'with the link');

$r = $t->get('/in/', Cookie => "consent=$outdated");
is(header($r, 'x-categories'), 'necessary', 'under opt-in: asked again');
is(banner($r), 1, 'with the banner');

# consent_banner $variable

$r = $t->get('/b/');
is(banner($r), 1, 'consent_banner from a variable: on');
$r = $t->get('/b/', 'X-Banner' => 'quiet');
is(banner($r), 0, 'off');
is(clarity($r), 0, 'gated all the same');
$r = $t->get('/b/', 'X-Banner' => 'odd');
is(banner($r), 1, 'an unknown value shows the banner');
like($t->read_file('logs/error.log'),
     qr/\[warn\].*consent_banner "\$consent_banner_v" gave "maybe", which is not "on" or "off": the banner is shown/,
     'with a warning');

$t->check_log();

done_testing();
