package ConsentTest;

# A small harness in the spirit of nginx-tests, core Perl only: it writes an
# nginx.conf into a temporary prefix, starts Debian's nginx with the built
# module on 127.0.0.1 and a free port, talks raw HTTP to it, and at the end
# checks that the error log holds no alert and no sanitizer report.
#
#     my $t = ConsentTest->new(http => <<'EOF')->run;
#     server {
#         listen 127.0.0.1:%%PORT%%;
#         ...
#     }
#     EOF
#     my $r = $t->get('/', Cookie => 'a=b');
#     is($r->{status}, 200);
#
# In the configuration %%PORT%%, %%PORT2%% (a second free port), %%PREFIX%%
# and %%BUILD%% are replaced. A secret is written to conf/secret.key and a
# second one to conf/old.key. A failure to start nginx ends the test file
# (die, with nginx's output and its error log in full): a broken module is
# never skipped, and the other files still run.
#
# At the end of every file, by itself, the harness stops each nginx it
# started and checks its error log: no [alert], [emerg] or [crit], no crash,
# no sanitizer report; one test per nginx, as nginx-tests does. A file that
# expects some of those lines says so once, with $t->check_log(qr/.../) or
# ConsentTest->new(log_allow => qr/.../); the end check allows the same.
# End a file with done_testing (a fixed plan does not count these tests).

use strict;
use warnings;

use Exporter 'import';
use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Socket qw(SOCK_STREAM);
use Test::More;
use Test2::API qw(test2_add_callback_testing_done);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(free_port header set_cookie forge_cookie);

# every nginx started and not yet stopped
our @RUNNING;

# every nginx started in this file, as {prefix, allow, name}: the end check
# reads their logs, after the objects may be gone
our @STARTED;

# the process that loaded the harness: forked children check nothing
our $PID = $$;

our $NGINX = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $BUILD = $ENV{CONSENT_BUILD} || do {
    my $d = __FILE__;
    $d =~ s{tests/integration/lib/ConsentTest\.pm$}{build};
    $d;
};

# the module to load; "static" for an nginx built with it compiled in
# (make integration-versions runs the suite against upstream nginx both ways)
our $MODULE = $ENV{CONSENT_MODULE} || "$BUILD/ngx_http_consent_module.so";

sub new {
    my ($class, %opt) = @_;

    my $self = bless {
        http    => $opt{http} // '',
        main    => $opt{main} // '',
        workers => $opt{workers} // 1,
        debug   => $opt{error_level} // 'info',
        allow   => $opt{log_allow},
    }, $class;

    $self->{prefix} = tempdir('consent-test-XXXXXXXX', TMPDIR => 1,
                              CLEANUP => !$ENV{TEST_KEEP});
    chmod 0755, $self->{prefix};
    make_path(map { "$self->{prefix}/$_" } qw(conf logs html));

    $self->{port} = free_port();
    $self->{port2} = free_port($self->{port});

    $self->write_file('conf/secret.key', random_key(), 0600);
    $self->write_file('conf/old.key', random_key(), 0600);

    return $self;
}

sub prefix { $_[0]->{prefix} }
sub port { $_[0]->{port} }
sub port2 { $_[0]->{port2} }

sub random_bytes {
    my ($n) = @_;
    open my $fh, '<:raw', '/dev/urandom' or die "urandom: $!";
    read($fh, my $buf, $n) == $n or die "urandom: short read";
    return $buf;
}

# a key as "consent-audit keygen" makes it: 32 random bytes, the last one
# neither CR nor LF, which consent_secret strips ("Trailing newlines in the
# file are not part of the key"); with plain random bytes one nginx in 128
# refused its key as 31 bytes long, the rare "start failure" of old
sub random_key {
    my $key = random_bytes(32);
    substr($key, -1) = random_bytes(1) while substr($key, -1) =~ /[\r\n]/;
    return $key;
}

# A port for nginx to listen on, free now and kept from every other user of
# this harness until this process ends (a lock file in the temp dir), taken
# below the kernel's ephemeral range so that no client socket's own port
# can take it between this probe and nginx's bind.
our %PORT_LOCKS;

