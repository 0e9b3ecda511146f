#!/usr/bin/perl

# The gating directives at nginx -t (each mistake names file:line and the
# fix), and consent_gate_buffer: an element longer than the buffer is
# removed while a category is refused (fail closed), with a warning.

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

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        consent_gate_host analytics www.clarity.ms;
        consent_gate_buffer 1k;
        location /consent/ { consent_endpoint; }
        location /quiet/ { consent_banner off; }
    }
END

my $p = $t->prefix;

my $base = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
END

sub server {
    my ($directives) = @_;
    return $base . <<"END";
    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
        $directives
    }
END
}

sub fails_with {
    my ($directives, $re, $name) = @_;
    my ($rc, $out) = $t->test_config(server($directives));
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: says what to do") or diag($out);
    like($out, qr{ in \Q$p\E/conf/test\.conf:\d+}, "$name: names file:line");
}

my ($rc, $out) = $t->test_config(server(
    'consent_gate_host analytics www.clarity.ms *.googletagmanager.com '
    . '//static.hotjar.com;'
    . 'consent_google_mode analytics_storage=analytics ad_storage=analytics;'
    . 'consent_gate_buffer 128k; consent_csp_nonce $request_id;'));
is($rc, 0, 'a good gating configuration passes') or diag($out);

fails_with('consent_gate_host ads www.clarity.ms;',
           qr/unknown category "ads"; declare it first/, 'unknown category');
fails_with('consent_gate_host analytics https://www.clarity.ms/tag;',
           qr/is not a host name; give a name such as/, 'a URL for a host');
fails_with('consent_gate_host analytics www.clarity.ms:443;',
           qr/no scheme, port or path: any port matches/, 'a port');
fails_with('consent_gate_host analytics www.*.ms;',
           qr/a wildcard is only allowed as "\*\." at the start/,
           'a wildcard inside');
fails_with('consent_google_mode analytics;',
           qr/should be SIGNAL=CATEGORY/, 'no signal');
fails_with('consent_google_mode ad_storeage=analytics;',
           qr/unknown Google consent signal "ad_storeage"; use ad_storage/,
           'a misspelt signal');
fails_with('consent_google_mode ad_storage=ads;',
           qr/unknown category "ads"/, 'a signal to an unknown category');
fails_with('consent_google_mode ad_storage=analytics;'
           . 'consent_google_mode ad_storage=analytics;',
           qr/is duplicate/, 'twice');
fails_with('consent_gate_buffer lots;', qr/invalid value/, 'a bad size');

# --- consent_gate_buffer -------------------------------------------------

my $long = '<html><head></head><body><p>before</p><script>var data = "'
         . ('x' x 3000) . '";</script><p>after</p></body></html>';
my $short = '<html><head></head><body><script>u = "https://www.clarity.ms/t";'
          . '</script><script>var ok = 1;</script></body></html>';
$t->write_file("html/quiet/long.html", $long);
$t->write_file("html/quiet/short.html", $short);
$t->run;

my $key = do {
    open my $fh, '<:raw', "$p/conf/secret.key" or die $!;
    local $/;
    <$fh>;
};

my $r = $t->get('/quiet/long.html');
is($r->{body}, '<html><head></head><body><p>before</p><p>after</p>'
               . '</body></html>',
   'an inline script longer than the buffer: removed while refused');

$r = $t->get('/quiet/long.html', Cookie => 'consent='
             . forge_cookie(key => $key, granted => ['analytics']));
is($r->{body}, $long, 'and kept when every category is granted');

$r = $t->get('/quiet/short.html');
is($r->{body}, '<html><head></head><body><script>var ok = 1;</script>'
               . '</body></html>',
   'within the buffer: decided on its text');

$t->stop;

my $log = $t->read_file('logs/error.log');
like($log, qr/\[warn\].*consent: 1 element\(s\) longer than consent_gate_buffer \(1024\).*raise "consent_gate_buffer"/,
     'a warning names the directive to raise');

done_testing();
