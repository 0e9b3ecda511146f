#!/usr/bin/perl

# consent_cookie_info through a real nginx: the preferences page lists each
# category's cookies with purpose, duration and who sets and reads them
# (the catalogue's, from trackers.conf; the operator's, which override it;
# the site's own), every operator text escaped; the banner keeps its short
# list; the consent log's policy record carries the same list; a bad line
# fails nginx -t with file:line and the fix.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest;
use JSON::PP;

my $root = "$FindBin::Bin/../..";
my $catalogue = "$root/conf/trackers.conf";

my $audit = "$ConsentTest::BUILD/consent-audit";
ok(-x $audit, 'consent-audit is built') or die "no $audit\n";

my $categories = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_category_alias analytics replay abtest;
    consent_category_alias marketing advertising social video maps;
END

my $t = ConsentTest->new(http => $categories . <<"END");
    consent_languages en fr;
    include $catalogue;

    # the operator's: an override of the catalogue, a cookie of their own
    # listed under a category, one with text to escape
    consent_cookie_info _gid "purpose=Counts <b>visits</b> & \\"pages\\""
                             "duration=1 day"
                             "controller=Example & Co"
                             "policy=https://example.com/privacy?a=1&b=\\"2";
    consent_cookie_info session "purpose=Keeps you signed in"
                                "duration=until the browser closes"
                                category=necessary;
    consent_cookie_info consent "purpose=Remembers your choice"
                                "duration=6 months";

    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem
                checkpoint_interval=200ms;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;

        # again, as a server with rules of its own does: the catalogue's
        # lines do not replace the operator's
        include $catalogue;

        location /consent/ { consent_endpoint; }
    }
END

my $p = $t->prefix;
mkdir "$p/keys";
chmod 01777, "$p/logs";
system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed";
$t->write_file('html/index.html', "<html><body><p>hi</p></body></html>\n");
$t->run;

# --- the preferences page -----------------------------------------------

my $r = $t->get('/consent/');
is($r->{status}, 200, 'preferences page: 200');
my $body = $r->{body};

like($body, qr{<th scope="col">Cookie</th><th scope="col">Purpose</th><th scope="col">Duration</th><th scope="col">Set and read by</th>},
     'a table with a header per column');

like($body, qr{<tr><th scope="row"><code>_ga</code></th><td>ID used to identify users</td><td>2 years</td><td><a href="https://business\.safety\.google/privacy/" rel="noopener">Google</a></td></tr>},
     'a catalogue cookie: purpose, duration, the controller linked');

like($body, qr{<tr><th scope="row"><code>_gid</code></th><td>Counts &lt;b&gt;visits&lt;/b&gt; &amp; &quot;pages&quot;</td><td>1 day</td><td><a href="https://example\.com/privacy\?a=1&amp;b=&quot;2" rel="noopener">Example &amp; Co</a></td></tr>},
     'the operator overrides the catalogue, every text escaped');
unlike($body, qr{<b>visits}, 'no operator markup reaches the page');
unlike($body, qr{ID used to identify users for 24 hours},
       'the catalogue\'s _gid is replaced');

like($body, qr{<code>consent</code></th><td>Remembers your choice</td><td>6 months</td><td>This site</td>},
     'the consent cookie: the site itself');
like($body, qr{<code>session</code></th><td>Keeps you signed in</td><td>until the browser closes</td><td>This site</td>},
     'a cookie of the operator\'s, under the category it names');
like($body, qr{<p id="consent-k0">Cookies: <code>consent</code>, <code>session</code></p><div class="consent-cookies"><table aria-labelledby="consent-k0">},
     'necessary: the names, then the table labelled by them');

like($body, qr{<tr><th scope="row"><code>__utmx</code></th><td>[^<]+</td>},
     'a catalogue name');
like($body, qr{<tr><th scope="row"><code>_mkto_trk</code></th><td></td><td></td><td></td></tr>},
     'a cookie nothing is known of: its name only');

$r = $t->get('/consent/', 'Accept-Language' => 'fr');
like($r->{body}, qr{<th scope="col">Finalit\x{c3}\x{a9}</th><th scope="col">Dur\x{c3}\x{a9}e</th><th scope="col">D\x{c3}\x{a9}pos\x{c3}\x{a9} et lu par</th>.*<td>Ce site</td>}s,
     'in French');
like($r->{body}, qr{<code>_ga</code></th><td lang="en">ID used to identify users</td><td>2 ans</td>},
     'in French: the catalogue\'s English purpose marked as English');
like($r->{body}, qr{<code>_gid</code></th><td>Counts &lt;b&gt;},
     '... the operator\'s own as the page\'s language');
