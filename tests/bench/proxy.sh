#!/usr/bin/env bash
# Benchmark (not a test): gating a proxied page against plain proxy_pass.
#
# The ~55 KB news article of tests/fixtures/vendors (GTM, gtag.js, a Meta
# Pixel, Hotjar) served by an upstream nginx of its own (one worker, kept
# alive), and proxied by a front nginx with one worker, in which, alternated
# in each round:
#   plain       proxy_pass, consent off
#   sub_filter  proxy_pass with nginx's sub_filter inserting the banner
#   module      consent on behind proxy_pass: a first visit (banner and
#               consent default), a reader who refused, one who accepted
#   catalogue   the same first visit with the rules an operator includes,
#               conf/trackers.conf (over 300 host patterns) instead of five
#   gzip        the upstream compresses: proxy_pass passing the gzip answer
#               through (consent off), and the module inflating and gating
#               it (a first visit), both to a reader who takes identity
# Ratios are per round, medians printed: of requests/s, and of the front
# worker's CPU time per request (the upstream's work is in another
# process, so not counted).  Target against plain proxy_pass: >= 0.9.
set -euo pipefail

. "$(dirname "$0")/lib/common.sh"
seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}

bench_init proxy

up=$prefix/up
mkdir -p "$up/logs" "$up/html"
cp "$article" "$up/html/article.html"
trap 'nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop 2>/dev/null;
      nginx -p "$up/" -c "$up/nginx.conf" -s stop 2>/dev/null;
      sleep 0.3; rm -rf "$prefix"' EXIT

port_up=$(free_port)
port_upgz=$(free_port)
port_plain=$(free_port)
port_sub=$(free_port)
port_on=$(free_port)
port_cat=$(free_port)
port_gz_off=$(free_port)
port_gz_on=$(free_port)

cat > "$up/nginx.conf" <<CONF
worker_processes 1;
error_log $up/logs/error.log warn;
pid $up/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    include /etc/nginx/mime.types;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port_up backlog=1024;
        root $up/html;
    }
    server {
        listen 127.0.0.1:$port_upgz backlog=1024;
        root $up/html;
        gzip on;
        gzip_min_length 0;
        gzip_comp_level 1;
    }
}
CONF
nginx -p "$up/" -c "$up/nginx.conf"

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
    consent_category_alias analytics replay abtest;
    consent_category_alias marketing advertising social video maps;
    consent_gate_host analytics *.googletagmanager.com
                                www.google-analytics.com static.hotjar.com;
    consent_gate_host marketing connect.facebook.net *.facebook.com;
    consent_google_mode analytics_storage=analytics ad_storage=marketing
                        ad_user_data=marketing ad_personalization=marketing;

    upstream up { server 127.0.0.1:$port_up; keepalive 32; }
    upstream upgz { server 127.0.0.1:$port_upgz; keepalive 32; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";

    server {
        listen 127.0.0.1:$port_plain backlog=1024;
        location / { proxy_pass http://up; }
    }

    server {
        listen 127.0.0.1:$port_sub backlog=1024;
        location / {
            proxy_pass http://up;
            proxy_set_header Accept-Encoding "";
            sub_filter '<body class="article-page">' '<body class="article-page">$1';
        }
    }

    server {
        listen 127.0.0.1:$port_on backlog=1024;
        consent on;
        location / { proxy_pass http://up; }
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:$port_cat backlog=1024;
        consent on;
        include $root/conf/trackers.conf;
        location / { proxy_pass http://up; }
        location /consent/ { consent_endpoint; }
    }

    server {
        listen 127.0.0.1:$port_gz_off backlog=1024;
        location / {
            proxy_pass http://upgz;
            proxy_set_header Accept-Encoding gzip;
        }
    }

    server {
        listen 127.0.0.1:$port_gz_on backlog=1024;
        consent on;
        location / {
            proxy_pass http://upgz;
            proxy_set_header Accept-Encoding gzip;
        }
        location /consent/ { consent_endpoint; }
    }
}
CONF
}

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

# the answers are what they should be before anything is timed
for p in $port_on $port_cat $port_gz_on; do
    first=$(curl -s "http://127.0.0.1:$p/article.html")
    case "$first" in *googletagmanager.com*|*facebook.net*|*hotjar.com*)
        echo "the module left a tracker (port $p)" >&2; exit 1 ;; esac
    case "$first" in *consent-banner*) ;; *)
        echo "no banner on a first visit (port $p)" >&2; exit 1 ;; esac
done
case "$(curl -s -H "Cookie: $accepted" "http://127.0.0.1:$port_on/article.html")" in
    *googletagmanager.com*) ;; *)
    echo "an accepted reader did not get the trackers" >&2; exit 1 ;; esac
case "$(curl -s -D - -o /dev/null "http://127.0.0.1:$port_gz_off/article.html")" in
    *"Content-Encoding: gzip"*) ;; *)
    echo "the upstream did not compress" >&2; exit 1 ;; esac

