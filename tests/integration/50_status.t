#!/usr/bin/perl

# consent_status: consents counted in shared memory by every worker, by
# action and by category, each under the regime it was made in, printed in
# the Prometheus text format, and kept across a reload.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest qw(header);

my $categories = <<'END';
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;
END

# reuseport: the kernel spreads connections over both workers; a reader
# who says "X-Regime: us" is under opt-out
my $servers = <<'END';
    map $http_x_regime $regime { us opt-out; default opt-in; }

    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        consent on;
        consent_regime $regime;

        location /consent/ {
            consent_endpoint;
            add_header X-Worker $pid;
        }

        location = /metrics {
            consent_status;
        }
    }
END

my $t = ConsentTest->new(workers => 2,
                         http => "consent_secret secret.key;\n"
                                 . $categories . $servers);

$t->run;

# the sample lines of a scrape, as { 'name{labels}' => value }, after
# checking that every line is valid exposition format and every family has
# its HELP and TYPE before its samples
sub scrape {
    my ($what) = @_;
    my $r = $t->get('/metrics');
    my (%samples, %typed, $bad);

    is($r->{status}, 200, "$what: 200");

    for my $line (split /\n/, $r->{body}) {
        if ($line =~ /^# HELP ([a-z_]+) \S.*$/) {
            $typed{$1}{help} = 1;
        } elsif ($line =~ /^# TYPE ([a-z_]+) (counter|gauge)$/) {
            $bad = "TYPE before HELP: $line" unless $typed{$1}{help};
            $typed{$1}{type} = $2;
        } elsif ($line =~ /^([a-z_]+)(\{(?:[a-z]+="[a-z0-9_-]*",?)+\})? (\d+)$/) {
            my ($name, $labels, $value) = ($1, $2 // '', $3);
            my $type = $typed{$name}{type} // '';
            $bad = "sample before TYPE: $line" unless $type;
            $bad = "counter without _total: $line"
                if $type eq 'counter' && $name !~ /_total$/;
            $samples{$name . $labels} = $value;
        } else {
            $bad = "not exposition format: $line";
        }
    }

    ok(!$bad, "$what: exposition format") or diag($bad, "\n", $r->{body});
    return (\%samples, $r);
}

sub action {
    my $regime = $_[1] // 'opt-in';
    "nginx_consent_choices_total{action=\"$_[0]\",regime=\"$regime\"}";
}
sub cat {
    my $regime = $_[2] // 'opt-in';
    "nginx_consent_category_choices_total{category=\"$_[0]\",answer=\"$_[1]\",regime=\"$regime\"}";
}

my ($s, $r) = scrape('before any consent');
like(header($r, 'content-type'), qr{^text/plain; version=0\.0\.4},
     'the Prometheus content type');
is(header($r, 'cache-control'), 'no-store', 'never cached');
for my $regime (qw(opt-in opt-out)) {
    is($s->{action($_, $regime)}, 0, "$_, $regime: 0")
        for qw(accept_all reject_all save withdraw);
    is($s->{cat($_, 'granted', $regime)}, 0, "$_ granted, $regime: 0")
        for qw(necessary analytics marketing);
}
my $start = $s->{nginx_consent_start_time_seconds};
ok($start > time - 600 && $start <= time, 'the start time, in seconds');

# consents, answered by both workers

my %workers;

sub consent {
    my ($how, $body, @h) = @_;
    my $r = $how eq 'json' ? $t->post_json('/consent/', $body, @h)
                           : $t->post_form('/consent/', $body, @h);
    $workers{header($r, 'x-worker') // 'none'}++;
    return $r->{status};
}

my @statuses;
push @statuses, consent(form => 'action=accept_all') for 1 .. 12;
push @statuses, consent(form => 'action=reject_all') for 1 .. 6;
push @statuses, consent(form => 'action=save&category=analytics') for 1 .. 4;
push @statuses, consent(json => '{"action":"withdraw"}') for 1 .. 2;
is(scalar(grep { $_ == 303 || $_ == 200 } @statuses), 24,
   'every consent answered');
cmp_ok(scalar(grep { $_ ne 'none' } keys %workers), '>=', 2,
       'by more than one worker') or diag(explain(\%workers));
note(explain(\%workers));

# refused POSTs are not consents
my $x = $t->request('POST', '/consent/', 'action=accept_all',
                    'Content-Type' => 'application/x-www-form-urlencoded',
                    Origin => 'https://evil.example');
is($x->{status}, 403, 'a cross-site POST is refused');
is($t->post_form('/consent/', 'action=maybe')->{status}, 400,
   'a bad action is refused');

($s) = scrape('after 24 consents');
is($s->{action('accept_all')}, 12, 'accept_all: 12');
is($s->{action('reject_all')}, 6, 'reject_all: 6');
is($s->{action('save')}, 4, 'save: 4');
is($s->{action('withdraw')}, 2, 'withdraw: 2');
is($s->{cat('necessary', 'granted')}, 24, 'necessary granted: every time');
is($s->{cat('necessary', 'refused')}, 0, 'necessary refused: never');
is($s->{cat('analytics', 'granted')}, 16, 'analytics granted: 12 + 4');
is($s->{cat('analytics', 'refused')}, 8, 'analytics refused: 6 + 2');
is($s->{cat('marketing', 'granted')}, 12, 'marketing granted: 12');
is($s->{cat('marketing', 'refused')}, 12, 'marketing refused: 6 + 4 + 2');
is($s->{action($_, 'opt-out')}, 0, "$_ under opt-out: 0")
    for qw(accept_all reject_all save withdraw);

# readers under opt-out: counted apart, the opt-in counts stay
consent(form => 'action=reject_all', 'X-Regime' => 'us') for 1 .. 3;
consent(form => 'action=save&category=marketing', 'X-Regime' => 'us');
($s) = scrape('after 4 consents under opt-out');
is($s->{action('reject_all', 'opt-out')}, 3, 'reject_all under opt-out: 3');
is($s->{action('save', 'opt-out')}, 1, 'save under opt-out: 1');
is($s->{action('reject_all')}, 6, 'reject_all under opt-in: still 6');
is($s->{cat('marketing', 'granted', 'opt-out')}, 1,
   'marketing granted under opt-out: 1');
is($s->{cat('analytics', 'refused', 'opt-out')}, 4,
   'analytics refused under opt-out: 4');
is($s->{cat('marketing', 'granted')}, 12, 'marketing granted under opt-in: '
   . 'still 12');

# a reload that adds a category and changes the order keeps the counts

my $pid = $t->pid;
ok($t->reload("consent_secret secret.key;\n"
              . "    consent_category social;\n" . $categories . $servers),
   'reload with a new first category');

# the old workers leave once they are idle: wait until only new ones answer
my $new = 0;
for (1 .. 200) {
    $new = $t->get('/metrics')->{body} =~ /category="social"/ ? $new + 1 : 0;
    last if $new == 5;
    select(undef, undef, undef, 0.05);
}
is($new, 5, 'the new workers answer');

($s) = scrape('after the reload');
is($t->pid, $pid, 'the same master');
is($s->{action('accept_all')}, 12, 'accept_all: still 12');
is($s->{cat('analytics', 'granted')}, 16, 'analytics granted: still 16');
is($s->{cat('marketing', 'refused')}, 12, 'marketing refused: still 12');
is($s->{cat('social', 'granted')}, 0, 'the new category: 0 granted');
is($s->{cat('social', 'refused')}, 0, 'and 0 refused');
is($s->{nginx_consent_start_time_seconds}, $start,
   'the same start time');

consent(form => 'action=accept_all');
consent(form => 'action=save&category=social');
($s) = scrape('after two more');
is($s->{action('accept_all')}, 13, 'accept_all: 13');
is($s->{action('save')}, 5, 'save: 5');
is($s->{cat('social', 'granted')}, 2, 'social granted: 2');
is($s->{cat('analytics', 'granted')}, 17, 'analytics granted: 17');
is($s->{cat('analytics', 'refused')}, 9, 'analytics refused: 9');

$r = $t->request('POST', '/metrics', 'x');
is($r->{status}, 405, 'POST to the status: 405');

# nginx -t

sub fails_with {
    my ($http, $re, $name) = @_;
    my ($rc, $out) = $t->test_config($http);
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: says why") or diag($out);
    like($out, qr{ in \Q${\ $t->prefix}\E/conf/test\.conf:\d+},
         "$name: names file:line");
}

for ([ 'consent_status; consent_status;',
       qr/"consent_status" directive is duplicate: one "consent_status" per location/,
       'consent_status twice' ],
     [ 'consent_endpoint; consent_status;',
       qr/"consent_status" needs a location of its own/,
       'consent_status in the endpoint' ],
     [ 'consent_status; consent_endpoint;',
       qr/"consent_endpoint" needs a location of its own/,
       'consent_endpoint after consent_status' ])
{
    my ($directives, $re, $name) = @$_;
    fails_with("consent_secret secret.key;\n" . $categories
               . "server { listen 127.0.0.1:%%PORT%%;\n"
               . "location /consent/ { $directives }\n}\n", $re, $name);
}

$t->stop;
$t->check_log;

done_testing();