sub free_port {
    my (@not) = @_;

    my $top = 32768;
    if (open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        ($top) = split ' ', scalar <$fh>;
    }
    my $bottom = $top > 20000 ? 10000 : 1024;

    my $dir = ($ENV{TMPDIR} || '/tmp') . '/consent-test-ports';
    mkdir $dir, 01777;

    for (1 .. 1000) {
        my $port = $bottom + int(rand($top - $bottom));
        next if $PORT_LOCKS{$port} || grep { $_ == $port } @not;

        open my $lock, '>>', "$dir/$port" or next;
        flock($lock, LOCK_EX | LOCK_NB) or next;

        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1)
            or next;
        close $s;

        $PORT_LOCKS{$port} = $lock;
        return $port;
    }
    die "no free port between $bottom and $top\n";
}

sub write_file {
    my ($self, $name, $content, $mode) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{prefix}/$name";
    (my $dir = $path) =~ s{/[^/]*$}{};
    make_path($dir);
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh;
    chmod $mode // 0644, $path;
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{prefix}/$name";
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return scalar <$fh>;
}

sub config_text {
    my ($self, $http, $main) = @_;

    my $load = '';
    if ($MODULE ne 'static') {
        die "module not built: $MODULE (run make)\n" unless -f $MODULE;
        $load = "load_module $MODULE;\n";
    }

    my $text = <<"EOF";
${load}worker_processes $self->{workers};
error_log %%PREFIX%%/logs/error.log $self->{debug};
pid %%PREFIX%%/logs/nginx.pid;
$main
events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path %%PREFIX%%/client_body_temp;
    proxy_temp_path %%PREFIX%%/proxy_temp;
    fastcgi_temp_path %%PREFIX%%/fastcgi_temp;
    uwsgi_temp_path %%PREFIX%%/uwsgi_temp;
    scgi_temp_path %%PREFIX%%/scgi_temp;
    default_type application/octet-stream;
    types {
        text/html html;
        text/plain txt;
        application/javascript js;
        image/gif gif;
    }

$http
}
EOF
    return $self->expand($text);
}

sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT%%/$self->{port}/g;
    $text =~ s/%%PORT2%%/$self->{port2}/g;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    $text =~ s/%%BUILD%%/$BUILD/g;
    return $text;
}

