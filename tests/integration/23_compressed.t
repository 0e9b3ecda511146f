#!/usr/bin/perl

# Compressed answers are gated (issue 9): gzip and deflate from a second
# nginx (gzip on, gzip_proxied any) and from a node application server,
# chunked and with Content-Length, are inflated, gated and get the banner;
# nginx's gzip compresses toward the reader where on; br, zstd, stacked and
# unknown codings fail closed with a 502 and a warning; a gzip bomb costs
# no more memory than a 20 MB page and ends in a closed connection; the
# upstream is asked only for what the module reads.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use ConsentTest qw(header forge_cookie free_port);

my $root = "$FindBin::Bin/../..";
my $fixtures = "$root/tests/fixtures/vendors";

my $node_port = free_port();
my $h2_port = free_port($node_port);

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;

    server {
        listen 127.0.0.1:%%PORT%%;
        listen 127.0.0.1:H2_PORT http2;
        root %%PREFIX%%/html;
        consent on;
        consent_gate_host analytics *.googletagmanager.com
                                    www.google-analytics.com;
        consent_gate_host marketing connect.facebook.net;
        proxy_http_version 1.1;

        location /consent/ { consent_endpoint; }

        location /ng/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
        }

        location /ng-gzip/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
            gzip on;
            gzip_min_length 0;
        }

        location /app/ {
            proxy_pass http://127.0.0.1:NODE_PORT/;
        }

        location /app-gzip/ {
            proxy_pass http://127.0.0.1:NODE_PORT/;
            gzip on;
            gzip_min_length 0;
        }

        location /unbuffered/ {
            proxy_pass http://127.0.0.1:NODE_PORT/;
            proxy_buffering off;
            proxy_buffer_size 1k;
            consent_inflate_max_size 4m;
        }

        location /small/ {
            consent_inflate_max_size 4m;
            proxy_pass http://127.0.0.1:NODE_PORT/;
        }

        location /temp/ {
            proxy_pass http://127.0.0.1:NODE_PORT/;
            proxy_buffer_size 4k;
            proxy_buffers 4 4k;
            proxy_busy_buffers_size 8k;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;
        gzip on;
        gzip_proxied any;
        gzip_min_length 0;
        gzip_http_version 1.0;

        location /static/ {
            alias %%PREFIX%%/html/;
            gzip_static on;
        }
    }
END

$t->{http} =~ s/NODE_PORT/$node_port/g;
$t->{http} =~ s/H2_PORT/$h2_port/g;

for my $name (qw(gtm meta-pixel article)) {
    my $page = slurp("$fixtures/$name.html");
    $t->write_file("html/$name.html", $page);
    gzip(\$page => \my $gz) or die $GzipError;
    $t->write_file("html/$name.html.gz", $gz);
}

# a 20 MB page, the size performance.md measures
$t->write_file('html/big.html',
    '<!DOCTYPE html><html><head><title>big</title></head><body>'
    . ('<p>' . ('x' x 1020) . "</p>\n") x 20480 . '</body></html>');

# the node application server, by fork and exec: a piped open() would
# wait for node when its handle goes, which a test that dies does before
# any END block could stop node, and the test would hang instead of fail
pipe(my $node, my $node_out) or die "pipe: $!";
my $node_pid = fork() // die "fork: $!";
if ($node_pid == 0) {
    close $node;
    open(STDOUT, '>&', $node_out) or die "stdout: $!";
    exec('node', "$FindBin::Bin/lib/compressing-upstream.js", $node_port,
         $t->prefix . '/html') or die "node: $!";
}
close $node_out;
my $ready = <$node>;
is($ready, "ready\n", 'the node upstream is ready');
END {                                  # when a test dies early too
    if ($node_pid) {
        kill 'TERM', $node_pid;
        waitpid($node_pid, 0);
    }
}

$t->run;

my $key = $t->read_file('conf/secret.key');
my $all = 'consent=' . forge_cookie(key => $key,
                                    granted => [qw(analytics marketing)]);

my $browser = 'gzip, deflate, br, zstd';

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# what the reader gets, decoded as a browser would
sub body {
    my ($r) = @_;
    my $ce = header($r, 'content-encoding') // '';
    return $r->{body} if $ce eq '';
    return "[undecodable: $ce]" unless $ce eq 'gzip';
    gunzip(\$r->{body} => \my $out) or return "[bad gzip: $GunzipError]";
    return $out;
}

