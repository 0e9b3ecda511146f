#!/usr/bin/perl

# consent_strip_cookie: Set-Cookie of a category not granted is removed from
# the answer, those cookies are removed from the request passed upstream,
# and a refusal deletes them in the browser.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header set_cookie forge_cookie free_port);
use IO::Socket::INET;

# an upstream that answers with the request it got, headers as sent
my $echo = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 16, ReuseAddr => 1)
    or die "listen: $!";
my $echo_port = $echo->sockport;
my $echo_pid = fork() // die "fork: $!";
if ($echo_pid == 0) {
    while (my $c = $echo->accept) {
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            my $n = sysread($c, my $buf, 4096) or last;
            $req .= $buf;
        }
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               . "Connection: close\r\n\r\n$req";
        close $c;
    }
    exit 0;
}
END { kill 'KILL', $echo_pid if $echo_pid; }

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;

    server {
        listen 127.0.0.1:%%PORT%%;
        server_name www.news.example.com 127.0.0.1;
        consent on;

        consent_strip_cookie analytics _ga _ga_* _gid;
        consent_strip_cookie marketing _fbp *_ads;

        location /consent/ { consent_endpoint; }

        location / {
            proxy_pass http://127.0.0.1:%%PORT2%%;
        }

        location /echo/ {
            proxy_pass http://127.0.0.1:ECHO_PORT;
        }

        location /off/ {
            consent off;
            proxy_pass http://127.0.0.1:%%PORT2%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;

        location / {
            add_header Set-Cookie "_ga=GA1.2.3; Path=/; Domain=.example.com";
            add_header Set-Cookie "_ga_ABC=GS1.1; Path=/";
            add_header Set-Cookie "_gid=x";
            add_header Set-Cookie "_fbp=fb.1";
            add_header Set-Cookie "my_ads=1";
            add_header Set-Cookie "session=abc; HttpOnly";
            add_header Set-Cookie "_gallery=keep";
            return 200 "upstream saw [$http_cookie]\n";
        }
    }
END

$t->{http} =~ s/ECHO_PORT/$echo_port/;
$t->run;

my $key = $t->read_file('conf/secret.key');

sub cookie {
    my (@granted) = @_;
    my %g = map { $_ => 1 } @granted;
    return 'consent=' . forge_cookie(key => $key,
        granted => [grep { $g{$_} } qw(analytics marketing)],
        refused => [grep { !$g{$_} } qw(analytics marketing)]);
}

sub names {
    my ($r) = @_;
    return join ' ', sort map { /^([^=]+)=/ ? $1 : () }
        header($r, 'set-cookie');
}

my $jar = '_ga=1; _ga_ABC=2; session=s; _fbp=3; x_ads=4; _gallery=5';

# nothing granted

my $r = $t->get('/', Cookie => $jar);
is(names($r), '_gallery session',
   'not chosen: tracking Set-Cookie removed, others kept');
is($r->{body}, "upstream saw [session=s; _gallery=5]\n",
   'not chosen: tracking cookies not passed upstream');

# analytics granted, marketing refused

my $c = cookie('analytics');
$r = $t->get('/', Cookie => "$jar; $c");
is(names($r), '_ga _ga_ABC _gallery _gid session',
   'analytics granted: its cookies pass, marketing ones do not');
like($r->{body}, qr/^upstream saw \[_ga=1; _ga_ABC=2; session=s; _gallery=5; consent=/,
     'analytics granted: only marketing cookies removed upstream');

# everything granted

$c = cookie('analytics', 'marketing');
$r = $t->get('/', Cookie => "$jar; $c");
is(names($r), '_fbp _ga _ga_ABC _gallery _gid my_ads session',
   'all granted: every Set-Cookie passes');
like($r->{body}, qr/^upstream saw \[\Q$jar\E; consent=/,
     'all granted: the Cookie header is untouched');

is(join(',', header($r, 'vary')), 'Cookie',
   'an answer whose Set-Cookie depends on consent varies on Cookie, once');


# several Cookie headers

$r = $t->get('/', Cookie => '_ga=1; a=b', Cookie => '_fbp=2', Cookie => 'c=d');
is($r->{body}, "upstream saw [a=b; c=d]\n",
   'several Cookie headers are each cleaned, an emptied one removed');

$r = $t->get('/echo/', Cookie => '_ga=1; a=b', Cookie => '_fbp=2; x_ads=3',
             Cookie => 'c=d', 'X-After' => 'kept');
my @lines = $r->{body} =~ /^Cookie:(.*)\r$/mg;
is(join('|', @lines), ' a=b| c=d',
   'the upstream gets no empty Cookie line');
like($r->{body}, qr/^X-After: kept\r$/m, 'the headers after it are kept');

$r = $t->get('/echo/', Cookie => '_ga=1;_gid=2', 'X-After' => 'kept');
unlike($r->{body}, qr/^Cookie/mi,
       'a Cookie line with only refused cookies: no Cookie header at all');
like($r->{body}, qr/^X-After: kept\r$/m, 'and the others are kept');

$r = $t->get('/echo/', Cookie => 'a=1;b=2;_ga=3;c=4');
like($r->{body}, qr/^Cookie: a=1;b=2; c=4\r$/m,
     'pairs written without blanks are kept whole');

# consent off: nothing is touched

$r = $t->get('/off/', Cookie => $jar);
is(names($r), '_fbp _ga _ga_ABC _gallery _gid my_ads session',
   'consent off: Set-Cookie untouched');
is($r->{body}, "upstream saw [$jar]\n", 'consent off: Cookie untouched');
ok(!defined header($r, 'vary'), 'consent off: no Vary');

# a refusal deletes what the browser holds, for the host and its parents

$r = $t->request('POST', '/consent/', 'action=reject_all',
                 Host => 'www.news.example.com',
                 Origin => 'http://www.news.example.com',
                 'Content-Type' => 'application/x-www-form-urlencoded',
                 Cookie => $jar);
is($r->{status}, 303, 'reject_all');
my @del = grep { /Max-Age=0/ } header($r, 'set-cookie');
my %by = map { /^([^=]+)=/ ? ($1 => 1) : () } @del;
is(join(' ', sort keys %by), '_fbp _ga _ga_ABC x_ads',
   'deletes exactly the refused cookies the browser sent');
ok((grep { /^_ga=; Max-Age=0; Path=\/; Expires=/ } @del),
   'host-only deletion');
ok((grep { /^_ga=; Max-Age=0; Path=\/; Domain=www\.news\.example\.com;/ } @del),
   'for the host as a domain');
ok((grep { /^_ga=; Max-Age=0; Path=\/; Domain=news\.example\.com;/ } @del),
   'for the parent domain');
ok((grep { /^_ga=; Max-Age=0; Path=\/; Domain=example\.com;/ } @del),
   'for the registrable domain');
ok(!(grep { /Domain=com;/ } @del), 'never for the top-level domain');
ok(set_cookie($r), 'and sets the consent cookie');

$r = $t->post_form('/consent/', 'action=save&category=analytics',
                   Cookie => $jar);
diag(explain($r)) if $r->{status} != 303;
%by = map { /^([^=]+)=; Max-Age=0/ ? ($1 => 1) : () }
      header($r, 'set-cookie');
is(join(' ', sort keys %by), '_fbp x_ads',
   'saving analytics deletes the marketing cookies only');

$r = $t->post_form('/consent/', 'action=accept_all', Cookie => $jar);
ok(!(grep { /Max-Age=0/ } header($r, 'set-cookie')),
   'accepting everything deletes nothing');

$t->check_log;

my ($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    server {
        listen 127.0.0.1:%%PORT%%;
        consent_strip_cookie necessary session;
    }
END
isnt($rc, 0, 'stripping a required category fails nginx -t');
like($out, qr/category "necessary" is required and never refused/,
     'and says why');

($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category analytics;
    server {
        listen 127.0.0.1:%%PORT%%;
        consent_strip_cookie ads _fbp;
    }
END
like($out, qr/unknown category "ads"; declare it first with "consent_category ads;"/,
     'an unknown category names the fix');

($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category analytics;
    server {
        listen 127.0.0.1:%%PORT%%;
        consent_strip_cookie analytics *;
    }
END
like($out, qr/"\*" in "consent_strip_cookie" would strip every cookie/,
     'a bare "*" is refused');

($rc, $out) = $t->test_config(<<'END');
    consent_secret secret.key;
    consent_category analytics;
    server {
        listen 127.0.0.1:%%PORT%%;
        consent_strip_cookie analytics "_g;a";
    }
END
like($out, qr/invalid cookie name pattern "_g;a"/, 'a bad pattern is refused');

done_testing();