worker=$(ps -o pid= --ppid "$(cat "$prefix/nginx.pid")" | head -n 1 | tr -d ' ')
ticks() { awk '{ print $14 + $15 }' "/proc/$worker/stat"; }
writes() { awk '/^syscw:/ { print $2 }' "/proc/$worker/io"; }
hz=$(getconf CLK_TCK)

# run PORT [COOKIE]: "requests/s  worker CPU µs per request  writes per
# request" (write system calls of the front worker, writev among them: to
# the reader and to the upstream)
run() {
    local h=() out t0 t1 w0 w1
    [ -n "${2:-}" ] && h=(-H "Cookie: $2")
    t0=$(ticks); w0=$(writes)
    out=$(wrk -t1 -c16 -d"${seconds}s" "${h[@]}" "http://127.0.0.1:$1/article.html")
    t1=$(ticks); w1=$(writes)
    awk -v t=$((t1 - t0)) -v w=$((w1 - w0)) -v hz="$hz" '
        /requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
        END { printf "%s %.2f %.2f", r, t * 1e6 / hz / n, w / n }' <<< "$out"
}

cases=("plain $port_plain" "sub_filter $port_sub" "first $port_on"
       "refused $port_on $refused" "accepted $port_on $accepted"
       "catalogue $port_cat" "gz_off $port_gz_off" "gz_first $port_gz_on")

declare -A rps cpu wr all
for i in $(seq "$rounds"); do
    line="round $i:"
    for c in "${cases[@]}"; do
        set -- $c
        read -r rps[$1] cpu[$1] wr[$1] <<< "$(run "$2" "${3:-}")"
        line="$line $1 ${rps[$1]}/s ${cpu[$1]}us ${wr[$1]}w"
        all[${1}_wr]+=" ${wr[$1]}"
    done
    echo "$line"
    all[plain]+=" ${rps[plain]}"; all[plain_cpu]+=" ${cpu[plain]}"
    for c in sub_filter first refused accepted catalogue gz_off; do
        all[$c]+=" $(ratio "${rps[$c]}" "${rps[plain]}")"
        all[${c}_cpu]+=" $(ratio "${cpu[plain]}" "${cpu[$c]}")"
    done
    all[gz_first]+=" $(ratio "${rps[gz_first]}" "${rps[gz_off]}")"
    all[gz_first_cpu]+=" $(ratio "${cpu[gz_off]}" "${cpu[gz_first]}")"
    all[first_sub]+=" $(ratio "${rps[first]}" "${rps[sub_filter]}")"
done

m() { median ${all[$1]}; }

echo
echo "article ($(stat -c %s "$article") bytes) by proxy_pass, one front worker, ${rounds}x${seconds}s, load average $(cut -d' ' -f1-3 /proc/loadavg), medians of per-round ratios:"
printf '  plain proxy_pass:           %8.0f req/s, %s us of front worker CPU per request\n' "$(m plain)" "$(m plain_cpu)"
printf '  %-30s %8s %12s %10s %10s\n' "against plain proxy_pass" "req/s" "CPU/request" "target" "writes"
printf '  %-30s %8s %12s %10s %10s\n' "plain proxy_pass" 1 1 "" "$(m plain_wr)"
printf '  %-30s %8s %12s %10s %10s\n' "sub_filter (one banner)" "$(m sub_filter)" "$(m sub_filter_cpu)" "" "$(m sub_filter_wr)"
printf '  %-30s %8s %12s %10s %10s\n' "first visit" "$(m first)" "$(m first_cpu)" ">= 0.9" "$(m first_wr)"
printf '  %-30s %8s %12s %10s %10s\n' "refused" "$(m refused)" "$(m refused_cpu)" ">= 0.9" "$(m refused_wr)"
printf '  %-30s %8s %12s %10s %10s\n' "accepted" "$(m accepted)" "$(m accepted_cpu)" ">= 0.9" "$(m accepted_wr)"
printf '  %-30s %8s %12s %10s %10s\n' "first visit, trackers.conf" "$(m catalogue)" "$(m catalogue_cpu)" "" "$(m catalogue_wr)"
printf '  %-30s %8s %12s %10s %10s\n' "gzip passed through, module off" "$(m gz_off)" "$(m gz_off_cpu)" "" "$(m gz_off_wr)"
printf '  gzip inflated and gated, first visit, against gzip passed through: %s req/s, %s CPU\n' "$(m gz_first)" "$(m gz_first_cpu)"
printf '  first visit / sub_filter:   %8s req/s\n' "$(m first_sub)"
echo "  (CPU/request: plain proxy_pass's front worker CPU per request over the case's;"
echo "   writes: the front worker's write system calls per request, to reader and upstream)"

# --- where the time goes --------------------------------------------------

# BENCH_PROFILE: perf (by default, where it runs) or none
if [ "$(bench_profile)" = perf ]; then
    bench_perf plain "$port_plain"
    bench_perf first "$port_on"
    bench_perf refused "$port_on" "$refused"
fi
