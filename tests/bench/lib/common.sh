# Sourced by the benchmarks of the gating filter (gate.sh, static.sh; not
# one itself, so not in tests/bench/*.sh): a temporary prefix with a key
# and the article, stopped and removed at the end; free ports; medians and
# ratios; the banner as the module renders it.

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CONSENT_BUILD:-$root/build}
article=$root/tests/fixtures/vendors/article.html

bench_init() {    # bench_init NAME: $prefix, with html/article.html
    prefix=$(mktemp -d "/tmp/consent-bench-$1-XXXXXX")
    trap 'nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop 2>/dev/null; rm -rf "$prefix"' EXIT
    chmod 755 "$prefix"
    mkdir -p "$prefix/logs" "$prefix/html"
    openssl rand -out "$prefix/secret.key" 32
    chmod 600 "$prefix/secret.key"
    cp "$article" "$prefix/html/article.html"
}

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1:0")->sockport'
}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# bench_banner PORT CONF: the banner of the article as the module on PORT
# renders it, for sub_filter (quotes escaped), from the configuration CONF
# makes with a placeholder banner
bench_banner() {
    local banner
    $2 'banner'
    nginx -p "$prefix/" -c "$prefix/nginx.conf"
    sleep 0.5
    banner=$(curl -s "http://127.0.0.1:$1/article.html" \
             | perl -0ne 'print $1 if m{(<div class="consent consent-banner".*?</script></div>)}s')
    nginx -p "$prefix/" -c "$prefix/nginx.conf" -s stop
    while [ -f "$prefix/nginx.pid" ]; do sleep 0.1; done
    [ -n "$banner" ] || { echo "no banner in the module's answer" >&2; exit 1; }
    printf '%s' "$banner" | sed "s/'/\\\\'/g"
}

# bench_profile: $BENCH_PROFILE, or by default perf where it runs, else
# callgrind where valgrind is installed, else none
bench_profile() {
    local profile=${BENCH_PROFILE:-auto}
    if [ "$profile" = auto ]; then
        profile=none
        command -v valgrind >/dev/null && profile=callgrind
        command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1 \
            && profile=perf
    fi
    echo "$profile"
}

# bench_perf CASE PORT [COOKIE]: where $worker's time goes while wrk asks
# PORT for the article (perf, self time, by symbol and by part)
bench_perf() {
    local h=()
    [ -n "${3:-}" ] && h=(-H "Cookie: $3")
    wrk -t1 -c16 -d"$((seconds + 2))s" "${h[@]}" \
        "http://127.0.0.1:$2/article.html" >/dev/null &
    sleep 1
    perf record -q ${BENCH_PERF_OPTS:-} -o "$prefix/perf.data" -p "$worker" -- sleep "$seconds" \
        >/dev/null 2>&1
    wait
    echo
    echo "where the worker's time goes, $1 (perf, self time, top 25):"
    perf report -q -i "$prefix/perf.data" --stdio --no-children \
        --sort dso,symbol 2>/dev/null | grep -v '^$' | head -n 25 || true
    echo "  by part:"
    perf report -q -i "$prefix/perf.data" --stdio --no-children \
        --sort dso 2>/dev/null | grep -v '^$' | head -n 6 || true
}
