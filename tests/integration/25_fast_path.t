#!/usr/bin/perl

# The fast path for static files (consent_plan_cache) against the full scan,
# through a real nginx: two servers alike but for the plan cache (the full
# one reading the file in 1 KB pieces), the same bytes and the same
# $consent_removed for every fixture page, every combination of granted
# categories and a first visit, both languages, the banner on and off, cold
# (a new file) and warm; with open_file_cache, aio threads, directio, gzip
# and sendfile off; HEAD, 304 and ranges.  Then the file changing under it:
# in place with the same size, a new inode, truncated, under
# open_file_cache, and while it is being sent (the answer is cut, never
# completed as a mix).  And the cache's bound: the least recently used plan
# goes.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Socket qw(:all);
use Time::HiRes qw(sleep);
use ConsentTest qw(header forge_cookie);

my $root = "$FindBin::Bin/../..";
my $fixtures = "$root/tests/fixtures/vendors";

sub server {
    my ($port, $plan, $extra) = @_;
    return <<"END";
    server {
        listen 127.0.0.1:$port sndbuf=32k;
        server_name localhost;
        root %%PREFIX%%/html;
        consent on;
        consent_csp_nonce n0nce;
        sendfile on;
        $plan
        $extra

        consent_gate_host analytics *.googletagmanager.com
                                    www.google-analytics.com
                                    static.hotjar.com *.matomo.cloud
                                    www.clarity.ms;
        consent_gate_host marketing connect.facebook.net *.facebook.com
                                    snap.licdn.com *.linkedin.com
                                    analytics.tiktok.com;
        consent_google_mode analytics_storage=analytics
                            ad_storage=marketing ad_user_data=marketing;

        location /consent/ { consent_endpoint; }

        location /quiet/ {
            alias %%PREFIX%%/html/;
            consent_banner off;
        }

        location /ofc/ {
            alias %%PREFIX%%/html/;
            open_file_cache max=100 inactive=1h;
            open_file_cache_valid 1h;
        }

        location /threads/ {
            alias %%PREFIX%%/html/;
            aio threads;
        }

        location /dio/ {
            alias %%PREFIX%%/html/;
            directio 512;
        }

        location /gz/ {
            alias %%PREFIX%%/html/;
            gzip on;
            gzip_min_length 0;
        }

        location /nosf/ {
            alias %%PREFIX%%/html/;
            sendfile off;
        }

        location /nosf-quiet/ {
            alias %%PREFIX%%/html/;
            sendfile off;
            output_buffers 1 97;
            consent_banner off;
        }

        location /small/ {
            alias %%PREFIX%%/html/;
            consent_plan_cache 64k;
        }
    }
END
}

my $t = ConsentTest->new(http =>
    "    consent_secret secret.key;\n"
    . "    consent_category necessary required;\n"
    . "    consent_category analytics;\n"
    . "    consent_category marketing;\n"
    . "    log_format plan '\$request_uri \$consent_plan \$consent_removed';\n"
    . server('%%PORT%%', 'consent_plan_cache 1m;',
             'access_log %%PREFIX%%/logs/plan.log plan;')
    . server('%%PORT2%%', 'consent_plan_cache off;',
             "output_buffers 2 1k;\n"
             . 'access_log %%PREFIX%%/logs/full.log plan;'));

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# a new inode with the content: a new file for the plan cache
sub put {
    my ($name, $content) = @_;
    my $path = $t->prefix . "/html/$name";
    $t->write_file("$path.new", $content);
    rename "$path.new", $path or die "rename: $!";
}

my @pages = map { m{([^/]+)\.html$} } glob("$fixtures/*.html");
my %page = map { $_ => slurp("$fixtures/$_.html") } @pages;

# and the article without its <html lang>: the banner in the reader's
# language (a page's own language comes first where the gate reads it)
($page{nolang} = $page{article}) =~ s/<html lang="[^"]*">/<html>/
    or die 'no <html lang> in article.html';
push @pages, 'nolang';

put("$_.html", $page{$_}) for @pages;

$t->run;
diag("prefix " . $t->prefix) if $ENV{TEST_KEEP};

