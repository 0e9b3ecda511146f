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
# Ratios are per round (the machine drifts between rounds, not within
# one), medians printed.  Targets against plain: first visit >= 0.8,
# refused >= 0.8, accepted >= 0.9.  Then where the worker's time goes, by
# perf (if it runs here) on the first visit.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}

bench_init static

port_on=$(free_port)
port_full=$(free_port)
port_sub=$(free_port)
port_off=$(free_port)

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
        sub_filter '</body>' '$1</body>';
    }

    server {
        listen 127.0.0.1:$port_off backlog=1024;
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

rps() {    # rps PORT [COOKIE]
    local h=()
    [ -n "${2:-}" ] && h=(-H "Cookie: $2")
    wrk -t1 -c16 -d"${seconds}s" "${h[@]}" "http://127.0.0.1:$1/article.html" \
        | awk '/Requests\/sec/ { print $2 }'
}


declare -A all
for i in $(seq "$rounds"); do
    off=$(rps "$port_off")
    sub=$(rps "$port_sub")
    on1=$(rps "$port_on")
    on2=$(rps "$port_on" "$refused")
    on3=$(rps "$port_on" "$accepted")
    fu1=$(rps "$port_full")
    fu2=$(rps "$port_full" "$refused")
    fu3=$(rps "$port_full" "$accepted")
    echo "round $i: plain $off, sub_filter $sub, first $on1, refused $on2, accepted $on3, full scan $fu1 / $fu2 / $fu3 req/s"
    all[plain]+=" $off"; all[sub_filter]+=" $sub"
    all[first]+=" $(ratio "$on1" "$off")"
    all[refused]+=" $(ratio "$on2" "$off")"
    all[accepted]+=" $(ratio "$on3" "$off")"
    all[first_sub]+=" $(ratio "$on1" "$sub")"
    all[refused_sub]+=" $(ratio "$on2" "$sub")"
    all[full_first]+=" $(ratio "$fu1" "$off")"
    all[full_refused]+=" $(ratio "$fu2" "$off")"
    all[full_accepted]+=" $(ratio "$fu3" "$off")"
done

m() { median ${all[$1]}; }

echo
echo "article ($(stat -c %s "$article") bytes), one worker, ${rounds}x${seconds}s, load average $(cut -d' ' -f1-3 /proc/loadavg), medians:"
printf '  plain file (sendfile):           %10.0f req/s\n' "$(m plain)"
printf '  sub_filter (one banner):         %10.0f req/s\n' "$(m sub_filter)"
printf '  first visit   / plain:           %10s   (target >= 0.8)\n' "$(m first)"
printf '  refused       / plain:           %10s   (target >= 0.8)\n' "$(m refused)"
printf '  accepted      / plain:           %10s   (target >= 0.9)\n' "$(m accepted)"
printf '  first visit   / sub_filter:      %10s\n' "$(m first_sub)"
printf '  refused       / sub_filter:      %10s\n' "$(m refused_sub)"
printf '  full scan (plan cache off) / plain: first %s, refused %s, accepted %s\n' \
    "$(m full_first)" "$(m full_refused)" "$(m full_accepted)"

# --- where the time goes --------------------------------------------------

if [ "${BENCH_PERF:-1}" = 1 ] && command -v perf >/dev/null \
    && perf stat -e task-clock true >/dev/null 2>&1
then
    worker=$(ps -o pid= --ppid "$(cat "$prefix/nginx.pid")" | head -n 1 | tr -d ' ')
    for case in first accepted; do
        h=()
        [ "$case" = accepted ] && h=(-H "Cookie: $accepted")
        wrk -t1 -c16 -d"$((seconds + 2))s" "${h[@]}" \
            "http://127.0.0.1:$port_on/article.html" >/dev/null &
        sleep 1
        perf record -q -o "$prefix/perf.data" -p "$worker" -- sleep "$seconds" \
            >/dev/null 2>&1
        wait
        echo
        echo "where the worker's time goes, $case (perf, self time, top 25):"
        perf report -q -i "$prefix/perf.data" --stdio --no-children \
            --sort dso,symbol 2>/dev/null | grep -v '^$' | head -n 25
        echo "  by part:"
        perf report -q -i "$prefix/perf.data" --stdio --no-children \
            --sort dso 2>/dev/null | grep -v '^$' | head -n 6
    done
else
    echo "(perf is not available here: no profile)"
fi
