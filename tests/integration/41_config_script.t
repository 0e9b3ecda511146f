#!/usr/bin/perl

# The addon script, config, through nginx's own ./configure (Debian's
# nginx-dev tree): it lists every file of module/ and no other; OPENSSL in
# ngx_module_libs makes nginx link OpenSSL even when nothing else asks for
# it; and a missing jansson stops ./configure with a message naming the
# package to install.

use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use Test::More;

my $root = "$FindBin::Bin/../..";
my $src = $ENV{NGINX_SRC} || '/usr/share/nginx/src';

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# --- the list of files ---------------------------------------------------

my $config = slurp("$root/config");
my ($deps) = $config =~ /^ngx_consent_deps="\n(.*?)"$/ms;
my ($srcs) = $config =~ /^ngx_consent_srcs="\n(.*?)"$/ms;
ok(defined $deps && defined $srcs, 'config lists its files');

my @listed = sort(split(' ', $deps // ''), split(' ', $srcs // ''));
my @files = sort map { s{.*/}{}r } glob("$root/module/*.[ch]");
is_deeply(\@listed, \@files, 'config lists every file of module/, once')
    or diag("listed: @listed\nfiles:  @files");

# --- ./configure ------------------------------------------------------------

die("no nginx source tree in $src: install nginx-dev")
    unless -x "$src/configure";

my $tmp = tempdir('consent-config-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);

sub configure {
    my ($dir, @args) = @_;
    system('cp', '-r', $src, $dir) == 0 or die "cp: $?";
    my $out = `cd $dir && ./configure @args 2>&1`;
    return ($? >> 8, $out);
}

# no SSL module: only the addon's OPENSSL asks for OpenSSL
my ($rc, $out) = configure("$tmp/plain", '--without-http_rewrite_module',
                           '--without-http_gzip_module',
                           "--add-dynamic-module=$root");
is($rc, 0, './configure with the addon and no SSL module')
    or diag($out);
like($out, qr/checking for jansson library \.\.\. found/,
     'the jansson feature test finds it');
like($out, qr/using system OpenSSL library/, 'OpenSSL is configured');

my $makefile = -f "$tmp/plain/objs/Makefile"
             ? slurp("$tmp/plain/objs/Makefile") : '';
like($makefile, qr/-ljansson/, 'jansson is linked');
like($makefile, qr/-lcrypto/, 'and libcrypto, through nginx');
my $auto = -f "$tmp/plain/objs/ngx_auto_config.h"
         ? slurp("$tmp/plain/objs/ngx_auto_config.h") : '';
like($auto, qr/#define NGX_OPENSSL\s+1/, 'NGX_OPENSSL is defined');

# a compiler for which jansson does not exist

my $cc = "$tmp/cc-nojansson";
open my $fh, '>', $cc or die "$cc: $!";
print $fh <<'END';
#!/bin/sh
for a in "$@"; do
    case "$a" in -ljansson) echo "ld: cannot find -ljansson" >&2; exit 1;; esac
done
exec cc "$@"
END
close $fh;
chmod 0755, $cc;

($rc, $out) = configure("$tmp/nojansson", "--with-cc=$cc",
                        "--add-dynamic-module=$root");
isnt($rc, 0, 'without jansson, ./configure stops');
like($out, qr/checking for jansson library \.\.\. not found/,
     'after the feature test');
like($out, qr/error: the nginx-consent module requires the jansson library\.\n.*apt install libjansson-dev/s,
     'naming the package to install');
ok(!-f "$tmp/nojansson/objs/Makefile", 'and writes no Makefile');

done_testing();
