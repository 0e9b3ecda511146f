#!/usr/bin/perl

# consent.css and consent.js from the endpoint: the built-in bytes, a strong
# ETag, If-None-Match -> 304, a long cache, HEAD, and 404 for other names.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header);

my $root = "$FindBin::Bin/../..";

my $t = ConsentTest->new(http => <<'END')->run;
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
        location /other/ { consent_endpoint; }
    }
END

for my $case (['consent.css', 'text/css'], ['consent.js', 'text/javascript'])
{
    my ($name, $type) = @$case;

    open my $fh, '<:raw', "$root/ui/$name" or die "$name: $!";
    my $want = do { local $/; <$fh> };

    my $r = $t->get("/consent/$name");
    is($r->{status}, 200, "$name: 200");
    ok($r->{body} eq $want, "$name: the bytes of ui/$name");
    is(header($r, 'content-type'), "$type; charset=utf-8",
       "$name: Content-Type");
    is(header($r, 'content-length'), length($want), "$name: Content-Length");
    like(header($r, 'cache-control'), qr/max-age=31536000/,
         "$name: a long cache");
    is(header($r, 'x-content-type-options'), 'nosniff', "$name: nosniff");

    my $etag = header($r, 'etag');
    like($etag, qr/^"[0-9a-f]{8}-[0-9a-f]+"$/, "$name: a strong ETag");

    $r = $t->get("/consent/$name?v=abc", 'If-None-Match' => $etag);
    is($r->{status}, 304, "$name: If-None-Match -> 304");
    is($r->{body}, '', "$name: 304 without a body");
    is(header($r, 'etag'), $etag, "$name: 304 repeats the ETag");

    $r = $t->get("/consent/$name", 'If-None-Match' => "\"x\", W/$etag");
    is($r->{status}, 304, "$name: a weak match in a list -> 304");

    $r = $t->get("/consent/$name", 'If-None-Match' => '*');
    is($r->{status}, 304, "$name: If-None-Match: * -> 304");

    $r = $t->get("/consent/$name", 'If-None-Match' => '"other"');
    is($r->{status}, 200, "$name: another ETag -> 200");

    $r = $t->head("/consent/$name");
    is($r->{status}, 200, "$name: HEAD 200");
    is($r->{body}, '', "$name: HEAD without a body");
    is(header($r, 'content-length'), length($want),
       "$name: HEAD has the length");

    $r = $t->get("/other/$name");
    is($r->{status}, 200, "$name: any endpoint location serves it");
}

for my $bad ('consent.cs', 'consent.jss', 'texts/en.json', 'ui_data.c',
             '../consent.css', 'Consent.css', 'consent.css/')
{
    my $r = $t->get("/consent/$bad");
    is($r->{status}, 404, "$bad: 404");
}

my $r = $t->request('PUT', '/consent/consent.css', 'x');
is($r->{status}, 405, 'PUT: 405');

# the banner and the page link them with ?v= and the ETag's CRC
my $css = header($t->get('/consent/consent.css'), 'etag') =~ s/"//gr;
$r = $t->get('/consent/');
like($r->{body}, qr{<link rel="stylesheet" href="/consent/consent\.css\?v=\Q$css\E">},
     'the page links the current consent.css');

$t->stop;
$t->check_log;

done_testing();