unlike($body, qr{<td lang=}, 'in English: nothing marked');

# the banner: its short list of categories, no table
$r = $t->get('/index.html');
like($r->{body}, qr{consent-banner}, 'the banner is there');
unlike($r->{body}, qr{<table|consent-cookies}, 'without the table');

# --- the consent log's policy record -------------------------------------

$r = $t->post_form('/consent/', 'action=accept_all&source=banner');
is($r->{status}, 303, 'a choice is recorded');

# the catalogue's cookies take many records: each fits a syslog message,
# the texts' records carry none, the others no texts and a slice each
my @policy = grep { /"type":"policy"/ }
             split /\n/, $t->read_file('logs/consent.log');
ok(@policy > 2, 'policy records: ' . scalar @policy);
ok(!(grep { length > 8192 } @policy), 'each under 8 KB');

my (%cat, @texts);
for my $rec (map { JSON::PP->new->decode($_) } @policy) {
    push @texts, $rec if %{ $rec->{texts} };
    for my $c (@{ $rec->{categories} }) {
        push @{ $cat{$c->{name}} }, @{ $c->{cookies} // [] };
    }
}
is(scalar @texts, 1, 'the texts in one record (two languages)');
ok(!(grep { exists $_->{cookies} } @{ $texts[0]{categories} }),
   'whose categories carry no cookies');

my %necessary = map { $_->{name} => $_ } @{ $cat{necessary} };
my %analytics = map { $_->{name} => $_ } @{ $cat{analytics} };
my %marketing = map { $_->{name} => $_ } @{ $cat{marketing} };

is_deeply([map { $_->{name} } @{ $cat{necessary} }],
          ['consent', 'session'], 'necessary: its cookies, in order');
my %seen;
ok(!(grep { $seen{$_->{name}}++ } @{ $cat{analytics} }),
   'each cookie once');
like($body, qr{<code>\Q$cat{marketing}[-1]{name}\E</code></th>},
     'the last of the records\' cookies is on the page');
is_deeply($necessary{session},
          { name => 'session', purpose => 'Keeps you signed in',
            duration => 'until the browser closes', controller => '',
            policy => '' }, 'the site\'s own cookie: no controller');
is_deeply($analytics{_ga},
          { name => '_ga', purpose => 'ID used to identify users',
            duration => '2 years', controller => 'Google',
            policy => 'https://business.safety.google/privacy/' },
          'a catalogue cookie, as the page shows it');
is($analytics{_gid}{purpose}, 'Counts <b>visits</b> & "pages"',
   'the operator\'s override, unescaped in JSON');
is_deeply($marketing{_mkto_trk}, { name => '_mkto_trk', purpose => '', duration => '',
                              controller => '', policy => '' },
          'a cookie nothing is known of');

sleep 1;                     # a checkpoint after the record
my $out = `$audit verify $p/logs/consent.log --pubkey $p/keys/log.pub.pem`;
is($? >> 8, 0, 'consent-audit verifies the log') or diag($out);

# consent-audit show: the reader's record, the texts, then the table of
# cookies their page had, gathered from the run of policy records
my ($id) = $t->read_file('logs/consent.log') =~ /"id":"([0-9a-f]{32})"/;
$out = `$audit show $id $p/logs/consent.log`;
is($? >> 8, 0, 'consent-audit show');
like($out, qr/^-- cookies listed, by category .*\nnecessary:\n  consent; Remembers your choice; 6 months; the site\n  session; Keeps you signed in; until the browser closes; the site\nanalytics:\n/m,
     'shows the cookies listed under each category, the site\'s own first');
like($out, qr{^  _ga; ID used to identify users; 2 years; Google \(https://business\.safety\.google/privacy/\)$}m,
     'a catalogue cookie, with its controller\'s policy');
like($out, qr{^  \Q$cat{marketing}[-1]{name}\E; }m,
     'down to the last cookie of the last policy record');
my $listed = () = $out =~ /^  \S+; /mg;
is($listed, scalar(map { @$_ } values %cat), 'every cookie of the records once');

# --- a small policy: its cookies in the texts' record ---------------------
# and an operator's texts file written before the keys of the table

my $t2 = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_languages en;
    consent_texts texts;
    consent_cookie max_age=30d;
    consent_strip_cookie analytics _ga;
    consent_cookie_info _ga purpose=Counts controller=Google;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $en = JSON::PP->new->utf8->decode(do {
    local $/;
    open my $fh, '<', "$root/ui/texts/en.json" or die $!;
    <$fh>;
});
delete $en->{$_} for qw(cookie_name cookie_purpose cookie_duration
                        cookie_provider cookie_first_party
                        cookie_consent_purpose cookie_consent_duration);
$en->{page_title} = 'Our cookies';
$t2->write_file('conf/texts/en.json', JSON::PP->new->utf8->encode($en));

my $p2 = $t2->prefix;
mkdir "$p2/keys";
system("$audit keygen $p2/keys >/dev/null") == 0 or die "keygen failed";
$t2->run;

$r = $t2->get('/consent/');
like($r->{body}, qr{<h1>Our cookies</h1>}, 'the operator\'s texts');
like($r->{body}, qr{<th scope="col">Purpose</th>.*<code>consent</code></th><td>Remembers your choice about cookies, so that the banner does not ask again</td><td>30 days</td><td>This site</td>.*<code>_ga</code></th><td>Counts</td><td></td><td>Google</td>}s,
     'the keys it lacks from the built-in English; the consent cookie '
     . 'described by the module, kept max_age; a controller without a '
     . 'policy unlinked');

$t2->post_form('/consent/', 'action=reject_all&source=banner');
@policy = grep { /"type":"policy"/ }
          split /\n/, $t2->read_file('logs/consent.log');
is(scalar @policy, 1, 'a small policy: one record') or diag(join "\n", @policy);
my $rec = JSON::PP->new->decode($policy[0] // '{}');
is_deeply([map { [$_->{name}, map { $_->{name} } @{ $_->{cookies} }] }
           @{ $rec->{categories} }],
          [['necessary', 'consent'], ['analytics', '_ga']],
          'with the texts and the cookies');
is_deeply($rec->{categories}[0]{cookies}[0],
          { name => 'consent',
            purpose => 'Remembers your choice about cookies, so that the '
                       . 'banner does not ask again',
            duration => '30 days', controller => '', policy => '' },
          'the consent cookie as the module describes it, in English');

# --- several sites, several lists -----------------------------------------
# one nginx, one consent log: a server with strip rules of its own shows
# other cookies on its preferences page; the policy has that list too
# ("list":1, once for two servers with the same rules), its consent
# records name it, and consent-audit show prints the reader's own table

my $sites = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_languages en;
    consent_strip_cookie analytics _ga;
    consent_cookie_info _fbp purpose=Ads controller=Meta;
    consent_log %%PREFIX%%/logs/consent.log sign=%%PREFIX%%/keys/log.pem
                checkpoint_interval=200ms;

    server {
        listen 127.0.0.1:%%PORT%%;
        server_name a.test;
        consent on;
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        server_name b.test;
        consent on;
        consent_strip_cookie marketing _fbp%%MORE%%;
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        server_name c.test;
        consent on;
        location /consent/ {
            consent_strip_cookie marketing _fbp%%MORE%%;
            consent_endpoint;
        }
    }
END

my $ts = ConsentTest->new(http => $sites =~ s/%%MORE%%//gr);
my $ps = $ts->prefix;
mkdir "$ps/keys";
system("$audit keygen $ps/keys >/dev/null") == 0 or die "keygen failed";
$ts->run;

my $ports = $ts->port;
my %page = map { $_ => $ts->get('/consent/', Host => "$_.test")->{body} }
           qw(a b c);
like($page{a}, qr{<code>_ga</code>}, 'a: the http block\'s cookie');
unlike($page{a}, qr{<code>_fbp</code>}, 'a: not b\'s');
like($page{b}, qr{<code>_fbp</code></th><td>Ads</td><td></td><td>Meta</td>},
     'b: its own cookie');
unlike($page{b}, qr{<code>_ga</code>}, 'b: its rules replace the http block\'s');
like($page{c}, qr{<code>_fbp</code>}, 'c: a location\'s rules');

for my $site (qw(a b c)) {
    my $r = $ts->request('POST', '/consent/', 'action=reject_all&source=banner',
        Host => "$site.test", Origin => "http://$site.test",
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 303, "$site: the choice is taken");
}

my @recs = map { JSON::PP->new->decode($_) }
           split /\n/, $ts->read_file('logs/consent.log');
my @lists = map { $_->{list} // 0 } grep { $_->{type} eq 'policy' } @recs;
is_deeply(\@lists, [0, 1], 'the policy: the http block\'s list, then one more')
    or diag(join ' ', @lists);
my ($l1) = grep { $_->{type} eq 'policy' && ($_->{list} // 0) == 1 } @recs;
is_deeply({ map { $_->{name} => [map { $_->{name} } @{ $_->{cookies} }] }
            @{ $l1->{categories} } },
          { necessary => ['consent'], analytics => [], marketing => ['_fbp'] },
          'list 1: b\'s and c\'s cookies');
ok(!exists $l1->{texts} || !%{ $l1->{texts} }, 'list 1: no texts');
my @named = map { [$_->{host}, $_->{cookie_list}] }
            grep { $_->{type} eq 'consent' } @recs;
is_deeply(\@named, [['a.test', undef], ['b.test', 1], ['c.test', 1]],
          'each consent names the list its page showed (none: list 0)');

sleep 1;
my $outs = `$audit verify $ps/logs/consent.log --pubkey $ps/keys/log.pub.pem`;
is($? >> 8, 0, 'consent-audit verifies the log') or diag($outs);

my ($cid_b) = map { $_->{id} } grep { $_->{type} eq 'consent'
                                      && $_->{host} eq 'b.test' } @recs;
$outs = `$audit show $cid_b $ps/logs/consent.log`;
like($outs, qr{-- list 1 of cookies:.*marketing:\n  _fbp; Ads; ; Meta}s,
     'consent-audit show: b\'s reader, b\'s table');
unlike($outs, qr{_ga;}, '... without the http block\'s cookie');

# a change in b's rules alone is a new policy
# (the POST after the old workers are gone: one of them would still
# record under the old policy)
my $master = $ts->pid;
my @old = map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
$ts->reload($sites =~ s/%%MORE%%/ _fbc/gr) or die "reload failed\n";
for (1 .. 100) {
    last unless grep { kill 0, $_ } @old;
    select undef, undef, undef, 0.1;
}
ok(!(grep { kill 0, $_ } @old), 'the old workers are gone');
my $more = $ts->get('/consent/', Host => 'b.test')->{body};
like($more, qr{<code>_fbc</code>}, 'b after the reload: the new cookie');
$ts->request('POST', '/consent/', 'action=accept_all&source=banner',
    Host => 'b.test', Origin => "http://b.test",
    'Content-Type' => 'application/x-www-form-urlencoded');
@recs = map { JSON::PP->new->decode($_) }
        split /\n/, $ts->read_file('logs/consent.log');
@lists = map { $_->{list} // 0 } grep { $_->{type} eq 'policy' } @recs;
is_deeply(\@lists, [0, 1, 0, 1], 'the new policy is written, both lists')
    or diag(join ' ', @lists);
$ts->stop;
$ts->check_log;

# --- durations in the reader's language -----------------------------------
# a number and a unit, or the session, as the catalogue writes them, in
# each language's plural (CLDR); any other text as written; the consent
# cookie's max_age in its largest unit, in the policy record in English

my $t3 = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_languages en fr pl ar;
    consent_cookie max_age=1d;
    consent_cookie_info _a purpose=A "duration=13 Months" category=analytics;
    consent_cookie_info _b purpose=B "duration=22 days" category=analytics;
    consent_cookie_info _c purpose=C "duration=5 years" category=analytics;
    consent_cookie_info _d purpose=D duration=Session category=analytics;
    consent_cookie_info _e purpose=E "duration=End of session (browser)"
                        category=analytics;
    consent_cookie_info _f purpose=F duration=Unknown category=analytics;
    consent_cookie_info _g purpose=G "duration=2 years after last activity"
                        category=analytics;
    consent_cookie_info _h purpose=H "duration=1 second" category=analytics;
    consent_cookie_info _i purpose=I "duration=1000000 days" category=analytics;
    consent_log %%PREFIX%%/logs/consent.log;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END
$t3->run;

sub durations {
    my ($lang) = @_;
    my $body = $t3->get('/consent/', 'Accept-Language' => $lang)->{body};
    my %d = $body =~ m{<tr><th scope="row"><code>([^<]+)</code></th><td>[^<]*</td><td>([^<]*)</td>}g;
    return \%d;
}

my $session = 'Until the browser is closed';
is_deeply(durations('en'),
          { consent => '1 day', _a => '13 months', _b => '22 days',
            _c => '5 years', _d => $session, _e => $session,
            _f => 'Unknown', _g => '2 years after last activity',
            _h => '1 second', _i => '1000000 days' },
          'English: one and other; the texts it cannot read as written');

$session = "Jusqu\x{e2}\x{80}\x{99}\x{c3}\x{a0} la fermeture du navigateur";
is_deeply(durations('fr'),
          { consent => '1 jour', _a => '13 mois', _b => '22 jours',
            _c => '5 ans', _d => $session, _e => $session,
            _f => 'Unknown', _g => '2 years after last activity',
            _h => '1 seconde', _i => '1000000 de jours' },
          'French: one, other, and many for millions');

like($t3->get('/consent/', 'Accept-Language' => 'fr')->{body},
     qr{<code>consent</code></th><td>Mémorise votre choix sur les cookies, pour que le bandeau ne vous le redemande pas</td><td>1 jour</td><td>Ce site</td>},
     'the consent cookie described in the reader\'s language');

my $pl = durations('pl');
is_deeply([@$pl{qw(consent _a _b _c _h)}],
          ["1 dzie\x{c5}\x{84}", "13 miesi\x{c4}\x{99}cy", '22 dni', '5 lat',
           '1 sekunda'],
          'Polish: one, many (13, 5) and few (22)');

my $ar = durations('ar');
is_deeply([@$ar{qw(consent _b _c)}],
          ["\x{d9}\x{8a}\x{d9}\x{88}\x{d9}\x{85} \x{d9}\x{88}\x{d8}\x{a7}\x{d8}\x{ad}\x{d8}\x{af}",
           "22 \x{d9}\x{8a}\x{d9}\x{88}\x{d9}\x{85}\x{d9}\x{8b}\x{d8}\x{a7}",
           "5 \x{d8}\x{b3}\x{d9}\x{86}\x{d9}\x{88}\x{d8}\x{a7}\x{d8}\x{aa}"],
          'Arabic: one without its number, many (22), few (5)');

$t3->post_form('/consent/', 'action=reject_all&source=banner');
my ($cookies) = grep { $_->{categories}[0]{cookies} }
                map { JSON::PP->new->decode($_) } grep { /"type":"policy"/ }
                split /\n/, $t3->read_file('logs/consent.log');
is_deeply([map { [$_->{name}, $_->{duration}] }
           @{ $cookies->{categories}[0]{cookies} }],
          [['consent', '1 day']],
          'the policy record: the consent cookie\'s max_age in English, '
          . 'singular');
is($cookies->{categories}[1]{cookies}[0]{duration}, '13 Months',
   'and the operator\'s duration as written');
$t3->stop;

# --- nginx -t ----------------------------------------------------------

my @bad = (
    [ 'consent_cookie_info _x duration=1d;',
      qr/"consent_cookie_info _x" has no purpose; add "purpose=\.\.\."/,
      'no purpose' ],
    [ 'consent_cookie_info _x purpose=a colour=red;',
      qr/invalid parameter "colour=red" in "consent_cookie_info"; use purpose=/,
      'an unknown parameter' ],
    [ 'consent_cookie_info _x purpose=a purpose=b;',
      qr/invalid parameter "purpose=b"/, 'a parameter twice' ],
    [ 'consent_cookie_info _x purpose=a policy=https://x.example/;',
      qr/"policy=" of "consent_cookie_info _x" needs "controller="/,
      'a policy without a controller' ],
    [ 'consent_cookie_info _x purpose=a controller=X policy=javascript:x;',
      qr/"policy=javascript:x" of "consent_cookie_info _x" is not a URL/,
      'a policy that is not a URL' ],
    [ 'consent_cookie_info a;b purpose=a;',
      qr/invalid|unexpected/, 'a name with a semicolon' ],
    [ 'consent_cookie_info "a b" purpose=a;',
      qr/invalid cookie name "a b" in "consent_cookie_info"/,
      'a name with a blank' ],
    [ 'consent_cookie_info _x purpose=a category=ads;',
      qr/unknown category "ads"/, 'an unknown category' ],
    [ "consent_cookie_info _x \"purpose=a\tb\";",
      qr/is not UTF-8 text without control characters/,
      'a control character' ],
    [ "consent_cookie_info _x \"purpose=\xff\";",
      qr/is not UTF-8 text/, 'not UTF-8' ],
);

for my $case (@bad) {
    my ($rc, $text) = $t->test_config($categories . "    $case->[0]\n");
    isnt($rc, 0, "nginx -t fails: $case->[2]");
    like($text, qr/$case->[1].*test\.conf:\d+/, "... naming the fix and file:line");
}

my ($rc, $text) = $t->test_config($categories
    . "    consent_cookie_info _x catalogue;\n");
isnt($rc, 0, 'nginx -t fails: catalogue and no purpose');
like($text, qr/"consent_cookie_info _x" has no purpose.*test\.conf:\d+/,
     '... naming the fix and file:line');

($rc, $text) = $t->test_config($categories
    . "    consent_cookie_info _x purpose=a catalogue;\n");
isnt($rc, 0, 'nginx -t fails: "catalogue" after the parameters');
like($text, qr/invalid parameter "catalogue"/, '... says which');

($rc, $text) = $t->test_config($categories
    . "    include $catalogue;\n    consent_cookie_info _ga purpose=mine;\n");
is($rc, 0, 'an override after the catalogue is accepted') or diag($text);

done_testing();
