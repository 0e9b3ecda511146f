#!/usr/bin/env bash
# Benchmark (not a test): a small static file requested with a valid consent
# cookie, from the same nginx in the same run, on a server with `consent on`
# and on one without the module's work. One worker pinned to the second
# core, wrk pinned to the first, on loopback; the two servers alternate.
# Prints requests/s of each and the ratio on/off (target >= 0.97).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CONSENT_BUILD:-$root/build}
seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-5}

prefix=$(mktemp -d /tmp/consent-bench-XXXXXX)
trap 'nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop 2>/dev/null; rm -rf "$prefix"' EXIT
chmod 755 "$prefix"
mkdir -p "$prefix/logs" "$prefix/html"
openssl rand -out "$prefix/secret.key" 32
chmod 600 "$prefix/secret.key"
printf 'hello, consent\n' > "$prefix/html/small.txt"

port_on=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1:0")->sockport')
port_off=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1:0")->sockport')
port_var=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1:0")->sockport')

cat > "$prefix/nginx.conf" <<CONF
load_module $build/ngx_http_consent_module.so;
worker_processes 1;
worker_cpu_affinity 10;
error_log $prefix/logs/error.log warn;
pid $prefix/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;
    server {
        listen 127.0.0.1:$port_on;
        root $prefix/html;
        consent on;
        location /consent/ { consent_endpoint; }
    }
    server {
        listen 127.0.0.1:$port_off;
        root $prefix/html;
    }
    server {
        listen 127.0.0.1:$port_var;
        root $prefix/html;
        consent on;
        add_header X-Consent \$consent_categories;
    }
}
CONF

nginx -p "$prefix/" -c "$prefix/nginx.conf"
sleep 0.5

cookie=$(perl -I"$root/tests/integration/lib" -MConsentTest=forge_cookie -e '
    open my $f, "<:raw", $ARGV[0] or die; local $/; my $k = <$f>;
    print forge_cookie(key => $k, granted => ["necessary", "analytics"],
                       refused => ["marketing"]);' "$prefix/secret.key")

state=$(curl -s -H "Cookie: consent=$cookie" "http://127.0.0.1:$port_on/consent/state")
case "$state" in
    *'"state":"valid"'*) ;;
    *) echo "the forged cookie is not valid: $state" >&2; exit 1 ;;
esac

rps() {
    taskset -c 0 wrk -t1 -c32 -d"${seconds}s" -H "Cookie: _ga=GA1.2.3.4; consent=$cookie" \
        "http://127.0.0.1:$1/small.txt" | awk '/Requests\/sec/ { print $2 }'
}

on_all=(); off_all=(); var_all=()
for i in $(seq "$rounds"); do
    off_all+=("$(rps "$port_off")")
    on_all+=("$(rps "$port_on")")
    var_all+=("$(rps "$port_var")")
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

on=$(median "${on_all[@]}")
off=$(median "${off_all[@]}")
var=$(median "${var_all[@]}")

# the machine drifts between rounds: each round's ratio, then their median
ratios_on=(); ratios_var=()
for i in $(seq 0 $((rounds - 1))); do
    ratios_on+=("$(awk -v a="${on_all[$i]}" -v b="${off_all[$i]}" 'BEGIN { printf "%.3f", a / b }')")
    ratios_var+=("$(awk -v a="${var_all[$i]}" -v b="${off_all[$i]}" 'BEGIN { printf "%.3f", a / b }')")
done

echo "small static file, valid cookie, 1 worker, wrk -c32, ${seconds}s x $rounds"
echo "  module off: $off requests/s   (runs: ${off_all[*]})"
echo "  module on:  $on requests/s   (runs: ${on_all[*]})"
echo "  module on, \$consent_categories in every answer: $var requests/s   (runs: ${var_all[*]})"
echo "  ratio on/off, median of rounds: $(median "${ratios_on[@]}") (target >= 0.97; rounds: ${ratios_on[*]})"
echo "  ratio on with the cookie read in every answer/off: $(median "${ratios_var[@]}") (rounds: ${ratios_var[*]})"
