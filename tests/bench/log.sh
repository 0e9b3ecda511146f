#!/usr/bin/env bash
# Benchmark (not a test): the consent log.
#
# 1. Consent POSTs per second on one worker with consent_log on a file and
#    sign= (Ed25519), against the same configuration with consent_log off:
#    two nginx instances, wrk on loopback, rounds alternated, medians.
#    Targets: >= 5,000/s logged, and >= 0.5 of unlogged.
# 2. consent-audit verify throughput on a log of BENCH_RECORDS records,
#    every signature (the default) and --fast. Target: >= 50,000 records/s.
#
# The log written during the run is verified too, so the figures are for
# records that are right.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CONSENT_BUILD:-$root/build}
seconds=${BENCH_SECONDS:-8}
rounds=${BENCH_ROUNDS:-3}
records=${BENCH_RECORDS:-100000}
audit=$build/consent-audit

prefix=$(mktemp -d /tmp/consent-bench-log-XXXXXX)
cleanup() {
    for c in on nosign off; do
        nginx -p "$prefix/$c/" -c "$prefix/$c/nginx.conf" -s stop \
            2>/dev/null || true
    done
    rm -rf "$prefix"
}
trap cleanup EXIT
chmod 755 "$prefix"

"$audit" keygen "$prefix" > /dev/null

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1:0")->sockport'
}

start() {    # start NAME PORT "consent_log ..."
    mkdir -p "$prefix/$1/logs"
    cat > "$prefix/$1/nginx.conf" <<CONF
load_module $build/ngx_http_consent_module.so;
worker_processes 1;
error_log $prefix/$1/logs/error.log warn;
pid $prefix/$1/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    consent_secret $prefix/secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing gpc;
    $3;
    server {
        listen 127.0.0.1:$2 backlog=1024;
        consent on;
        location /consent/ { consent_endpoint; }
    }
}
CONF
    nginx -p "$prefix/$1/" -c "$prefix/$1/nginx.conf"
}

port_on=$(free_port)
port_nosign=$(free_port)
port_off=$(free_port)

start on "$port_on" \
    "consent_log $prefix/on/logs/consent.log sign=$prefix/log.pem"
start nosign "$port_nosign" "consent_log $prefix/nosign/logs/consent.log"
start off "$port_off" "consent_log off"
sleep 0.5

cat > "$prefix/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "action=save&category=analytics&source=banner"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

rps() {
    wrk -t1 -c32 -d"${seconds}s" -s "$prefix/post.lua" \
        -H "Origin: http://127.0.0.1:$1" "http://127.0.0.1:$1/consent/" \
        > "$prefix/wrk.out"
    if grep -q 'Non-2xx or 3xx' "$prefix/wrk.out"; then
        echo "POSTs failed:" >&2
        cat "$prefix/wrk.out" >&2
        exit 1
    fi
    awk '/Requests\/sec/ { print $2 }' "$prefix/wrk.out"
}

median() {
    printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

on_all=(); off_all=(); nosign_all=()
for i in $(seq "$rounds"); do
    off_all+=("$(rps "$port_off")")
    on_all+=("$(rps "$port_on")")
    nosign_all+=("$(rps "$port_nosign")")
done

on=$(median "${on_all[@]}")
off=$(median "${off_all[@]}")
nosign=$(median "${nosign_all[@]}")
ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", a / b }')

n=$(grep -c '"type":"consent"' "$prefix/on/logs/consent.log")
"$audit" verify "$prefix/on/logs/consent.log" --pubkey "$prefix/log.pub.pem" \
    > "$prefix/verify.out" || { cat "$prefix/verify.out"; exit 1; }

echo "consent POSTs/s, 1 worker, signed log:  $on   (rounds: ${on_all[*]})"
echo "consent POSTs/s, 1 worker, unsigned log: $nosign   (rounds: ${nosign_all[*]})"
echo "consent POSTs/s, 1 worker, log off:     $off   (rounds: ${off_all[*]})"
echo "ratio logged/unlogged:                  $ratio   (target >= 0.5; >= 5000/s)"
echo "records written in the run:             $n, chain and signatures verified"

# 2. verify throughput

"$audit" sample "$records" --sign "$prefix/log.pem" > "$prefix/sample.log"

vtime() {    # seconds for a verify run
    local t0 t1
    t0=$(date +%s.%N)
    "$audit" verify "$prefix/sample.log" --pubkey "$prefix/log.pub.pem" "$@" \
        > /dev/null || { echo "verify failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

full=$(vtime)
fast=$(vtime --fast)
one=$(vtime -j 1)

rate() { awk -v n="$records" -v t="$1" 'BEGIN { printf "%d", n / t }'; }

echo "verify, every signature, $(nproc) threads:     $(rate "$full") records/s ($records in ${full}s)"
echo "verify, every signature, 1 thread:      $(rate "$one") records/s"
echo "verify --fast (chain + last signature): $(rate "$fast") records/s   (target >= 50000)"

openssl speed -seconds 1 ed25519 2>/dev/null \
    | awk '/Ed25519/ { print "openssl speed ed25519, 1 core:          " $(NF-1) " sign/s, " $NF " verify/s" }'