sub gated_ok {
    my ($r, $what, %opt) = @_;
    my $b = body($r);
    is($r->{status}, 200, "$what: 200");
    is(header($r, 'content-encoding'), $opt{encoding},
       "$what: Content-Encoding " . ($opt{encoding} // 'none'));
    unlike($b, qr/googletagmanager\.com|connect\.facebook\.net/,
           "$what: no refused host in what the reader gets");
    like($b, qr/id="consent-banner"/, "$what: the banner, on a first visit");
    like($b, qr{</html>\s*$}, "$what: the whole page");
}

# --- a second nginx that compresses -------------------------------------

my $r = $t->raw("GET /gtm.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                . "Accept-Encoding: gzip\r\n\r\n", port => $t->port2);
is(header($r, 'content-encoding'), 'gzip', 'the nginx upstream compresses');
is(header($r, 'transfer-encoding'), 'chunked', 'and sends it chunked');

gated_ok($t->get('/ng/gtm.html', 'Accept-Encoding' => $browser),
         'nginx gzip, chunked');
gated_ok($t->get('/ng/static/gtm.html', 'Accept-Encoding' => $browser),
         'nginx gzip_static, Content-Length');
gated_ok($t->get('/ng/meta-pixel.html', 'Accept-Encoding' => 'gzip'),
         'nginx gzip, another page');

# toward a reader that accepts gzip, nginx's gzip compresses again
gated_ok($t->get('/ng-gzip/gtm.html', 'Accept-Encoding' => $browser),
         'gzip on toward the reader', encoding => 'gzip');

# a reader who granted everything gets the trackers, inflated
$r = $t->get('/ng/gtm.html', 'Accept-Encoding' => $browser, Cookie => $all);
like(body($r), qr/googletagmanager\.com/, 'granted: the tracker stays');
unlike(body($r), qr/id="consent-banner"/, 'granted: no banner');

# --- the node application server ----------------------------------------

for my $case (qw(gzip x-gzip deflate deflate-raw)) {
    for my $how ('', 'chunked/') {
        gated_ok($t->get("/app/$how$case/gtm.html",
                         'Accept-Encoding' => $browser),
                 "node $case" . ($how ? ', chunked' : ', Content-Length'));
    }
}

for my $case (qw(gzip deflate)) {
    gated_ok($t->get("/unbuffered/chunked/$case/gtm.html",
                     'Accept-Encoding' => $browser),
             "node $case, chunked, proxy_buffering off, 1k buffers");
}

gated_ok($t->get('/app-gzip/chunked/deflate/meta-pixel.html',
                 'Accept-Encoding' => $browser),
         'deflate in, gzip toward the reader', encoding => 'gzip');

$r = $t->get('/app/gzip/gtm.html', 'Accept-Encoding' => $browser);
is(header($r, 'x-upstream-saw'), 'gzip, deflate',
   'the upstream is asked only for what the module reads');
$r = $t->get('/app/gzip/gtm.html', 'Accept-Encoding' => 'br;q=1, zstd');
is(header($r, 'x-upstream-saw'), '(none)',
   'nothing readable asked for: no Accept-Encoding upstream');
$r = $t->get('/app/gzip/gtm.html', 'Accept-Encoding' => 'br,gzip;q=0.5');
is(header($r, 'x-upstream-saw'), 'gzip;q=0.5', 'q-values are kept');
$r = $t->get('/app/gzip/gtm.html', 'Accept-Encoding' => 'gzip,br,deflate');
is(header($r, 'x-upstream-saw'), 'gzip, deflate', 'written without blanks');
$r = $t->get('/app/gzip/gtm.html', 'Accept-Encoding' => 'GZIP, x-gzip ;q=1');
is(header($r, 'x-upstream-saw'), 'GZIP, x-gzip ;q=1',
   'nothing to drop: the header as sent');

$r = $t->head('/app/gzip/gtm.html', 'Accept-Encoding' => $browser);
is($r->{status}, 200, 'HEAD of a gzip page: 200');
ok(!defined header($r, 'content-encoding'),
   'HEAD: no Content-Encoding, as the GET would have');

# --- what cannot be read fails closed -----------------------------------

for my $case (qw(br zstd gzip-gzip x-unknown)) {
    for my $how ('', 'chunked/') {
        $r = $t->get("/app/$how$case/gtm.html", 'Accept-Encoding' => $browser);
        my $what = "$case" . ($how ? ', chunked' : '');
        is($r->{status}, 502, "$what: 502");
        unlike($r->{body}, qr/googletagmanager|facebook|\x28\xb5\x2f\xfd/,
               "$what: nothing of the answer reaches the reader");
        ok(!defined header($r, 'content-encoding'),
           "$what: no Content-Encoding on the 502");
    }
}

my $log = $t->read_file('logs/error.log');
like($log, qr/\[warn\].*Content-Encoding: br" cannot be gated in location "\/app\/"/,
     'a warning names the encoding and the location');
like($log, qr/\[warn\].*Content-Encoding: gzip, gzip" cannot be gated/,
     'stacked codings are refused too');

# an empty body with Content-Encoding: gzip (a gzip_static .gz of nothing)

$t->write_file('html/empty.html', '');
$t->write_file('html/empty.html.gz', '');
$r = $t->get('/ng/static/empty.html', 'Accept-Encoding' => $browser);
is($r->{status}, 200, 'an empty gzip body: 200');
like($r->{body}, qr/^<div class="consent consent-banner"[^\0]*<\/div>$/,
     'an empty gzip body: an empty page (with the banner, as an empty page)');

# a broken stream: what was gated went out, the rest never does

$r = $t->get('/app/gzip/truncated/gtm.html', 'Accept-Encoding' => $browser);
unlike($r->{body}, qr/googletagmanager|facebook/,
       'a truncated gzip: no refused host');
unlike($r->{raw}, qr/0\r\n\r\n$/, 'and the answer is not ended as whole');

# --- the end of a proxied page ----------------------------------------
#
# Once the upstream's answer is read in full, the module keeps the rest of
# the page for the end that follows at once, so that the last chunk leaves
# in the same write (tests/bench/proxy.sh counts the writes).  Nothing may
# stay behind: not the page's end, not on a kept-alive connection, not
# when the upstream dies half-way.

$r = $t->get('/app/identity/article.html');
is($r->{status}, 200, 'an uncompressed proxied page: 200');
like($r->{raw}, qr/<\/html>\n\r\n0\r\n\r\n\z/,
     'and it is sent to its end, the last chunk after it');
unlike($r->{body}, qr/googletagmanager|facebook\.net/,
       'and it is gated');
like($r->{body}, qr/consent-banner/, 'and it has the banner');

# the request as it is, read to the connection's end: (1, bytes), or
# (undef, what came) when the end does not come within 20 s; the reader
# first waits $wait seconds, if given
sub read_to_end {
    my ($request, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
                                  Timeout => 10) or die "connect: $!";
    binmode $s;
    print $s $request;
    select(undef, undef, undef, $wait) if $wait;
    my $data = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    my $ok = eval {
        alarm(20);
        while (sysread($s, my $buf, 65536)) { $data .= $buf; }
        alarm(0);
        1;
    };
    return ($ok, $data);
}

{
    my ($ok, $data) = read_to_end(
        "GET /app/identity/article.html HTTP/1.1\r\nHost: x\r\n\r\n"
        . "GET /app/identity/gtm.html HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\n\r\n");
    is($ok, 1, 'two pages on one kept-alive connection: no wait');
    my @ends = $data =~ /<\/html>\n\r\n0\r\n\r\n/g;
    is(scalar @ends, 2, 'and both are sent to their end');
}

$r = $t->get('/app/identity/cut/gtm.html');
is($r->{status}, 200, 'an upstream that dies half-way: 200 (sent before)');
like($r->{body}, qr/^<!DOCTYPE html>.*<title>Google Tag Manager<\/title>/s,
     'and what was read before the cut reaches the reader');
unlike($r->{body}, qr/googletagmanager/,
       'and the unfinished tracker does not');
unlike($r->{raw}, qr/0\r\n\r\n\z/, 'and the answer is not ended as whole');

# A page the pipe wrote to a temporary file reaches the filter in the copy
# filter's few buffers (output_buffers), and an inflated one in the
# inflater's: both come back only once sent, so kept for the page's end
# they never come, and the page waited for ever (stop 21).  Now what is
# kept is sent once the event that kept it is over, if the end has not
# come in it.  The reader waits a second, so that nginx has to write the
# uncompressed page to the file (the gzip one, 60 KB, may fit in the
# sockets' buffers).

for my $coding (qw(identity gzip)) {
    my ($ok, $data) = read_to_end("GET /temp/$coding/big.html HTTP/1.1\r\n"
                                  . "Host: x\r\nConnection: close\r\n\r\n",
                                  1);
    is($ok, 1, "a 20 MB $coding page through small buffers: no wait");
    like($data, qr/<\/body><\/html>\r\n0\r\n\r\n\z/,
         "and it is sent to its end");
}

like($t->read_file('logs/error.log'),
     qr/buffered to a temporary file .*"GET \/temp\/identity\/big.html/,
     'and nginx did write the uncompressed one to a temporary file');

# the same over HTTP/2, whose streams take the same way out
for my $coding (qw(identity gzip)) {
    my $out = $t->prefix . "/h2-$coding.html";
    open(my $curl, '-|', 'curl', '-s', '--http2-prior-knowledge',
         '--max-time', '20', '--limit-rate', '20M', '-o', $out,
         '-w', '%{http_version}',
         "http://127.0.0.1:$h2_port/temp/$coding/big.html")
        or die "curl: $!";
    my $version = join '', <$curl>;
    close $curl;
    is($? >> 8, 0, "a 20 MB $coding page over HTTP/2: no wait");
    is($version, '2', 'and it did go over HTTP/2');
    my $body = -e $out ? slurp($out) : '';
    ok(length($body) > 20_000_000 && $body =~ /<\/body><\/html>\z/,
       'and it is sent to its end');
}

# --- a gzip bomb --------------------------------------------------------

sub hwm {
    my $pid = `pgrep -P ${\ $t->pid}` // '';
    ($pid) = $pid =~ /(\d+)/;
    my $status = slurp("/proc/$pid/status");
    my ($kb) = $status =~ /^VmHWM:\s+(\d+) kB/m;
    return $kb;
}

$r = $t->get('/big.html');
is(length($r->{body}) > 20_000_000, 1, 'a 20 MB page through the gate');
my $after_page = hwm();

$r = $t->get('/small/gzip/bomb', 'Accept-Encoding' => $browser);
unlike($r->{body}, qr/googletagmanager|facebook/, 'bomb: no refused host');
ok(length($r->{body}) > 3_000_000 && length($r->{body}) < 6_000_000,
   'bomb: cut at consent_inflate_max_size (4m) of inflated page');
unlike($r->{raw}, qr/0\r\n\r\n$/, 'bomb: the answer is not ended as whole');

$r = $t->get('/unbuffered/gzip/bomb', 'Accept-Encoding' => $browser);
unlike($r->{body}, qr/googletagmanager|facebook/,
       'bomb, proxy_buffering off: no refused host');
ok(length($r->{body}) > 3_000_000 && length($r->{body}) < 6_000_000,
   'bomb, proxy_buffering off: cut at 4m');

$r = $t->get('/app/gzip/bomb', 'Accept-Encoding' => $browser);
ok(length($r->{body}) > 30_000_000 && length($r->{body}) < 36_000_000,
   'bomb: cut at the default consent_inflate_max_size (32m)');
my $after_bomb = hwm();
cmp_ok($after_bomb - $after_page, '<', 4096,
       "bomb: the worker's peak memory grows by less than 4 MB "
       . "over a 20 MB page's ($after_page kB, then $after_bomb kB)");

$log = $t->read_file('logs/error.log');
like($log, qr/\[warn\].*inflates past consent_inflate_max_size \(4194304/,
     'bomb: a warning names the limit and the fix');

# the worker is still there and answers
gated_ok($t->get('/app/gzip/gtm.html', 'Accept-Encoding' => $browser),
         'after the bombs');

$t->check_log;

kill 'TERM', $node_pid;
waitpid($node_pid, 0);
undef $node_pid;
close $node;

done_testing();
