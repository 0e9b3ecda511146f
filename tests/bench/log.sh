#!/usr/bin/env bash
# Benchmark (not a test): the consent log as a Merkle tree.
#
# 1. Consent POSTs per second on one worker with consent_log on a file
#    (sign=, checkpoints) with sync=on and with sync=off, against the same
#    configuration with consent_log off: three nginx instances, wrk on
#    loopback, rounds alternated, medians, and wrk's latency percentiles.
#    Targets: sync=on >= 0.5 of off, sync=off >= 0.8 of off.
# 2. consent-audit verify on a log of BENCH_RECORDS records (default
#    1,000,000) with a checkpoint every 1000: records per CPU-second (user
#    + system time of the process, which the other processes on a loaded
#    machine do not inflate) and per wall-second. Target: >= 1,000,000/s
#    on one core.
# 3. The size of a receipt (consent-audit prove) at that size. Target:
#    <= 2 KB.
#
# The logs written during the run are verified too, so the figures are for
# records that are right.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CONSENT_BUILD:-$root/build}
seconds=${BENCH_SECONDS:-8}
rounds=${BENCH_ROUNDS:-3}
records=${BENCH_RECORDS:-1000000}
audit=$build/consent-audit

prefix=$(mktemp -d /tmp/consent-bench-log-XXXXXX)
cleanup() {
    for c in sync nosync off; do
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
    chmod 1777 "$prefix/$1/logs"
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

port_sync=$(free_port)
port_nosync=$(free_port)
port_off=$(free_port)

log="origin=bench.example/consent-log sign=$prefix/log.pem"
start sync "$port_sync" "consent_log $prefix/sync/logs/consent.log $log"
start nosync "$port_nosync" \
    "consent_log $prefix/nosync/logs/consent.log $log sync=off"
start off "$port_off" "consent_log off"
sleep 0.5

cat > "$prefix/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "action=save&category=analytics&source=banner"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

rps() {    # rps PORT NAME: requests/s; keeps wrk's latency lines
    wrk -t1 -c32 -d"${seconds}s" --latency -s "$prefix/post.lua" \
        -H "Origin: http://127.0.0.1:$1" "http://127.0.0.1:$1/consent/" \
        > "$prefix/wrk.out"
    if grep -q 'Non-2xx or 3xx' "$prefix/wrk.out"; then
        echo "POSTs failed:" >&2
        cat "$prefix/wrk.out" >&2
        exit 1
    fi
    awk '/^ +(50|90|99)%/ { printf "p%s %s  ", $1, $2 }' "$prefix/wrk.out" \
        | tr -d '%' > "$prefix/$2.latency"
    awk '/Requests\/sec/ { print $2 }' "$prefix/wrk.out"
}

median() {
    printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

sync_all=(); nosync_all=(); off_all=()
for i in $(seq "$rounds"); do
    off_all+=("$(rps "$port_off" off)")
    sync_all+=("$(rps "$port_sync" sync)")
    nosync_all+=("$(rps "$port_nosync" nosync)")
done

sync=$(median "${sync_all[@]}")
nosync=$(median "${nosync_all[@]}")
off=$(median "${off_all[@]}")
ratio() { awk -v a="$1" -v b="$off" 'BEGIN { printf "%.2f", a / b }'; }

for c in sync nosync; do
    nginx -p "$prefix/$c/" -c "$prefix/$c/nginx.conf" -s quit
done
sleep 1                        # the shutdown checkpoint

for c in sync nosync; do
    "$audit" verify "$prefix/$c/logs/consent.log" \
        --pubkey "$prefix/log.pub.pem" > "$prefix/verify.out" \
        || { cat "$prefix/verify.out"; exit 1; }
done
n=$(grep -c '"type":"consent"' "$prefix/sync/logs/consent.log")

echo "the machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "consent POSTs/s, 1 worker, log sync=on:  $sync   (rounds: ${sync_all[*]})"
echo "    latency $(cat "$prefix/sync.latency")"
echo "consent POSTs/s, 1 worker, log sync=off: $nosync   (rounds: ${nosync_all[*]})"
echo "    latency $(cat "$prefix/nosync.latency")"
echo "consent POSTs/s, 1 worker, log off:      $off   (rounds: ${off_all[*]})"
echo "    latency $(cat "$prefix/off.latency")"
echo "ratio sync=on / off:                     $(ratio "$sync")   (target >= 0.5)"
echo "ratio sync=off / off:                    $(ratio "$nosync")   (target >= 0.8)"
echo "records written with sync=on:            $n, every checkpoint verified"

# 2. verify throughput

"$audit" sample "$records" --sign "$prefix/log.pem" --tree \
    --origin bench.example/consent-log --checkpoint 1000 > "$prefix/tree.log"

/usr/bin/time -f '%e %U %S' -o "$prefix/time.out" \
    "$audit" verify "$prefix/tree.log" --pubkey "$prefix/log.pub.pem" \
    > "$prefix/verify.out" || { cat "$prefix/verify.out"; exit 1; }

read -r wall user sys < "$prefix/time.out"
awk -v n="$records" -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN {
    printf "verify, 1 thread: %d records per CPU-second, %d per wall-second" \
           " (%d records in %.2fs CPU, %.2fs wall)   (target >= 1000000)\n",
           n / (u + s), n / w, n, u + s, w }'

# 3. a receipt at that size

# a record in the middle: a path of about log2(records) hashes
id=$(awk -v m="$((records / 2))" 'NR >= m && /"type":"consent"/ {
         sub(/.*"id":"/, ""); print substr($0, 1, 32); exit }' "$prefix/tree.log")
"$audit" prove "$id" "$prefix/tree.log" > "$prefix/receipt.txt"
echo "receipt at $records records: $(wc -c < "$prefix/receipt.txt") bytes, $(( $(wc -l < "$prefix/receipt.txt") - 9 )) path hashes   (target <= 2048)"
