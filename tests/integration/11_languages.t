#!/usr/bin/perl

# The built-in languages (ui/texts/*.json): every language of the issue is
# there, each file is valid UTF-8 and JSON, has every key of en.json and no
# other, keeps en's placeholders, has no English left in it, and quotes the
# category's name with its own quotation marks.  Then a real nginx serves
# each of them from the module (embedded, no file on disk) with lang= and,
# for Arabic and Hebrew, dir="rtl"; the banner speaks the page's language
# (<html lang>) before the reader's Accept-Language, and the consent log
# records the language and texts the banner was shown in.

use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode FB_CROAK);
use JSON::PP;
use ConsentTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $root = "$FindBin::Bin/../..";

# the official EU languages, then the others the module ships
my @eu = qw(bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro
            sk sl sv);
my @more = qw(ca eu gl nb is tr uk ar he ja ko zh);
my %rtl = map { $_ => 1 } qw(ar he);

# the quotation marks around "{name}" in categories.*.description
my %quotes = (
    bg => '„“', cs => '„“', da => '»«', de => '„“', el => '«»', en => '“”',
    es => '«»', et => '„“', fi => '””', fr => "«\x{a0}\x{a0}»",
    ga => '“”', hr => '„“', hu => '„”', it => '«»', lt => '„“', lv => '„“',
    mt => '“”', nl => '‘’', pl => '„”', pt => '«»', ro => '„”', sk => '„“',
    sl => '»«', sv => '””', ca => '«»', eu => '«»', gl => '«»', nb => '«»',
    is => '„“', tr => '“”', uk => '«»', ar => '«»', he => '""', ja => '「」',
    ko => '“”', zh => '“”',
);

# a value may equal the English one only here: a bare placeholder, and the
# loanword "Cookies" where the language's regulator uses it as such
my %same = (
    'categories.*.title' => { map { $_ => 1 } @eu, @more },
    'cookies' => { map { $_ => 1 } qw(da de el es gl mt nl pt) },
    'cookie_name' => { map { $_ => 1 }
                       qw(da de el es fr gl it ja mt nl pt ro zh) },
);