# nginx -t on a configuration: (exit status, output)
sub test_config {
    my ($self, $http, $main) = @_;
    $self->write_file('conf/test.conf',
                      $self->config_text($http, $main // $self->{main}));
    my $out = $self->nginx('conf/test.conf', 'logs/test.log', '-t');
    return ($? >> 8, $out);
}

# nginx on a configuration of the prefix: its output (and $?); -e names
# the log for what nginx says before it reads error_log, so that no nginx
# writes to its compiled-in default (/var/log/nginx/error.log in Debian's,
# PREFIX/logs/error.log in upstream's: nginx -t there would land in the
# log the end check reads)
sub nginx {
    my ($self, $conf, $log, @args) = @_;
    my $p = $self->{prefix};
    return `$NGINX -p $p/ -c $p/$conf -e $p/$log @args 2>&1`;
}

sub run {
    my ($self) = @_;

    $self->write_file('conf/nginx.conf',
                      $self->config_text($self->{http}, $self->{main}));

    push @STARTED, $self->{started} = {
        prefix => $self->{prefix},
        allow  => $self->{allow},
        name   => 'nginx ' . (@STARTED + 1) . " on port $self->{port}",
    } unless $self->{started};

    my $out = $self->nginx('conf/nginx.conf', 'logs/error.log');
    my $status = $?;

    if ($status != 0) {
        die sprintf("nginx failed to start (%s)\n"
                    . "--- its output:\n%s--- logs/error.log:\n%s---\n",
                    exit_text($status), $out,
                    $self->read_file('logs/error.log') // "(none)\n");
    }

    $self->{running} = 1;
    $self->{pid} = $self->pid;
    push @RUNNING, $self;
    $self->wait_port($self->{port});
    return $self;
}

sub exit_text {
    my ($status) = @_;
    return "not run: $!" if $status == -1;
    return sprintf('exit %d', $status >> 8) unless $status & 127;
    return sprintf('killed by signal %d%s', $status & 127,
                   $status & 128 ? ', core dumped' : '');
}

# At the end of the file (done_testing, or the end of a file that died):
# stop every nginx still running, then check each one's error log, as one
# test each. File::Temp removes the prefixes in its own END block, which
# runs after this one.
my $checked;

sub check_all_logs {
    return if $checked++ || $$ != $PID;
    local $?;

    $_->stop for grep { $_->{running} } @RUNNING;

    if (@STARTED && Test::More->builder->has_plan
        && Test::More->builder->has_plan ne 'no_plan')
    {
        # a fixed plan has no room for them: say it, fail loudly
        for my $s (@STARTED) {
            my @bad = bad_lines($s);
            next unless @bad;
            diag("$s->{name}: error log:\n" . join("\n", @bad));
            Test::More->builder->is_passing(0);
        }
        return;
    }

    for my $s (@STARTED) {
        my @bad = bad_lines($s);
        ok(!@bad, "$s->{name}: error log has no alert, emerg, crit, crash "
                  . "or sanitizer report")
            or diag(join "\n", @bad);
    }
}

test2_add_callback_testing_done(\&check_all_logs);

# a file ended by a signal (prove interrupted, a CI timeout) says so and
# still stops its nginx: exit runs the END block below
my %SIGNO = (HUP => 1, INT => 2, TERM => 15);
for my $sig (keys %SIGNO) {
    $SIG{$sig} //= sub {
        diag("killed by SIG$sig");
        exit(128 + $SIGNO{$sig});
    };
}

END {
    check_all_logs();
}

sub wait_port {
    my ($self, $port) = @_;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return if $s;
        sleep 0.05;
    }
    die "nginx does not listen on $port after 5 s\n--- logs/error.log:\n"
        . ($self->read_file('logs/error.log') // "(none)\n");
}

sub pid {
    my ($self) = @_;
    my $pid = $self->read_file('logs/nginx.pid') // return undef;
    chomp $pid;
    return $pid;
}

sub signal {
    my ($self, $sig) = @_;
    my $out = $self->nginx('conf/nginx.conf', 'logs/signal.log', '-s', $sig);
    return 1 if $? == 0;
    diag($out) unless ${^GLOBAL_PHASE} eq 'DESTRUCT';
    return 0;
}

# replace the http block and reload; waits until the new workers answer
sub reload {
    my ($self, $http) = @_;
    $self->{http} = $http if defined $http;
    $self->write_file('conf/nginx.conf',
                      $self->config_text($self->{http}, $self->{main}));
    return $self->signal('reload');
}

sub stop {
    my ($self) = @_;
    return unless $self->{running};
    my $pid = $self->pid // $self->{pid};
    kill 'QUIT', $pid if $pid;
    for (1 .. 200) {
        last unless $pid && kill(0, $pid);
        sleep 0.05;
    }
    kill 'KILL', $pid if $pid && kill(0, $pid);
    $self->{running} = 0;
}

# the lines of an error log that must not be there: alerts, emergencies,
# critical errors, crashes, sanitizer reports
sub bad_lines {
    my ($s) = @_;
    open my $fh, '<:raw', "$s->{prefix}/logs/error.log" or return ();
    my @bad = grep { /\[(alert|emerg|crit)\]|Sanitizer|runtime error|
                      signal 11|core dumped|exited on signal/x } <$fh>;
    chomp @bad;
    @bad = grep { !/$s->{allow}/ } @bad if $s->{allow};
    return @bad;
}

# the error log must hold no alert, no crash, no sanitizer report; $allow,
# a pattern for lines this test expects, is kept for the end check
sub check_log {
    my ($self, $allow) = @_;
    if ($allow) {
        $self->{allow} = $self->{allow} ? qr/$self->{allow}|$allow/ : $allow;
        $self->{started}{allow} = $self->{allow} if $self->{started};
    }
    my @bad = bad_lines({ prefix => $self->{prefix},
                          allow => $self->{allow} });
    ok(!@bad, 'error log has no alert, crash or sanitizer report')
        or diag(join "\n", @bad);
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    $self->stop if $self->{running};
}

# --- HTTP ---------------------------------------------------------------

# raw request text in, parsed response out; "Connection: close" is added
sub raw {
    my ($self, $request, %opt) = @_;
    my $port = $opt{port} // $self->{port};

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10)
        or die "connect: $!";
    binmode $s;
    print $s $request;

    my $data = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm($opt{timeout} // 20);
    while (1) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $data .= $buf;
    }
    alarm(0);
    close $s;

    return parse_response($data, $opt{head});
}

sub request {
    my ($self, $method, $uri, @args) = @_;
    my $body = @args % 2 ? shift @args : undef;
    my @headers = @args;
    my %seen = map { (lc($headers[$_]) => 1) } grep { $_ % 2 == 0 } 0 .. $#headers;

    my $req = "$method $uri HTTP/1.1\r\n";
    $req .= "Host: 127.0.0.1:$self->{port}\r\n" unless $seen{host};
    $req .= "Connection: close\r\n";
    while (my ($k, $v) = splice(@headers, 0, 2)) {
        $req .= "$k: $v\r\n";
    }
    if (defined $body) {
        $req .= "Content-Length: " . length($body) . "\r\n"
            unless $seen{'content-length'} || $seen{'transfer-encoding'};
    }
    $req .= "\r\n";
    $req .= $body if defined $body;

    return $self->raw($req, head => $method eq 'HEAD');
}

sub get { my $self = shift; $self->request('GET', @_) }
sub head { my $self = shift; $self->request('HEAD', @_) }

# a same-origin form POST, as a browser sends it
sub post_form {
    my ($self, $uri, $body, @headers) = @_;
    return $self->request('POST', $uri, $body,
        'Origin' => "http://127.0.0.1:$self->{port}",
        'Content-Type' => 'application/x-www-form-urlencoded', @headers);
}

sub post_json {
    my ($self, $uri, $body, @headers) = @_;
    return $self->request('POST', $uri, $body,
        'Origin' => "http://127.0.0.1:$self->{port}",
        'Content-Type' => 'application/json', @headers);
}

sub parse_response {
    my ($data, $head) = @_;
    my %r = (raw => $data, headers => {}, status => 0, body => '');

    my ($top, $body) = split /\r\n\r\n/, $data, 2;
    return \%r unless defined $top;
    my @lines = split /\r\n/, $top;
    my $status = shift @lines // '';
    ($r{status}) = $status =~ m{^HTTP/\d\.\d (\d{3})};
    $r{status} //= 0;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{ $r{headers}{lc $k} }, $v;
    }
    $body //= '';
    if (!$head && (header(\%r, 'transfer-encoding') // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n);
            substr($body, 0, $n + 2) = '';
        }
        $body = $out;
    }
    $r{body} = $body;
    return \%r;
}

