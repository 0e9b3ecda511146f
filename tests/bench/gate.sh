#!/usr/bin/env bash
# Benchmark (not a test): the gating filter.
#
# 1. A ~55 KB news article carrying GTM (with its noscript iframe), gtag.js,
#    a Meta Pixel and a text/plain Hotjar tag, requested by a reader who has
#    not chosen (so: gating, banner, consent default), one worker, wrk on
#    loopback.  Against nginx's own sub_filter doing nothing but inserting
#    the same banner after <body> on the same page, and the plain file.
#    Target: module >= 1.5x sub_filter's requests/s.
# 2. A 20 MB HTML answer (the article's body repeated, trackers in it) through
#    the filter, statically and through proxy_pass: the worker's peak RSS
#    (VmHWM) before and after, for one request and for 8 at once.
#    Target: < 1 MB extra per request.  Also from an edit plan
#    (consent_plan_cache, sendfile): first the request that scans the file
#    and makes the plan, then requests served from it.
# BENCH_RPS=0 leaves part 1 out.
set -euo pipefail

. "$(dirname "$0")/lib/common.sh"
seconds=${BENCH_SECONDS:-8}
rounds=${BENCH_ROUNDS:-3}

bench_init gate

port_on=$(free_port)
port_sub=$(free_port)
port_off=$(free_port)
port_up=$(free_port)

# the 20 MB page: head with the trackers, the article's body repeated
perl -e '
    local $/; my $p = <STDIN>;
    my ($head, $body, $tail) = $p =~ m{^(.*?<body[^>]*>)(.*)(</body>.*)$}s
        or die "no body";
    my $out = $head;
    $out .= $body while length($out) < 20 * 1024 * 1024;
    print $out, $tail;' < "$article" > "$prefix/html/big.html"

conf() {    # the configuration, with the banner for sub_filter in $1
cat > "$prefix/nginx.conf" <<CONF
load_module $build/ngx_http_consent_module.so;
worker_processes 1;
error_log $prefix/logs/error.log warn;
pid $prefix/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    include /etc/nginx/mime.types;
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;

    server {
        listen 127.0.0.1:$port_on backlog=1024;
        root $prefix/html;
        consent on;
        consent_gate_host analytics *.googletagmanager.com
                                    www.google-analytics.com static.hotjar.com;
        consent_gate_host marketing connect.facebook.net *.facebook.com;
        consent_google_mode analytics_storage=analytics ad_storage=marketing
                            ad_user_data=marketing
                            ad_personalization=marketing;
        location /consent/ { consent_endpoint; }
        location /up/ { proxy_pass http://127.0.0.1:$port_up/; }
        location /plan/ {
            alias $prefix/html/;
            sendfile on;
            consent_plan_cache 1m;
        }
    }

    server {
        listen 127.0.0.1:$port_sub backlog=1024;
        root $prefix/html;
        sub_filter '<body class="article-page">' '<body class="article-page">$1';
    }

    server {
        listen 127.0.0.1:$port_off backlog=1024;
        root $prefix/html;
    }

    server {
        listen 127.0.0.1:$port_up;
        root $prefix/html;
    }
}
CONF
}

# the banner as the module renders it, for sub_filter to insert
banner=$(bench_banner "$port_on" conf)
conf "$banner"
nginx -p "$prefix/" -c "$prefix/nginx.conf"
sleep 0.5

# the answers are what they should be
on_body=$(curl -s "http://127.0.0.1:$port_on/article.html")
sub_body=$(curl -s "http://127.0.0.1:$port_sub/article.html")
case "$on_body" in *googletagmanager.com*|*facebook.net*|*hotjar.com*)
    echo "the module left a tracker" >&2; exit 1 ;; esac
case "$sub_body" in *consent-banner*) ;; *)
    echo "sub_filter did not insert the banner" >&2; exit 1 ;; esac

rps() {
    wrk -t1 -c16 -d"${seconds}s" "http://127.0.0.1:$1/article.html" \
        | awk '/Requests\/sec/ { print $2 }'
}


if [ "${BENCH_RPS:-1}" = 1 ]; then
on_all=(); sub_all=(); off_all=()
for i in $(seq "$rounds"); do
    off_all+=("$(rps "$port_off")")
    sub_all+=("$(rps "$port_sub")")
    on_all+=("$(rps "$port_on")")
done

on=$(median "${on_all[@]}")
sub=$(median "${sub_all[@]}")
off=$(median "${off_all[@]}")

echo "article ($(stat -c %s "$article") bytes), one worker, ${rounds}x${seconds}s, medians:"
printf '  plain file:              %10.0f req/s\n' "$off"
printf '  sub_filter (banner):     %10.0f req/s\n' "$sub"
printf '  module (gating+banner):  %10.0f req/s\n' "$on"
printf '  module / sub_filter:     %10s   (target >= 1.5)\n' "$(ratio "$on" "$sub")"
printf '  module / plain file:     %10s\n' "$(ratio "$on" "$off")"
fi

# --- 20 MB through the filter, memory -------------------------------------

big=$(stat -c %s "$prefix/html/big.html")
echo "20 MB answer ($big bytes), a fresh worker for each line:"

measure() {    # measure NAME PORT PATH N [WARM]: WARM requests first
    local worker before after n=$4 i got
    nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop
    while [ -f "$prefix/nginx.pid" ]; do sleep 0.1; done
    nginx -p "$prefix/" -c "$prefix/nginx.conf"
    sleep 0.3
    worker=$(ps -o pid= --ppid "$(cat "$prefix/nginx.pid")" | head -n 1 | tr -d ' ')
    # warm up: the article once, statically and proxied
    curl -s -o /dev/null "http://127.0.0.1:$2/article.html"
    curl -s -o /dev/null "http://127.0.0.1:$port_on/up/article.html"
    for i in $(seq "${5:-0}"); do
        curl -s -o /dev/null "http://127.0.0.1:$2/$3"
    done
    before=$(awk '/VmHWM/ { print $2 }' "/proc/$worker/status")
    for i in $(seq "$n"); do
        curl -s -o "$prefix/out.$i" "http://127.0.0.1:$2/$3" &
    done
    wait
    after=$(awk '/VmHWM/ { print $2 }' "/proc/$worker/status")
    got=$(stat -c %s "$prefix/out.1")
    if [ "$1" = module ] \
        && grep -q 'googletagmanager\.com\|connect\.facebook\.net' \
                "$prefix/out.1"
    then
        echo "  the module left a tracker in the 20 MB page" >&2; exit 1
    fi
    printf '  %-24s x%d: %9d bytes out, peak RSS %6d -> %6d KiB: %5d KiB extra per request\n' \
        "$1 $3" "$n" "$got" "$before" "$after" $(( (after - before) / n ))
    rm -f "$prefix"/out.*
}

measure plain "$port_off" big.html 8
measure sub_filter "$port_sub" big.html 8
measure module "$port_on" big.html 1
measure module "$port_on" big.html 8
measure module "$port_on" up/big.html 1
measure module "$port_on" up/big.html 8
measure module "$port_on" plan/big.html 1
measure module "$port_on" plan/big.html 8 1
echo "  (target for the module: < 1024 KiB extra per request)"