sub slurp {
    open my $fh, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

# every string of a texts object, by its dotted key
sub leaves {
    my ($v, $prefix, $out) = @_;
    for my $k (sort keys %$v) {
        if (ref $v->{$k} eq 'HASH') {
            leaves($v->{$k}, "$prefix$k.", $out);
        } else {
            $out->{"$prefix$k"} = $v->{$k};
        }
    }
    return $out;
}

sub placeholders {
    return join ' ', sort $_[0] =~ /\{[a-z_]+\}/g;
}


my %have = map { m{/([^/]+)\.json$} ? ($1 => 1) : () }
           glob("$root/ui/texts/*.json");

is_deeply([sort keys %have], [sort @eu, @more],
          'ui/texts has every language of the issue, and only those')
    or diag(join ' ', sort keys %have);

my $json = JSON::PP->new;
my %texts;

for my $lang (sort keys %have) {
    my $bytes = slurp("$root/ui/texts/$lang.json");
    my $str = eval { decode('UTF-8', $bytes, FB_CROAK) };
    ok(defined $str, "$lang: valid UTF-8") or next;
    unlike($str, qr/[\x{d800}-\x{dfff}\x{fffd}]/, "$lang: no replacement "
           . "characters or surrogates");
    my $v = eval { $json->decode($str) };
    ok(ref $v eq 'HASH', "$lang: a JSON object") or diag($@);
    $texts{$lang} = leaves($v, '', {}) if ref $v eq 'HASH';
}

my $en = $texts{en} or die('en.json does not load');

# "durations": the CLDR plural categories each language has for whole
# numbers (plurals.xml: "many" is the millions in ca, es, fr, it and
# pt, "un million de jours"), "other" in every language as the module's
# fallback; a string alone where the word never changes
my %plurals = (
    (map { $_ => [qw(one other)] }
     qw(bg da de el en et eu fi gl hu is nb nl sv tr)),
    (map { $_ => [qw(one many other)] } qw(ca es fr it pt)),
    (map { $_ => [qw(other)] } qw(ja ko zh)),
    (map { $_ => [qw(one few other)] } qw(cs sk hr lt ro)),
    (map { $_ => [qw(one few many other)] } qw(pl uk)),
    sl => [qw(one two few other)],
    lv => [qw(zero one other)],
    mt => [qw(one two few many other)],
    ga => [qw(one two few many other)],
    ar => [qw(zero one two few many other)],
    he => [qw(one two other)],
);

# a form may be as in English where the word is: "minute" in French,
# Croatian, Romanian and Slovenian
my %same_duration = map { $_ => qr/^durations\.minute\./ } qw(fr hr ro sl);

sub duration_problems {
    my ($lang, $t) = @_;
    my @p;
    my @units = sort map { /^durations\.([a-z]+)/ ? $1 : () } keys %$en;
    my %units = map { $_ => 1 } @units;
    my $cats = $plurals{$lang} or return ("no plural categories known for $lang");

    for my $u (sort keys %units) {
        my $k = "durations.$u";
        my @forms = sort grep { index($_, "$k.") == 0 } keys %$t;

        if (defined $t->{$k}) {
            push @p, "$k is empty" if $t->{$k} !~ /\S/;
            push @p, "$k lacks {n}"
                if $u ne 'session' && placeholders($t->{$k}) ne '{n}';
            next;
        }

        if ($u eq 'session' || !@forms) {
            push @p, "$k is missing";
            next;
        }

        my @want = map { "$k.$_" } @$cats;
        push @p, "$k has the forms " . join(' ', map { s/.*\.//r } @forms)
                 . ", $lang has " . join(' ', @$cats)
            if join(' ', @forms) ne join(' ', sort @want);

        for my $f (@forms) {
            push @p, "$f is empty" if $t->{$f} !~ /\S/;
            push @p, "$f has placeholders \"" . placeholders($t->{$f})
                     . '", only {n} may be there'
                if placeholders($t->{$f}) !~ /^(\{n\})?$/;
            push @p, "$f lacks {n}"
                if $f =~ /\.other$/ && placeholders($t->{$f}) ne '{n}';
            push @p, "$f is in English: \"$t->{$f}\""
                if $lang ne 'en' && grep({ $t->{$f} eq $en->{$_} }
                                         grep { /^\Q$k\E/ } keys %$en)
                   && !($same_duration{$lang} && $f =~ $same_duration{$lang});
        }
    }

    for my $k (sort grep { /^durations\./ } keys %$t) {
        my ($u) = $k =~ /^durations\.([a-z]+)/;
        push @p, "$k is not a duration of en.json" unless $units{$u};
    }

    return @p;
}

# the checks below can fail: a file with English in it, a missing key, a
# lost placeholder, must each be caught
sub problems {
    my ($lang, $t) = @_;
    my @p = duration_problems($lang, $t);

    for my $k (sort grep { !/^durations\./ } keys %$en) {
        if (!defined $t->{$k}) {
            push @p, "$k is missing";
            next;
        }

        push @p, "$k is empty" if $t->{$k} !~ /\S/;
        push @p, "$k has placeholders \"" . placeholders($t->{$k})
                 . "\", en has \"" . placeholders($en->{$k}) . '"'
            if placeholders($t->{$k}) ne placeholders($en->{$k});
        push @p, "$k is in English: \"$t->{$k}\""
            if $lang ne 'en' && $t->{$k} eq $en->{$k}
               && !$same{$k}{$lang};
        push @p, "$k has markup or a straight apostrophe"
            if $t->{$k} =~ /[<>&]|(?<=\w)'(?=\w)/;
    }

    for my $k (sort grep { !/^durations\./ } keys %$t) {
        push @p, "$k is not a key of en.json" unless exists $en->{$k};
    }

    # an English sentence left inside a translation
    if ($lang ne 'en') {
        for my $k (sort keys %$en) {
            for my $s (split /(?<=[.:])\s+/, $en->{$k}) {
                next if length $s < 12;
                for my $tk (sort keys %$t) {
                    push @p, "$tk contains the English \"$s\""
                        if index($t->{$tk}, $s) >= 0;
                }
            }
        }
    }

    my $q = $quotes{$lang};
    my $d = $t->{'categories.*.description'} // '';
    if (defined $q) {
        my ($open, $close) = length $q == 2 ? split(//, $q)
                             : (substr($q, 0, 2), substr($q, 2, 2));
        push @p, "categories.*.description does not quote {name} as "
                 . "$open\{name}$close: \"$d\""
            if index($d, "$open\{name}$close") < 0;
    } else {
        push @p, "no quotation marks known for $lang";
    }

    return @p;
}

{
    my %bad = %{ $texts{de} };
    $bad{accept_all} = $en->{accept_all};
    $bad{'categories.*.description'} =~ s/\{name\}/{naam}/;
    delete $bad{back};
    $bad{banner_body} .= ' ' . (split /(?<=\.)\s+/, $en->{banner_body})[1];
    my @p = problems('de', \%bad);
    is(scalar(grep { /^accept_all is in English/ } @p), 1,
       'the check finds a text left in English');
    is(scalar(grep { /^categories\.\*\.description has placeholders/ } @p),
       1, 'the check finds a lost placeholder');
    is(scalar(grep { /^back is missing/ } @p), 1,
       'the check finds a missing key');
    is(scalar(grep { /^banner_body contains the English/ } @p), 1,
       'the check finds an English sentence inside a translation');

    %bad = %{ $texts{pl} };
    delete $bad{'durations.day.many'};
    $bad{'durations.year.other'} = 'lat';
    $bad{'durations.hour.few'} = $en->{'durations.hour.other'};
    @p = problems('pl', \%bad);
    is(scalar(grep { /^durations\.day has the forms few one other, pl has one few many other/ } @p), 1,
       'the check finds a plural form missing');
    is(scalar(grep { /^durations\.year\.other lacks \{n\}/ } @p), 1,
       'the check finds a form without its number');
    is(scalar(grep { /^durations\.hour\.few is in English/ } @p), 1,
       'the check finds a duration left in English');
}

for my $lang (sort keys %texts) {
    my @p = problems($lang, $texts{$lang});
    is_deeply(\@p, [], "$lang: every key, en's placeholders, no English, "
              . "its own quotation marks") or diag(join "\n", @p);
}

# French typography: a no-break space before the high punctuation
unlike(join("\n", values %{ $texts{fr} }), qr/ [:;!?»]|« /,
       'fr: no ordinary space before : ; ! ? or inside « »');

# the banner's start tag and its language
my $banner_re = qr{<div class="consent consent-banner"[^>]* lang="([^"]*)"};

# --- served by nginx, from the module itself --------------------------------

my $t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_category video;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END

$t->write_file('html/en.html', "<!DOCTYPE html><html lang=\"en\"><head>"
               . "<title>x</title></head><body><p>Hi</p></body></html>\n");
$t->run;

sub html_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g;
    return $s;
}

sub utf8_bytes {
    return Encode::encode('UTF-8', $_[0]);
}

for my $lang (sort keys %texts) {
    my $tx = $texts{$lang};
    my $dir = $rtl{$lang} ? ' dir="rtl"' : '';

    my $r = $t->get('/consent/',
                    'Accept-Language' => "$lang;q=0.9, *;q=0.1");
    like($r->{body}, qr{^<!DOCTYPE html>\n<html lang="$lang"$dir>},
         "$lang: the preferences page has lang=\"$lang\"$dir");

    my $want = utf8_bytes(html_escape($tx->{page_title}));
    ok(index($r->{body}, "<h1>$want</h1>") >= 0,
       "$lang: the page is in that language");
    $want = utf8_bytes(html_escape($tx->{'categories.*.description'}));
    $want =~ s/\{name\}/video/;
    ok(index($r->{body}, $want) >= 0,
       "$lang: a category without texts gets the \"*\" text");

    $r = $t->get('/en.html', 'Accept-Language' => $lang);
    # the page says en: the page's language wins over the reader's
    my ($got) = $r->{body} =~ /$banner_re/;
    is($got // '(no banner)', 'en',
       "$lang reader, English page: the banner is in English");
}

$t->stop;
$t->check_log;

# --- the page's language: <html lang> before Accept-Language ----------------

$t = ConsentTest->new(http => <<'END');
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_log %%PREFIX%%/logs/consent.log;

    server {
        listen 127.0.0.1:%%PORT%%;
        root %%PREFIX%%/html;
        consent on;
        location /consent/ { consent_endpoint; }

        location /split/ {
            proxy_pass http://127.0.0.1:%%PORT2%%/;
            proxy_buffering off;
            proxy_buffer_size 1k;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        root %%PREFIX%%/html;
        sendfile off;
        output_buffers 1 97;
        limit_rate 64k;
    }
END

my %pages = (
    'fr' => '<html lang="fr">',
    'fr-ca' => '<html lang="fr-CA">',
    'upper' => '<HTML LANG="DE">',
    'single' => "<html dir=ltr lang='it' class=x>",
    'bare' => '<html lang=pl>',
    'none' => '<html>',
    'empty' => '<html lang="">',
    'unknown' => '<html lang="sw">',
    'garbage' => '<html lang="fr, de">',
    'he' => '<html lang="he" dir="rtl">',
    'comment' => '<!-- <html lang="fr"> --><html lang="nl">',
    'long' => '<html class="' . ('c ' x 1500) . '" lang="fi">',
    'nohtml' => '',
);

for my $name (keys %pages) {
    $t->write_file("html/$name.html", "<!DOCTYPE html>$pages{$name}<head>"
                   . "<title>x</title></head><body><p>Text</p></body>"
                   . "</html>\n");
}

$t->run;

sub banner_lang {
    my ($path, @headers) = @_;
    my $r = $t->get($path, @headers);
    return $r->{body} =~ /$banner_re( dir="rtl")?>/
        ? $1 . ($2 // '') : '(no banner)';
}

my $fr_accept = utf8_bytes(html_escape($texts{fr}{accept_all}));
my $r = $t->get('/fr.html', 'Accept-Language' => 'en');
like($r->{body}, qr{<div class="consent consent-banner"[^>]* lang="fr">},
     '<html lang="fr">, Accept-Language: en: a French banner');
ok(index($r->{body}, ">$fr_accept</button>") >= 0,
   'and its texts are the French ones');

is(banner_lang('/fr.html'), 'fr', '<html lang="fr">, no Accept-Language');
is(banner_lang('/fr-ca.html', 'Accept-Language' => 'de'), 'fr',
   'lang="fr-CA": French');
is(banner_lang('/upper.html', 'Accept-Language' => 'en'), 'de',
   'LANG="DE": case does not matter');
is(banner_lang('/single.html', 'Accept-Language' => 'en'), 'it',
   'single quotes, other attributes first');
is(banner_lang('/bare.html', 'Accept-Language' => 'en'), 'pl',
   'an unquoted value');
is(banner_lang('/he.html', 'Accept-Language' => 'en'), 'he dir="rtl"',
   'lang="he": Hebrew, right to left');
is(banner_lang('/comment.html', 'Accept-Language' => 'en'), 'nl',
   'an <html> in a comment is not the page\'s');
is(banner_lang('/long.html', 'Accept-Language' => 'en'), 'fi',
   'a long <html> tag');

is(banner_lang('/split/fr.html', 'Accept-Language' => 'en'), 'fr',
   'through a proxy, in small buffers');
is(banner_lang('/split/long.html', 'Accept-Language' => 'en'), 'fi',
   'a long <html> tag cut across buffers');

is(banner_lang('/none.html', 'Accept-Language' => 'de'), 'de',
   'no lang: the reader\'s Accept-Language');
is(banner_lang('/nohtml.html', 'Accept-Language' => 'de'), 'de',
   'no <html> tag: Accept-Language');
is(banner_lang('/empty.html', 'Accept-Language' => 'de'), 'de',
   'lang="": Accept-Language');
is(banner_lang('/unknown.html', 'Accept-Language' => 'it'), 'it',
   'a page language without texts: Accept-Language');
is(banner_lang('/unknown.html'), 'en',
   'a page language without texts, no Accept-Language: the default');
is(banner_lang('/garbage.html', 'Accept-Language' => 'de'), 'de',
   'lang="fr, de" is not a language tag: Accept-Language');

# the consent log records the language the banner was shown in, and the
# hash of those texts, not those of Accept-Language
like($r->{body}, qr{<input type="hidden" name="lang" value="fr">},
     'the banner\'s form carries its language');

sub logged {
    my ($body) = @_;
    my $json_body = $body =~ /^\{/;
    my $res = $json_body
        ? $t->post_json('/consent/', $body, 'Accept-Language' => 'en')
        : $t->post_form('/consent/', $body, 'Accept-Language' => 'en');
    is($res->{status}, $json_body ? 200 : 303, "POST $body: recorded");
    my @lines = split /\n/, $t->read_file('logs/consent.log');
    my $rec = $json->decode($lines[-1]);
    return $rec;
}

my $rec = logged('action=reject_all&source=banner&lang=fr&return=%2Ffr.html');
is($rec->{lang}, 'fr', 'from a French page: the record says fr');
# the policy records: a few languages in each, every language in one
my %text_hash = map { %{ $_->{text_hash} } } grep { $_->{type} eq 'policy' }
    map { $json->decode($_) } split /\n/, $t->read_file('logs/consent.log');
is($rec->{text_hash}, $text_hash{fr},
   'and names the hash of the French texts');
is(logged('action=reject_all&source=banner&lang=fr-CA')->{lang}, 'fr',
   'lang=fr-CA: fr');
is(logged('action=reject_all&source=banner&lang=sw')->{lang}, 'en',
   'lang=sw (no texts): Accept-Language');
is(logged('action=reject_all&source=banner&lang=%3Cb%3E')->{lang}, 'en',
   'lang=<b>: not a language tag, ignored');
is(logged('action=reject_all&source=page')->{lang}, 'en',
   'no lang (the preferences page): Accept-Language');

# consent.js posts JSON: the same
is(logged('{"action":"reject_all","source":"banner","lang":"fr"}')->{lang},
   'fr', 'JSON with "lang": "fr": fr');
is(logged('{"action":"save","categories":["analytics"],"source":"banner",'
          . '"lang":"de-AT"}')->{lang}, 'de', 'JSON, lang de-AT: de');
is(logged('{"action":"reject_all","lang":"<b>"}')->{lang}, 'en',
   'JSON, a lang that is not a tag: Accept-Language');
is(logged('{"action":"reject_all","lang":7}')->{lang}, 'en',
   'JSON, a lang that is not a string: Accept-Language');

# the preferences page is not a page with <html lang>: Accept-Language
is(banner_lang('/fr.html', 'Accept-Language' => 'es'), 'fr',
   'the page wins over any reader language');
like($t->get('/consent/', 'Accept-Language' => 'es')->{body},
     qr{<html lang="es">}, 'the preferences page follows Accept-Language');

$t->stop;
$t->check_log;

done_testing();
