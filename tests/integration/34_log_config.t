#!/usr/bin/perl

# consent_log at "nginx -t": each mistake fails with file:line and a
# sentence that says what to do.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ConsentTest;

my $audit = "$ConsentTest::BUILD/consent-audit";

my $t = ConsentTest->new;
my $p = $t->prefix;

mkdir "$p/keys";
system("$audit keygen $p/keys >/dev/null") == 0 or die "keygen failed";
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
       . "-out $p/keys/ec.pem 2>/dev/null") == 0 or die "openssl failed";
$t->write_file('keys/garbage.pem', "not a key\n", 0600);

sub conf {
    my ($log, $extra) = @_;
    $extra //= '';
    return <<"END";
    consent_secret secret.key;
    consent_category necessary required;
    $extra
    consent_log $log;

    server {
        listen 127.0.0.1:%%PORT%%;
        consent on;
        location /consent/ { consent_endpoint; }
    }
END
}

sub fails {
    my ($log, $re, $name, $extra) = @_;
    my ($rc, $out) = $t->test_config(conf($log, $extra));
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, qr/\[emerg\] .*$re.* in \Q$p\E\/conf\/test\.conf:\d+/,
         "$name: says why, with file:line") or diag($out);
}

my $log = "$p/logs/consent.log";

my ($rc, $out) = $t->test_config(conf("$log sign=$p/keys/log.pem"));
is($rc, 0, 'a good consent_log passes') or diag($out);

($rc, $out) = $t->test_config(conf("$log sign=$p/keys/log.pem ip=none"));
is($rc, 0, 'ip=none passes') or diag($out);

($rc, $out) = $t->test_config(conf('off'));
is($rc, 0, 'consent_log off passes') or diag($out);

($rc, $out) = $t->test_config(conf($log));
is($rc, 0, 'without sign= it passes');
like($out, qr/\[warn\] .*no sign=KEY\.pem/, 'with a warning');

fails("$log sign=$p/keys/missing.pem",
      qr/cannot read the key ".*missing\.pem"; make one with "openssl genpkey -algorithm ed25519/,
      'a missing key');

fails("$log sign=$p/keys/ec.pem", qr/is not an Ed25519 key; make one with/,
      'an EC key');

fails("$log sign=$p/keys/garbage.pem", qr/is not a PEM private key/,
      'not a key');

fails("$log sign=$p/keys/log.pub.pem", qr/is not a PEM private key/,
      'a public key');

fails("$log ip=partial", qr/invalid "consent_log" parameter "ip=partial": use ip=truncate/,
      'a bad ip=');

fails("$log colour=blue", qr/invalid "consent_log" parameter "colour=blue"/,
      'an unknown parameter');

fails("$log sign=", qr/needs a key file after "sign="/, 'an empty sign=');

fails("off ip=none", qr/takes no other parameter with "off"/,
      'off with parameters');

fails("$log", qr/is duplicate: "consent_log off" is already set/,
      'off, then a log', 'consent_log off;');

fails("$log sign=$p/keys/log.pem",
      qr/sign=".*log\.pem" differs from sign=".*other\.pem" set before/,
      'two keys', "consent_log syslog:server=127.0.0.1:9 sign=$p/keys/other.pem;")
    if system("cp $p/keys/log.pem $p/keys/other.pem") == 0;

fails("$log ip=none", qr/"ip=none" differs from the ip= set before/,
      'two ip=', "consent_log syslog:server=127.0.0.1:9 ip=hash;");

fails('syslog:nowhere', qr/syslog/, 'a bad syslog address');

chmod 0644, "$p/keys/log.pem";
($rc, $out) = $t->test_config(conf("$log sign=$p/keys/log.pem"));
like($out, qr/\[warn\] .*is readable by other users.*chmod 600/,
     'a key others can read: a warning');

done_testing;
