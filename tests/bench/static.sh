#!/usr/bin/env bash
# Benchmark (not a test): gating a static file at the speed of a plain one.
#
# The ~55 KB news article of tests/fixtures/vendors (GTM, gtag.js, a Meta
# Pixel, Hotjar), one nginx worker, sendfile on, wrk on loopback, all in one
# nginx and alternated in each round:
#   plain       the same file sent as is (consent off)
#   sub_filter  nginx's sub_filter inserting the module's banner
#   module      consent on with consent_plan_cache: a first visit (banner
#               and consent default), a reader who refused, one who
#               accepted everything
#   full scan   the same with consent_plan_cache off (the filter as before)
#   sendfile off  the plain file and the module (a first visit, refused)
# Ratios are per round (the machine drifts between rounds, not within
# one), medians printed: of requests/s, and of the worker's CPU time per
# request (less sensitive to other work on a shared machine).  Targets
# against plain: first visit >= 0.8, refused >= 0.8, accepted >= 0.9.
# Then where the worker's time goes:
# perf on the plain file, a first visit and an accepted reader, or where
# perf does not run, callgrind on a first visit (user space only).
set -euo pipefail

. "$(dirname "$0")/lib/common.sh"
seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}

bench_init static

port_on=$(free_port)
port_full=$(free_port)
port_sub=$(free_port)
port_off=$(free_port)
port_nosf=$(free_port)
port_nosf_off=$(free_port)

# the http level of both configurations (the benchmark's, callgrind's)
http_common() {
cat <<CONF
    access_log off;
    include /etc/nginx/mime.types;
    sendfile on;
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_gate_host analytics *.googletagmanager.com
                                www.google-analytics.com static.hotjar.com;
    consent_gate_host marketing connect.facebook.net *.facebook.com;
    consent_google_mode analytics_storage=analytics ad_storage=marketing
                        ad_user_data=marketing ad_personalization=marketing;
CONF
}

conf() {    # the configuration, with the banner for sub_filter in $1
cat > "$prefix/nginx.conf" <<CONF
load_module $build/ngx_http_consent_module.so;
worker_processes 1;
error_log $prefix/logs/error.log warn;
pid $prefix/nginx.pid;
events { worker_connections 1024; }
http {
$(http_common)

    server {
        listen 127.0.0.1:$port_on backlog=1024;
        root $prefix/html;
        consent on;
        consent_plan_cache 1m;
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:$port_full backlog=1024;
        root $prefix/html;
        consent on;
        consent_plan_cache off;
        location /consent/ { consent_endpoint; }
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
        listen 127.0.0.1:$port_nosf backlog=1024;
        root $prefix/html;
        sendfile off;
        consent on;
        consent_plan_cache 1m;
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:$port_nosf_off backlog=1024;
        root $prefix/html;
        sendfile off;
    }
}
CONF
}

# the banner as the module renders it, for sub_filter to insert
banner=$(bench_banner "$port_on" conf)
conf "$banner"
nginx -p "$prefix/" -c "$prefix/nginx.conf"
sleep 0.5

key=$prefix/secret.key
cookie() {    # cookie GRANTED REFUSED: signed as the module signs it
    perl -MDigest::SHA=hmac_sha256,sha256_hex -MMIME::Base64 -e '
        my ($keyfile, $g, $f) = @ARGV;
        open my $fh, "<:raw", $keyfile or die; local $/; my $k = <$fh>;
        my $b = sub { (my $s = MIME::Base64::encode_base64url($_[0])) =~ s/=+$//; $s };
        my $v = join ".", 1, $b->("0123456789abcdef"), time, 1, $g, $f,
                          substr(sha256_hex($k), 0, 8);
        print $v, ".", $b->(substr(hmac_sha256($v, $k), 0, 16));' \
        "$key" "$1" "$2"
}
refused="consent=$(cookie '' 'analytics~marketing')"
accepted="consent=$(cookie 'analytics~marketing' '')"

# the answers are what they should be, and the fast path gives the full
# scan's bytes
for c in "" "$refused" "$accepted"; do
    a=$(curl -s -H "Cookie: $c" "http://127.0.0.1:$port_on/article.html")
    b=$(curl -s -H "Cookie: $c" "http://127.0.0.1:$port_full/article.html")
    [ "$a" = "$b" ] || { echo "the fast path differs from the full scan" >&2; exit 1; }
done
first=$(curl -s "http://127.0.0.1:$port_on/article.html")
case "$first" in *googletagmanager.com*|*facebook.net*|*hotjar.com*)
    echo "the module left a tracker" >&2; exit 1 ;; esac
case "$first" in *consent-banner*) ;; *)
    echo "no banner on a first visit" >&2; exit 1 ;; esac
case "$(curl -s -H "Cookie: $accepted" "http://127.0.0.1:$port_on/article.html")" in
    *googletagmanager.com*) ;; *)
    echo "an accepted reader did not get the trackers" >&2; exit 1 ;; esac

worker=$(ps -o pid= --ppid "$(cat "$prefix/nginx.pid")" | head -n 1 | tr -d ' ')
ticks() { awk '{ print $14 + $15 }' "/proc/$worker/stat"; }
hz=$(getconf CLK_TCK)

run() {    # run PORT [COOKIE]: "requests/s  worker CPU µs per request"
    local h=() out t0 t1
    [ -n "${2:-}" ] && h=(-H "Cookie: $2")
    t0=$(ticks)
    out=$(wrk -t1 -c16 -d"${seconds}s" "${h[@]}" "http://127.0.0.1:$1/article.html")
    t1=$(ticks)
    awk -v t=$((t1 - t0)) -v hz="$hz" '
        /requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
        END { printf "%s %.2f", r, t * 1e6 / hz / n }' <<< "$out"
}

