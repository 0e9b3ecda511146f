#!/usr/bin/perl

# consent_choices_link: once a reader has chosen, a small "privacy choices"
# link back to the preferences page, where the banner would be; off by
# default, not in locations without the banner, not before a choice; a
# plain link (no JavaScript) in the reader's language.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ConsentTest qw(header set_cookie forge_cookie);

# the link is named like the page it opens, in each language
my %title = map {
    my $f = "$FindBin::Bin/../../ui/texts/$_.json";
    open my $fh, '<:raw', $f or die "$f: $!";
    local $/;
    ($_ => JSON::PP->new->utf8->decode(scalar <$fh>)->{page_title});
} qw(en fr);

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_revision 2;
    consent_category necessary required;
    consent_category analytics;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_choices_link on;
        location /consent/ { consent_endpoint; }
        location /quiet/ { consent_banner off; }
        location /plain/ { consent_choices_link off; }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $page = "<!DOCTYPE html><html><head><title>x</title></head>"
         . "<body><p>Hello</p></body></html>\n";
$t->write_file("html/$_", $page) for qw(index.html quiet/index.html
                                       plain/index.html);
$t->run;

my $key = $t->read_file('conf/secret.key');
my $valid = forge_cookie(key => $key, revision => 2, granted => ['analytics']);
my $outdated = forge_cookie(key => $key, revision => 1,
                            granted => ['analytics']);

sub choices_of {
    my ($body) = @_;
    return $body =~ m{(<div class="consent consent-choices".*?</div>)}s
        ? $1 : undef;
}

my $r = $t->get('/');
ok($r->{body} =~ /id="consent-banner"/, 'before a choice: the banner');
ok(!choices_of($r->{body}), 'and no privacy choices link');

$r = $t->get('/?a=1&b=%22x%22', Cookie => "consent=$valid");
my $c = choices_of($r->{body});
ok($c, 'once chosen: the privacy choices link') or diag($r->{body});
$c //= '';
unlike($r->{body}, qr/id="consent-banner"/, 'and no banner');
like($c, qr{^<div class="consent consent-choices" lang="en">},
     'in the reader\'s language');
like($c, qr{<a class="consent-choices-link" href="/consent/\?return=%2F%3Fa%3D1%26b%3D%2522x%2522">\Q$title{en}\E</a>},
     'a link to the preferences page, coming back here, named like it');
like($c, qr{<link rel="stylesheet" href="/consent/consent\.css\?v=[^"]+">},
     'themed by the banner\'s stylesheet');
unlike($c, qr/<script/, 'no JavaScript');
like($r->{body}, qr{<p>Hello</p><div class="consent consent-choices".*</div></body>}s,
     'at the end of the body');

$r = $t->get('/', Cookie => "consent=$valid", 'Accept-Language' => 'fr-FR');
$c = choices_of($r->{body}) // '';
like($c, qr{lang="fr"}, 'in French for a French reader');
my $fr = $title{fr};
utf8::encode($fr);
like($c, qr{>\Q$fr\E</a>}, 'with the French title') or diag($c);

$r = $t->get('/', Cookie => "consent=$outdated");
ok($r->{body} =~ /id="consent-banner"/, 'an outdated choice: the banner');
ok(!choices_of($r->{body}), 'not the link');

$r = $t->get('/quiet/', Cookie => "consent=$valid");
is($r->{body}, $page, 'consent_banner off: nothing inserted');

$r = $t->get('/plain/', Cookie => "consent=$valid");
is($r->{body}, $page, 'consent_choices_link off: nothing inserted');

$r = $t->raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             . "Cookie: consent=$valid\r\n\r\n", port => $t->port2);
is($r->{status}, 200, 'a server without the directive');
is($r->{body}, $page, 'off by default: nothing inserted');

# the link leads to a page where the choice can be withdrawn
$r = $t->get('/consent/?return=%2F', Cookie => "consent=$valid");
is($r->{status}, 200, 'the preferences page');
like($r->{body}, qr/value="withdraw"/, 'with a way to withdraw');

$t->stop;
$t->check_log;

done_testing();