# the first value of a header, or all of them in list context
sub header {
    my ($r, $name) = @_;
    my $v = $r->{headers}{lc $name} // [];
    return wantarray ? @$v : $v->[0];
}

# the value of our cookie in a response's Set-Cookie headers
sub set_cookie {
    my ($r, $name) = @_;
    $name //= 'consent';
    for (header($r, 'set-cookie')) {
        return $1 if /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

# a consent cookie signed with a key, as the module writes it
#     forge_cookie(key => $bytes, iat => time, revision => 1,
#                  granted => ['analytics'], refused => ['marketing'])
# with regime => 'out' (or 'in'), a cookie of format 2, which records it
sub forge_cookie {
    my (%c) = @_;
    require Digest::SHA;
    require MIME::Base64;

    my $b64 = sub {
        my $s = MIME::Base64::encode_base64url($_[0]);
        $s =~ s/=+$//;
        return $s;
    };

    my $id = $c{id} // join '', map { chr(int rand 256) } 1 .. 16;
    my $kid = substr(Digest::SHA::sha256_hex($c{key}), 0, 8);
    my $v = join '.', defined $c{regime} ? '2' : '1', $b64->($id),
                      $c{iat} // int(time), $c{revision} // 1,
                      join('~', @{ $c{granted} // [] }),
                      join('~', @{ $c{refused} // [] }),
                      defined $c{regime} ? $c{regime} : (),
                      $c{kid} // $kid;
    my $mac = Digest::SHA::hmac_sha256($v, $c{key});
    return $v . '.' . $b64->(substr($mac, 0, 16));
}

1;
