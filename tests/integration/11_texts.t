#!/usr/bin/perl

# consent_texts and consent_language: an operator's texts are validated at
# nginx -t (missing key, bad JSON, invalid UTF-8, unreadable directory: each
# fails with file:line and the fix), and the language is picked from
# Accept-Language with consent_language as the fallback.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest;

my $root = "$FindBin::Bin/../..";

sub slurp {
    open my $fh, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

my $en = slurp("$root/ui/texts/en.json");

my $t = ConsentTest->new;
my $p = $t->prefix;

my $server = <<'END';
    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

my $base = <<'END';
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
END

sub texts_dir {
    my ($name, %files) = @_;
    mkdir "$p/conf/$name";
    $t->write_file("conf/$name/$_", $files{$_}) for keys %files;
    return $name;
}

sub fails_with {
    my ($http, $re, $name) = @_;
    my ($rc, $out) = $t->test_config($http);
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, $re, "$name: says why and what to do") or diag($out);
    like($out, qr{ in \Q$p\E/conf/test\.conf:\d+}, "$name: names file:line");
}

# a good directory passes
my $de = $en =~ s/"Accept all"/"Alle akzeptieren"/r;
texts_dir('good', 'de.json' => $de, 'README' => 'not json');
my ($rc, $out) = $t->test_config($base . "consent_texts good;\n" . $server);
is($rc, 0, 'a good texts directory passes') or diag($out);

# a missing key
(my $missing = $en) =~ s/\s*"reject_all": "[^"]*",//;
texts_dir('missing', 'de.json' => $missing);
fails_with($base . "consent_texts missing;\n" . $server,
           qr{texts file ".*/missing/de\.json": "reject_all" is missing: the built-in ui/texts/en\.json shows every key}, 'missing key');