my $key = slurp($t->prefix . '/conf/secret.key');

my %cookie = (
    'first visit' => undef,
    'refused' => forge_cookie(key => $key,
                              refused => [qw(analytics marketing)]),
    'analytics' => forge_cookie(key => $key, granted => ['analytics'],
                                refused => ['marketing']),
    'marketing' => forge_cookie(key => $key, granted => ['marketing'],
                                refused => ['analytics']),
    'accepted' => forge_cookie(key => $key,
                               granted => [qw(analytics marketing)]),
);

sub req {
    my ($port, $uri, %h) = @_;
    my $method = delete $h{method} // 'GET';
    my $req = "$method $uri HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n";
    for my $k (sort keys %h) {
        $req .= "$k: $h{$k}\r\n" if defined $h{$k};
    }
    return $t->raw("$req\r\n", port => $port, head => $method eq 'HEAD');
}

sub fast { req($t->port, @_) }
sub full { req($t->port2, @_) }

# the $consent_plan of the last request the fast server logged
sub plan_status {
    my $log = $t->read_file('logs/plan.log') // '';
    my ($last) = $log =~ /([^\n]*)\n\z/;
    return (split / /, $last // '')[1] // '';
}

# the $consent_removed of the last request a server logged
sub removed {
    my ($log) = @_;
    $log = $t->read_file("logs/$log.log") // '';
    my ($last) = $log =~ /([^\n]*)\n\z/;
    return (split / /, $last // '')[2] // '';
}

# --- the differential test ----------------------------------------------

my ($n, $bad, %seen, %removed) = (0, 0);

for my $p (@pages) {
    for my $who (sort keys %cookie) {
        for my $lang (qw(en fr)) {
            for my $loc ('/', '/quiet/', '/nosf/', '/nosf-quiet/') {
                my $uri = "$loc$p.html";
                my %h = (Cookie => $cookie{$who} && "consent=$cookie{$who}",
                         'Accept-Language' => $lang);

                put("$p.html", $page{$p});     # cold: a new inode

                my $want = full($uri, %h);
                my $wr = removed('full');
                my $cold = fast($uri, %h);
                my $cs = plan_status();
                my $cr = removed('plan');
                my $warm = fast($uri, %h);
                my $ws = plan_status();
                my $wmr = removed('plan');

                my $what = "$uri, $who, $lang";
                $n++;
                $seen{"$p $who $loc"} = 1 if $want->{body} =~ /consent-banner/;
                $removed{$wr}++;

                if ($want->{status} != 200
                    || $cold->{body} ne $want->{body}
                    || $warm->{body} ne $want->{body}
                    || (header($cold, 'content-length') // -1)
                       != length($want->{body})
                    || (header($warm, 'content-length') // -1)
                       != length($want->{body})
                    || $cs ne 'MISS' || $ws ne 'HIT'
                    || $wr !~ /^(none|[a-z]+:\d+(,[a-z]+:\d+)*)$/
                    || $cr ne $wr || $wmr ne $wr)
                {
                    $bad++;
                    fail("$what: fast path (cold $cs, warm $ws) is the "
                         . "full scan");
                    diag("\$consent_removed: full $wr, cold $cr, "
                         . "warm $wmr");
                    diag("status $want->{status}; lengths: full "
                         . length($want->{body}) . ', cold '
                         . length($cold->{body}) . ', warm '
                         . length($warm->{body}));
                }
            }
        }
    }
}

ok(!$bad, "$n combinations: the fast path, cold and warm, gives the full "
          . "scan's bytes");
is($n, @pages * 5 * 2 * 4, 'every page, grant set, language, banner '
   . 'setting, with sendfile and without, was compared');
ok(@pages >= 12, scalar(@pages) . ' pages');
ok($removed{none} && keys(%removed) > 5,
   'and the same $consent_removed: "none" and ' . (keys(%removed) - 1)
   . ' other values compared');

# the comparison saw what it compares: banners, both languages, removals
fast('/nolang.html', 'Accept-Language' => 'en');
my $art_first = fast('/nolang.html', 'Accept-Language' => 'fr');
like($art_first->{body}, qr/consent-banner[^>]*lang="fr"/,
     'a first visit in French gets the French banner');
unlike($art_first->{body}, qr/googletagmanager\.com|connect\.facebook\.net/,
       'trackers removed on the fast path');
like($art_first->{body}, qr{<script nonce="n0nce">window\.dataLayer},
     'the consent default, with the nonce, on the fast path');
is(plan_status(), 'HIT', 'and that answer came from the plan');
ok(!grep({ /quiet\// } keys %seen), 'consent_banner off: no banner');

# --- the places nginx sends files from ------------------------------------

sub same {
    my ($uri, $status, $name, %h) = @_;
    my $want = full($uri, %h);
    my $got = fast($uri, %h);
    my $st = plan_status();
    is($want->{status}, 200, "$name: 200");
    ok($got->{body} eq $want->{body}, "$name: the full scan's bytes")
        or diag(length($got->{body}) . ' vs ' . length($want->{body}));
    is($st, $status, "$name: \$consent_plan $status");
    return $got;
}

for my $p (qw(article gtm)) {
    put("$p.html", $page{$p});
    same("/ofc/$p.html", 'MISS', "open_file_cache $p, cold");
    same("/ofc/$p.html", 'HIT', "open_file_cache $p, warm");
    same("/threads/$p.html", 'MISS', "aio threads $p, cold");
    same("/threads/$p.html", 'HIT', "aio threads $p, warm");
    same("/dio/$p.html", 'BYPASS', "directio $p (read into memory)");
    same("/nosf/$p.html", 'MISS', "sendfile off $p, cold");
    same("/nosf/$p.html", 'HIT', "sendfile off $p, warm");
}

my $gz = same('/gz/article.html', 'BYPASS', 'gzip (needs memory)',
              'Accept-Encoding' => 'gzip');
is(header($gz, 'content-encoding'), 'gzip', 'gzip: compressed');

# a page changed in more places than a plan holds: the full scan, and
# the verdict kept

my $many = "<html><head></head><body>\n"
    . ("<p>t</p><img src=\"https://www.facebook.com/tr?id=1\">\n" x 20000)
    . "</body></html>\n";
put('many.html', $many);
for my $try (1, 2) {
    same('/many.html', 'BYPASS', "20000 changes, request $try",
         Cookie => "consent=$cookie{refused}");
}
my @too = ($t->read_file('logs/error.log') // '')
    =~ /"[^"]*many\.html" changes in more places than a plan holds/g;
is(scalar @too, 1, 'said once, naming the file');

# HEAD, 304, ranges

my $get = fast('/article.html', Cookie => "consent=$cookie{refused}");
my $head = fast('/article.html', method => 'HEAD',
                Cookie => "consent=$cookie{refused}");
my $fhead = full('/article.html', method => 'HEAD',
                 Cookie => "consent=$cookie{refused}");
is($head->{status}, 200, 'HEAD: 200');
is($head->{body}, '', 'HEAD: no body');
is(header($head, 'etag'), header($fhead, 'etag'), 'HEAD: the same ETag');
is(header($head, 'etag'), header($get, 'etag'), 'HEAD: the GET\'s ETag');
is(header($head, 'content-length'), length($get->{body}),
   'HEAD: the GET\'s Content-Length');
ok(!defined header($fhead, 'content-length'),
   'HEAD, full scan: no Content-Length (it is not known)');

my $etag = header($get, 'etag');
like($etag // '', qr/^W\/".*-cv/, 'a weak ETag of the page and choice');
my $nm = fast('/article.html', Cookie => "consent=$cookie{refused}",
              'If-None-Match' => $etag);
is($nm->{status}, 304, '304 for the same file and choice');
$nm = fast('/article.html', Cookie => "consent=$cookie{accepted}",
           'If-None-Match' => $etag);
is($nm->{status}, 200, 'another choice: the page anew');
ok($nm->{body} eq full('/article.html',
                       Cookie => "consent=$cookie{accepted}")->{body},
   'and its bytes');

my $range = same('/article.html', 'HIT', 'Range: the whole page',
                 Range => 'bytes=0-99',
                 Cookie => "consent=$cookie{refused}");
ok(length($range->{body}) > 100, 'Range: not 100 bytes of the file');

# --- the file changes -------------------------------------------------------

my $page = $page{gtm};
(my $other = $page) =~ s/<body>/<BODY>/ or die 'no <body> in gtm.html';
is(length($other), length($page), 'a new version of the same size');

# in place, same size, new content (a new mtime)
put('change.html', $page);
my $v1 = fast('/change.html')->{body};
fast('/change.html');
is(plan_status(), 'HIT', 'in place: the first version planned');
sleep 0.02;
{
    open my $fh, '+<:raw', $t->prefix . '/html/change.html' or die $!;
    print $fh $other;
    close $fh;
}
my $v2 = fast('/change.html');
is(plan_status(), 'MISS', 'in place, same size: a miss');
ok($v2->{body} eq full('/change.html')->{body},
   'in place, same size: the new page');
ok($v2->{body} ne $v1, 'which differs from the old one');

# a new inode
put('change.html', $page);
ok(fast('/change.html')->{body} eq $v1, 'a new inode: the new page');
is(plan_status(), 'MISS', 'a new inode: a miss');

# truncated between two requests
put('change.html', $page);
fast('/change.html');
sleep 0.02;
truncate($t->prefix . '/html/change.html', 100) or die $!;
my $tr = fast('/change.html');
ok($tr->{body} eq full('/change.html')->{body},
   'truncated: the truncated page');

# under open_file_cache: a rename keeps the old descriptor, a whole page
put('change.html', $page);
my $o1 = fast('/ofc/change.html')->{body};
put('change.html', $other);
my $o2 = fast('/ofc/change.html')->{body};
my $want_other = do {
    put('probe.html', $other);
    (my $b = full('/ofc/probe.html')->{body}) =~ s{probe\.html}{change.html}g;
    $b;
};
ok($o2 eq $o1 || $o2 eq $want_other,
   'open_file_cache, renamed over: the old page or the new, whole');

# under open_file_cache, in place and shorter: the descriptor's file now
# (a rename, above, leaves the cache the old inode, whose ctime moves)

sub as_uri {
    my ($body, $from, $to) = @_;
    (my $ef = $from) =~ s{/}{%2F}g;
    (my $et = $to) =~ s{/}{%2F}g;
    $body =~ s{\Q$from\E}{$to}g;
    $body =~ s{\Q$ef\E}{$et}g;
    return $body;
}

put('ofc2.html', $page);
ok(fast('/ofc/ofc2.html')->{body}
   eq as_uri(full('/ofc2.html')->{body}, '/ofc2.html', '/ofc/ofc2.html'),
   'open_file_cache: the page');
fast('/ofc/ofc2.html');
is(plan_status(), 'HIT', 'open_file_cache: planned');
{
    sleep 0.02;
    open my $fh, '+<:raw', $t->prefix . '/html/ofc2.html' or die $!;
    my $short = "<html><head></head><body><p>short</p></body></html>\n";
    print $fh $short;
    close $fh;
    truncate($t->prefix . '/html/ofc2.html', length $short) or die $!;
    my $r = fast('/ofc/ofc2.html');
    is(plan_status(), 'MISS', 'open_file_cache, truncated in place: a miss');
    ok($r->{body}
       eq as_uri(full('/ofc2.html')->{body}, '/ofc2.html', '/ofc/ofc2.html'),
       'open_file_cache, truncated in place: the new page, whole')
        or diag($r->{body});
}

# while it is being sent: a slow reader, a page much larger than the
# socket buffers, the file changed under the answer

my $big = do {
    my ($head, $body, $tail)
        = $page{article} =~ m{^(.*?<body[^>]*>)(.*)(</body>.*)$}s
        or die 'no body in article.html';
    my $out = $head;
    $out .= $body while length($out) < 8 * 1024 * 1024;
    $out . $tail;
};

sub slow_get {
    my ($uri, $change) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096) or die "setsockopt: $!";
    connect($s, pack_sockaddr_in($t->port, inet_aton('127.0.0.1')))
        or die "connect: $!";
    binmode $s;
    syswrite($s, "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n\r\n");
    my $data = '';
    while (length($data) < 256 * 1024) {
        my $n = sysread($s, my $buf, 4096);
        last unless $n;
        $data .= $buf;
    }
    $change->();
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm(30);
    while (1) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $data .= $buf;
    }
    alarm(0);
    close $s;
    return ConsentTest::parse_response($data) // {}, $data;
}

put('big.html', $big);
my %big_want = map { $_ => full("$_/big.html")->{body} } ('', '/nosf');

my $big_other = $big;
my $at = index($big, 'a', length($big) - 4096);
substr($big_other, $at, 1) = 'b';

for my $loc ('', '/nosf') {
for my $case (
    [ 'rewritten in place, same size', sub {
        open my $fh, '+<:raw', $t->prefix . '/html/big.html' or die $!;
        print $fh $big_other;
        close $fh;
    } ],
    [ 'truncated', sub {
        truncate($t->prefix . '/html/big.html', 1024 * 1024) or die $!;
    } ],
)
{
    my ($what, $change) = @$case;
    my $name = ($loc ? 'without' : 'with') . " sendfile, $what";
    put('big.html', $big);
    fast("$loc/big.html");
    fast("$loc/big.html");
    is(plan_status(), 'HIT', "$name: the big page planned");
    sleep 0.02;
    my ($r, $raw) = slow_get("$loc/big.html", $change);
    my $cl = header($r, 'content-length');
    my ($body) = $raw =~ /\r\n\r\n(.*)\z/s;
    my $complete = defined $cl ? length($body // '') == $cl
                               : $raw =~ /\r\n0\r\n\r\n\z/;
    ok(!$complete || $r->{body} eq $big_want{$loc},
       "$name while sent: never a complete answer with a mix");
    ok(!$complete, "$name while sent: the answer is cut")
        or diag(length($r->{body}) . ' bytes');
}
}

my $log = $t->read_file('logs/error.log');
like($log, qr/"[^"]*big\.html" changed while it was sent; the answer is cut/,
     'the cut is logged, naming the file');

# --- the bound: the least recently used plan goes ---------------------------

put("lru$_.html", $page{article}) for 1 .. 200;
fast('/small/lru1.html');
fast('/small/lru2.html');
for my $i (3 .. 200) {
    fast("/small/lru$i.html");
    fast('/small/lru1.html');          # kept in use
}
fast('/small/lru1.html');
is(plan_status(), 'HIT', 'a plan in use stays');
fast('/small/lru2.html');
is(plan_status(), 'MISS', 'the least recently used one went');
ok(fast('/small/lru2.html')->{body} eq full('/small/lru2.html')->{body},
   'and is planned anew, the same bytes');

# --- nginx -t ---------------------------------------------------------------

for my $case (
    [ 'consent_plan_cache 1x;',
      qr/invalid size "1x"; give "off" or a size such as "1m"/ ],
    [ 'consent_plan_cache 4k;',
      qr/"4k" is too small for a plan cache; give at least "64k"/ ],
    [ 'consent_plan_cache 1m; consent_plan_cache 2m;',
      qr/"consent_plan_cache" directive is duplicate/ ],
)
{
    my ($directives, $re) = @$case;
    my ($rc, $out) = $t->test_config(
        "consent_secret secret.key;\n"
        . "server { listen 127.0.0.1:%%PORT%%; location / { $directives } }");
    isnt($rc, 0, "\"$directives\": nginx -t fails");
    like($out, $re, "\"$directives\": says what to do") or diag($out);
    like($out, qr{ in \Q${\ $t->prefix}\E/conf/test\.conf:\d+},
         "\"$directives\": names file:line");
}

my ($rc, $out) = $t->test_config("consent_secret secret.key;\n"
    . "consent_plan_cache 1m;\n"
    . "server { listen 127.0.0.1:%%PORT%%; consent_plan_cache 64k;\n"
    . "    location / { consent_plan_cache off; } }");
is($rc, 0, 'http, server and location levels pass') or diag($out);

$t->check_log(qr/sendfile\(\) reported that "[^"]*big\.html" was truncated/);

done_testing();
