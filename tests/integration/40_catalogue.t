#!/usr/bin/perl

# The tracker catalogue (conf/trackers.conf): it is what tools/trackers.pl
# builds from conf/services.txt today, byte for byte; nginx -t accepts it
# with consent_category_alias and names the fix without; and pages carrying
# the published snippets of sixteen catalogue services are gated through a
# real nginx with no rule of the operator's own, per category, and the
# services' first-party cookies are stripped.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp;
use ConsentTest qw(header forge_cookie);

my $root = "$FindBin::Bin/../..";
my $catalogue = "$root/conf/trackers.conf";

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# --- the committed file is current, and the build is reproducible -------

my $gen = "perl $root/tools/trackers.pl $root/conf/services.txt "
          . "$root/conf/open-cookie-database.csv";
my $built = `$gen`;
is($?, 0, 'tools/trackers.pl runs');
ok($built eq slurp($catalogue),
   'conf/trackers.conf is current (run "make trackers" if not)');
ok(`$gen` eq $built, 'the same input gives the same bytes');

my @services = $built =~ /^# (\S.*?)(?:, by .*)?\n#   loads /mg;
cmp_ok(scalar @services, '>=', 100, 'at least 100 services');

for my $cat (qw(analytics replay abtest advertising social video maps)) {
    like($built, qr/^consent_gate_host +$cat /m, "a host rule under $cat");
}

like($built, qr/^consent_strip_cookie +analytics _ga _gali _ga_\* /m,
     'Google Analytics cookies from the Open Cookie Database');
like($built, qr/^consent_strip_cookie +advertising _fbp _fbc;/m,
     'the Meta Pixel\'s first-party cookies');
unlike($built, qr/^consent_strip_cookie .* (sp|fid|gac|id|queryString)[ ;]/m,
       'no generic names a site\'s own cookie could have');
ok(-f "$root/conf/open-cookie-database.LICENSE",
   'the Open Cookie Database licence is next to the catalogue');

# the generator refuses what nginx would refuse, naming file and line

my $bad = File::Temp->new(SUFFIX => '.txt');
print $bad "service  Bad\nvendor   Bad\ncategory analytics\n"
           . "hosts    example.com/path\nsnippet  https://example.com/a.js\n";
close $bad;
my $out = `perl $root/tools/trackers.pl $bad $root/conf/open-cookie-database.csv 2>&1`;
isnt($? >> 8, 0, 'a host with a path stops the generator');
like($out, qr/:4: "example\.com\/path" is not a host name/,
     'and names the line');

open $bad, '>', "$bad" or die;
print $bad "service  Bad\nvendor   Bad\ncategory analytics\n"
           . "hosts    cdn.example.com\nsnippet  https://www.example.com/a.js\n";
close $bad;
$out = `perl $root/tools/trackers.pl $bad $root/conf/open-cookie-database.csv 2>&1`;
isnt($? >> 8, 0, 'a snippet outside the hosts stops the generator');
like($out, qr/snippet host "www\.example\.com" is covered by none/,
     'and says which');

# --- nginx -t ---------------------------------------------------------------

my $categories = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
END

my $aliases = <<'END';
    consent_category_alias analytics replay abtest;
    consent_category_alias marketing advertising social video maps;
END

my $t = ConsentTest->new;
my ($rc, $text) = $t->test_config($categories . $aliases
                                  . "    include $catalogue;\n");
is($rc, 0, 'nginx -t accepts the catalogue') or diag($text);

($rc, $text) = $t->test_config($categories . "    include $catalogue;\n");
isnt($rc, 0, 'without aliases, nginx -t refuses');
like($text, qr/unknown category "replay".*"consent_category_alias".*trackers\.conf:\d+/,
     'naming the category, the fix and file:line');

my @bad = (
    [ 'consent_category_alias ads advertising;',
      qr/names unknown category "ads"; declare it first/, 'unknown target' ],
    [ 'consent_category_alias analytics marketing;',
      qr/"marketing" is a category of its own/, 'an alias that is a category' ],
    [ "consent_category_alias analytics replay;\n"
      . "consent_category_alias marketing replay;",
      qr/duplicate alias "replay"/, 'one alias, two categories' ],
    [ 'consent_category_alias analytics Replay;',
      qr/invalid alias "Replay"/, 'an invalid name' ],
    [ "consent_category_alias analytics replay;\n"
      . "consent_category replay;",
      qr/category "replay" is already an alias/, 'a category after its alias' ],
);

for my $case (@bad) {
    ($rc, $text) = $t->test_config($categories . "    $case->[0]\n");
    isnt($rc, 0, "consent_category_alias: $case->[2] is refused");
    like($text, qr/$case->[1].*test\.conf:\d+/, "... with the fix");
}

($rc, $text) = $t->test_config($categories
    . "    server { consent_category_alias analytics replay; }\n");
isnt($rc, 0, 'consent_category_alias only in the http block');

# --- sixteen published snippets, gated by the catalogue alone -------------