# durations: the key of before, a unit missing, a form that is no plural
# category, a form that is not a string
(my $old = $en) =~ s/\n    "durations": \{/\n    "cookie_consent_duration": "{days} days",$&/;
texts_dir('oldkey', 'de.json' => $old);
fails_with($base . "consent_texts oldkey;\n" . $server,
           qr{"cookie_consent_duration" is no longer read: say the consent cookie's duration in "durations", with a form for each plural}, 'the key of before');

(my $noday = $en) =~ s/\n        "day": [^\n]*//;
texts_dir('noday', 'de.json' => $noday);
fails_with($base . "consent_texts noday;\n" . $server,
           qr{"durations\.day" is missing}, 'a duration missing');

(my $several = $en) =~ s/("day": \{ )"one"/$1"several"/;
texts_dir('several', 'de.json' => $several);
fails_with($base . "consent_texts several;\n" . $server,
           qr{"durations\.day" has a form that is not "zero", "one", "two", "few", "many" or "other"}, 'a form of no plural');

(my $noother = $en) =~ s/("day": \{ "one": "[^"]*"), "other": "[^"]*"/$1/;
texts_dir('noother', 'de.json' => $noother);
fails_with($base . "consent_texts noother;\n" . $server,
           qr{"durations\.day" must be a non-empty string, or an object of plural forms .* with "other"}, 'no "other"');

(my $notobj = $en) =~ s/"durations": \{/"durations": ["x"], "unused": {/;
texts_dir('durarray', 'de.json' => $notobj);
fails_with($base . "consent_texts durarray;\n" . $server,
           qr{"durations" must be an object}, 'durations not an object');

# an operator's file without durations takes its language's built-in ones
(my $nodur = $en) =~ s/\n    "durations": \{.*?\n    \},//s;
texts_dir('nodur', 'pl.json' => $nodur);
($rc, $out) = $t->test_config($base . "consent_texts nodur;\n" . $server);
is($rc, 0, 'a texts file without durations passes') or diag($out);

# an empty string, a category without description, no "*"
(my $empty = $en) =~ s/"Accept all"/""/;
texts_dir('empty', 'de.json' => $empty);
fails_with($base . "consent_texts empty;\n" . $server,
           qr{"accept_all" must be a non-empty string}, 'empty string');

(my $nodesc = $en) =~ s/("title": "Advertising"),\s*"description": "[^"]*"/$1/;
texts_dir('nodesc', 'de.json' => $nodesc);
fails_with($base . "consent_texts nodesc;\n" . $server,
           qr{"marketing" lacks "title" or "description"}, 'no description');

(my $nostar = $en) =~ s/,\s*"\*": \{.*?\n        \}//s;
texts_dir('nostar', 'de.json' => $nostar);
fails_with($base . "consent_texts nostar;\n" . $server,
           qr{"categories\.\*" is missing}, 'no fallback category');

# bad JSON, with the line of the mistake
(my $bad = $en) =~ s/"save": "Save my choices",/"save": "Save my choices"/;
texts_dir('badjson', 'de.json' => $bad);
fails_with($base . "consent_texts badjson;\n" . $server,
           qr{texts file ".*/badjson/de\.json" is not valid JSON at line 9, column \d+: .*: fix the syntax}, 'bad JSON');

texts_dir('notobj', 'de.json' => '["a"]');
fails_with($base . "consent_texts notobj;\n" . $server,
           qr{must be an object}, 'not an object');

# invalid UTF-8: a Latin-1 byte, an overlong form, a surrogate
for my $case (['latin1', "caf\xe9"], ['overlong', "\xc0\xaf"],
              ['surrogate', "\xed\xa0\x80"])
{
    my ($name, $bytes) = @$case;
    (my $u = $en) =~ s/Your choice about cookies/$bytes/;
    texts_dir("utf8$name", 'de.json' => $u);
    fails_with($base . "consent_texts utf8$name;\n" . $server,
               qr{texts file ".*/utf8$name/de\.json" is not valid UTF-8 at line 2: save it with the UTF-8 encoding},
               "invalid UTF-8 ($name)");
}

# a directory that is not there, or not readable, or empty
fails_with($base . "consent_texts nowhere;\n" . $server,
           qr{opendir\(\) ".*/conf/nowhere" failed.*make it a directory nginx can read}, 'no directory');

texts_dir('nojson', 'README' => 'x');
fails_with($base . "consent_texts nojson;\n" . $server,
           qr{no texts in ".*/nojson": add one file per language},
           'no json file');

# root reads a directory of mode 0000: a file in place of the directory
$t->write_file('conf/afile', 'x');
fails_with($base . "consent_texts afile;\n" . $server,
           qr{opendir\(\) ".*/conf/afile" failed.*make it a directory nginx can read.*Not a directory},
           'not a directory');

mkdir "$p/conf/dirjson";
mkdir "$p/conf/dirjson/de.json";
fails_with($base . "consent_texts dirjson;\n" . $server,
           qr{texts file ".*/dirjson/de\.json" is not a regular file},
           'a directory named de.json');

if ($> != 0) {
    texts_dir('unreadable', 'de.json' => $de);
    chmod 0000, "$p/conf/unreadable/de.json";
    fails_with($base . "consent_texts unreadable;\n" . $server,
               qr{de\.json" failed.*make the texts file readable},
               'unreadable file');
}

texts_dir('badname', 'de_DE.json' => $de);
fails_with($base . "consent_texts badname;\n" . $server,
           qr{the name must be a language tag and "\.json", such as},
           'bad file name');

fails_with($base . "consent_texts good;\nconsent_texts good;\n" . $server,
           qr{"consent_texts" directive is duplicate}, 'duplicate');

# consent_language needs texts in that language
($rc, $out) = $t->test_config($base . "consent_language sw;\n" . $server);
isnt($rc, 0, 'consent_language without texts fails');
like($out, qr{"consent_language sw": there are no texts in that language: use a built-in one \(docs/operators\.md lists them\), or add sw\.json}, 'and says what to do')
    or diag($out);

($rc, $out) = $t->test_config($base . "consent_texts good;\n"
                              . "consent_language de;\n" . $server);
is($rc, 0, 'consent_language of an operator language passes') or diag($out);

# --- the language a reader gets ---------------------------------------------

(my $fr2 = slurp("$root/ui/texts/fr.json")) =~ s/Tout accepter/Accepter tout/;

$t = ConsentTest->new(http => $base . <<'END');
    consent_texts texts;
    consent_language fr;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

$t->write_file('conf/texts/de.json', $de);
$t->write_file('conf/texts/fr.json', $fr2);
$t->write_file('conf/texts/ar.json', $en);
$t->run;

sub lang_of {
    my ($al) = @_;
    my $r = defined $al ? $t->get('/consent/', 'Accept-Language' => $al)
                        : $t->get('/consent/');
    return $r->{body} =~ /<html lang="([^"]+)"/ ? $1 : '?';
}

is(lang_of(undef), 'fr', 'no Accept-Language: the consent_language fallback');
is(lang_of('fr-FR,fr;q=0.9'), 'fr', 'fr-FR,fr;q=0.9: French');
is(lang_of('en-US,en;q=0.9'), 'en', 'en-US: English');
is(lang_of('de'), 'de', 'de: the operator\'s German');
is(lang_of('DE-at'), 'de', 'de-AT: German, case-insensitive');
is(lang_of('sw, en;q=0.5, de;q=0.6'), 'de', 'q-values honoured');
is(lang_of('en;q=0, de;q=0'), 'fr', 'q=0 excludes, fallback');
is(lang_of('en;q=0, *'), 'fr', '* gives the fallback');
is(lang_of('de;q=0, *;q=0.1'), 'fr', 'q=0 and *');
is(lang_of('sw'), 'fr', 'an unknown language: the fallback');
is(lang_of('x' x 5000 . ',de'), 'fr', 'a huge header is cut, not parsed');

my $r = $t->get('/consent/', 'Accept-Language' => 'de');
like($r->{body}, qr{>Alle akzeptieren</button>}, 'the German text is used');
$r = $t->get('/consent/', 'Accept-Language' => 'fr');
like($r->{body}, qr{>Accepter tout</button>},
     'an operator file overrides the built-in language');
$r = $t->get('/consent/', 'Accept-Language' => 'en');
like($r->{body}, qr{>Accept all</button>}, 'built-in English is still there');

# a language written right to left gets dir="rtl"
like($t->get('/consent/', 'Accept-Language' => 'ar-EG')->{body},
     qr{^<!DOCTYPE html>\n<html lang="ar" dir="rtl">}, 'Arabic: dir="rtl"');
like($t->get('/consent/', 'Accept-Language' => 'de')->{body},
     qr{^<!DOCTYPE html>\n<html lang="de">}, 'German: no dir');

$t->stop;
$t->check_log;

done_testing();