# case: name, port, cookie
cases=("plain $port_off" "sub_filter $port_sub" "first $port_on"
       "refused $port_on $refused" "accepted $port_on $accepted"
       "full_first $port_full" "full_refused $port_full $refused"
       "full_accepted $port_full $accepted"
       "plain_nosf $port_nosf_off" "first_nosf $port_nosf"
       "refused_nosf $port_nosf $refused")

declare -A rps cpu all
for i in $(seq "$rounds"); do
    line="round $i:"
    for c in "${cases[@]}"; do
        set -- $c
        read -r rps[$1] cpu[$1] <<< "$(run "$2" "${3:-}")"
        line="$line $1 ${rps[$1]}/s ${cpu[$1]}us"
    done
    echo "$line"
    all[plain]+=" ${rps[plain]}"; all[sub_filter]+=" ${rps[sub_filter]}"
    all[plain_cpu]+=" ${cpu[plain]}"
    for c in first refused accepted full_first full_refused full_accepted; do
        all[$c]+=" $(ratio "${rps[$c]}" "${rps[plain]}")"
        all[${c}_cpu]+=" $(ratio "${cpu[plain]}" "${cpu[$c]}")"
    done
    for c in first_nosf refused_nosf; do
        all[$c]+=" $(ratio "${rps[$c]}" "${rps[plain_nosf]}")"
        all[${c}_cpu]+=" $(ratio "${cpu[plain_nosf]}" "${cpu[$c]}")"
    done
    all[plain_nosf_cpu]+=" ${cpu[plain_nosf]}"
    all[first_sub]+=" $(ratio "${rps[first]}" "${rps[sub_filter]}")"
    all[refused_sub]+=" $(ratio "${rps[refused]}" "${rps[sub_filter]}")"
done

m() { median ${all[$1]}; }

echo
echo "article ($(stat -c %s "$article") bytes), one worker, ${rounds}x${seconds}s, load average $(cut -d' ' -f1-3 /proc/loadavg), medians of per-round ratios:"
printf '  plain file (sendfile):      %8.0f req/s, %s us of worker CPU per request\n' "$(m plain)" "$(m plain_cpu)"
printf '  sub_filter (one banner):    %8.0f req/s\n' "$(m sub_filter)"
printf '  %-28s %8s %12s %10s\n' "against the plain file" "req/s" "CPU/request" "target"
printf '  %-28s %8s %12s %10s\n' "first visit" "$(m first)" "$(m first_cpu)" ">= 0.8"
printf '  %-28s %8s %12s %10s\n' "refused" "$(m refused)" "$(m refused_cpu)" ">= 0.8"
printf '  %-28s %8s %12s %10s\n' "accepted" "$(m accepted)" "$(m accepted_cpu)" ">= 0.9"
printf '  %-28s %8s %12s\n' "full scan, first visit" "$(m full_first)" "$(m full_first_cpu)"
printf '  %-28s %8s %12s\n' "full scan, refused" "$(m full_refused)" "$(m full_refused_cpu)"
printf '  %-28s %8s %12s\n' "full scan, accepted" "$(m full_accepted)" "$(m full_accepted_cpu)"
printf '  sendfile off, against the plain file sent the same way (%s us):\n' "$(m plain_nosf_cpu)"
printf '  %-28s %8s %12s\n' "first visit" "$(m first_nosf)" "$(m first_nosf_cpu)"
printf '  %-28s %8s %12s\n' "refused" "$(m refused_nosf)" "$(m refused_nosf_cpu)"
printf '  first visit / sub_filter:   %8s req/s\n' "$(m first_sub)"
printf '  refused / sub_filter:       %8s req/s\n' "$(m refused_sub)"
echo "  (CPU/request: the plain file's worker CPU per request over the case's)"

# --- where the time goes --------------------------------------------------

# BENCH_PROFILE: perf, callgrind or none; by default perf where it runs,
# else callgrind where valgrind is installed
profile=$(bench_profile)

if [ "$profile" = perf ]; then
    bench_perf plain "$port_off"
    bench_perf first "$port_on"
    bench_perf accepted "$port_on" "$accepted"
elif [ "$profile" = callgrind ]; then
    # no perf here: nginx's instructions by callgrind (user space only: the
    # kernel's share is not seen), a first visit from a plan, one process
    port_cg=$(free_port)
    cat > "$prefix/cg.conf" <<CONF
load_module $build/ngx_http_consent_module.so;
master_process off;
daemon off;
error_log $prefix/logs/cg.log warn;
pid $prefix/cg.pid;
events { worker_connections 64; }
http {
$(http_common)
    server {
        listen 127.0.0.1:$port_cg;
        root $prefix/html;
        consent on;
        consent_plan_cache 1m;
        location /consent/ { consent_endpoint; }
    }
}
CONF
    valgrind -q --tool=callgrind --callgrind-out-file="$prefix/cg.out" \
        nginx -p "$prefix/" -c "$prefix/cg.conf" &
    cg=$!
    for i in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port_cg/article.html" && break
        sleep 0.2
    done
    wrk -t1 -c1 -d"${seconds}s" "http://127.0.0.1:$port_cg/article.html" \
        | awk '/requests in/ { print "  (" $1 " requests under callgrind)" }'
    kill -QUIT "$cg"
    wait "$cg" || true
    echo
    echo "where nginx's instructions go, first visit (callgrind, self, top 25):"
    callgrind_annotate "$prefix/cg.out" 2>/dev/null \
        | sed -n '/^ *Ir/,$p' | head -n 30 || true
else
    echo "(no profile: BENCH_PROFILE=none, or neither perf nor valgrind here)"
fi