$t = ConsentTest->new(http => $categories . $aliases . <<"END");
    include $catalogue;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;

        location /consent/ { consent_endpoint; }

        location /cookies {
            proxy_pass http://127.0.0.1:%%PORT2%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;

        location / {
            add_header Set-Cookie "_ga=GA1.1.42; Path=/";
            add_header Set-Cookie "_hjSessionUser_123=eyJ; Path=/";
            add_header Set-Cookie "_fbp=fb.1.1.2; Path=/";
            add_header Set-Cookie "_pk_id.1.1fff=abc; Path=/";
            add_header Set-Cookie "sessionid=keep; Path=/; HttpOnly";
            return 200 "upstream saw [\$http_cookie]\\n";
        }
    }
END

# page => [operator category, what the snippet loads]
my %page = (
    'vendors/ga4'        => [ analytics => 'www.googletagmanager.com/gtag/js' ],
    'vendors/gtm'        => [ analytics => 'www.googletagmanager.com/gtm.js',
                                           'www.googletagmanager.com/ns.html' ],
    'vendors/matomo'     => [ analytics => 'cdn.matomo.cloud/',
                                           'example.matomo.cloud/matomo.php' ],
    'vendors/hotjar'     => [ analytics => 'static.hotjar.com/c/hotjar-' ],
    'vendors/clarity'    => [ analytics => 'www.clarity.ms/tag/' ],
    'catalogue/optimizely' => [ analytics => 'cdn.optimizely.com/js/' ],
    'catalogue/vwo'      => [ analytics => 'dev.visualwebsiteoptimizer.com' ],
    'vendors/meta-pixel' => [ marketing => 'connect.facebook.net/en_US',
                                           'www.facebook.com/tr' ],
    'vendors/linkedin'   => [ marketing => 'snap.licdn.com/',
                                           'px.ads.linkedin.com/' ],
    'vendors/tiktok'     => [ marketing => 'analytics.tiktok.com/' ],
    'catalogue/pinterest-tag' => [ marketing => 's.pinimg.com/ct/core.js',
                                                'ct.pinterest.com/v3/' ],
    'catalogue/youtube'  => [ marketing => 'www.youtube.com/embed/' ],
    'catalogue/vimeo'    => [ marketing => 'player.vimeo.com/video/',
                                           'player.vimeo.com/api/' ],
    'catalogue/google-maps' => [ marketing => 'maps.googleapis.com/maps/api' ],
    'catalogue/x-widgets' => [ marketing => 'platform.twitter.com/widgets' ],
    'catalogue/instagram' => [ marketing => 'www.instagram.com/embed.js' ],
);

for my $name (sort keys %page) {
    my $html = slurp("$root/tests/fixtures/$name.html");
    for my $needle (@{ $page{$name} }[1 .. $#{ $page{$name} }]) {
        like($html, qr/\Q$needle\E/, "$name: the snippet loads $needle");
    }
    $t->write_file("html/$name.html", $html);
}

$t->run;

my $key = $t->read_file('conf/secret.key');
my %cookie = (
    first => undef,
    none  => forge_cookie(key => $key, refused => [qw(analytics marketing)]),
    all   => forge_cookie(key => $key, granted => [qw(analytics marketing)]),
    analytics => forge_cookie(key => $key, granted => ['analytics'],
                              refused => ['marketing']),
);

for my $who (qw(first none analytics all)) {
    for my $name (sort keys %page) {
        my ($cat, @needles) = @{ $page{$name} };
        my @h = defined $cookie{$who} ? (Cookie => "consent=$cookie{$who}")
                                      : ();
        my $r = $t->get("/$name.html", @h);
        is($r->{status}, 200, "$who, $name: 200");

        my $granted = $who eq 'all' || $who eq $cat;

        for my $needle (@needles) {
            if ($granted) {
                like($r->{body}, qr/\Q$needle\E/, "$who, $name: $needle kept");
            } else {
                unlike($r->{body}, qr/\Q$needle\E/,
                       "$who, $name: no $needle");
            }
        }

        like($r->{body}, qr{<h1>}, "$who, $name: the page is there");
    }
}

# --- the services' cookies -------------------------------------------------

my $r = $t->get('/cookies', Cookie => "consent=$cookie{none}; _ga=GA1.1.9; "
                . "_fbp=fb.1.2; sessionid=mine");
my $set = join "\n", header($r, 'set-cookie');
unlike($set, qr/^(_ga|_hjSessionUser_123|_fbp|_pk_id\.1\.1fff)=[^;]+;/m,
       'refused: the services\' Set-Cookie never leave');
like($set, qr/^sessionid=keep/m, 'refused: the site\'s own cookie stays');
like($r->{body}, qr/\[[^]]*sessionid=mine[^]]*\]/,
     'refused: the site\'s own cookie goes upstream');
unlike($r->{body}, qr/_ga=|_fbp=/, 'refused: the services\' do not');

$r = $t->get('/cookies', Cookie => "consent=$cookie{analytics}");
$set = join "\n", header($r, 'set-cookie');
like($set, qr/^_ga=GA1/m, 'analytics: _ga is set');
like($set, qr/^_hjSessionUser_123=/m, 'analytics: Hotjar (replay) is set');
like($set, qr/^_pk_id\.1\.1fff=/m, 'analytics: Matomo is set');
unlike($set, qr/^_fbp=/m, 'analytics: _fbp is not');

$r = $t->get('/cookies', Cookie => "consent=$cookie{all}");
$set = join "\n", header($r, 'set-cookie');
like($set, qr/^_fbp=/m, 'all granted: _fbp is set');

$t->stop;
$t->check_log;

done_testing();
