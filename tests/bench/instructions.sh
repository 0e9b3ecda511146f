#!/usr/bin/env bash
# Benchmark (not a test): instructions per request, counted by callgrind,
# for two builds of the module in one run (BEFORE= and CONSENT_BUILD=),
# so that a change can be compared on a loaded machine: callgrind counts
# instructions, not seconds.  One nginx worker (master_process off) under
# valgrind; N requests of each kind:
#   article, first visit  the 55 KB article: gating, banner, consent default
#   article, refused      the same for a reader who refused everything
#   article, accepted     the same for a reader who accepted everything
#   small file, cookie    a 15-byte text file with a valid cookie
#   plan-*                first, refused and accepted again, in a location
#                         with consent_plan_cache: the file's edit plan
# Prints instructions per request for each build, and after/before.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
after=${CONSENT_BUILD:-$root/build}
before=${BEFORE:-}

if [ -z "$before" ]; then
    echo "instructions.sh: set BEFORE= to the build directory to compare with"
    echo "(e.g. make BUILD=/tmp/before all on the older commit); not run"
    exit 0
fi
n=${BENCH_REQUESTS:-200}

command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1:0")->sockport'
}

# instructions of one worker of build $1 that served $3 requests of kind $2
count() {    # $1 build dir, $2 kind, $3 requests
    local prefix port pid ir cookie
    prefix=$(mktemp -d /tmp/consent-bench-ir-XXXXXX)
    mkdir -p "$prefix/logs" "$prefix/html"
    head -c 32 /dev/urandom | tr '\n\r' 'ab' > "$prefix/secret.key"
    chmod 600 "$prefix/secret.key"
    cp "$root/tests/fixtures/vendors/article.html" "$prefix/html/"
    printf 'fifteen bytes.\n' > "$prefix/html/small.txt"
    port=$(free_port)
    cat > "$prefix/nginx.conf" <<CONF
load_module $1/ngx_http_consent_module.so;
master_process off;
daemon off;
error_log $prefix/logs/error.log warn;
pid $prefix/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    include /etc/nginx/mime.types;
    consent_secret secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    server {
        listen 127.0.0.1:$port;
        root $prefix/html;
        consent on;
        add_header X-C \$consent_state;
        consent_gate_host analytics www.googletagmanager.com
                          www.google-analytics.com *.hotjar.com;
        consent_gate_host marketing connect.facebook.net *.facebook.com;
        location /consent/ { consent_endpoint; }
        location /plan/ {
            alias $prefix/html/;
            consent_plan_cache 1m;
        }
    }
}
CONF
    valgrind --tool=callgrind --callgrind-out-file="$prefix/cg.out" \
        nginx -p "$prefix/" -c "$prefix/nginx.conf" \
        > "$prefix/valgrind.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/small.txt" && break
        sleep 0.2
    done
    case $2 in
    *accepted) action=accept_all ;;
    *)         action=reject_all ;;
    esac
    cookie=$(curl -s -D - -o /dev/null -H "Origin: http://127.0.0.1:$port" \
                 -d action=$action "http://127.0.0.1:$port/consent/" \
             | sed -n 's/^[Ss]et-[Cc]ookie: \(consent=[^;]*\).*/\1/p')
    case $2 in
    plan-*)  dir=/plan ;;
    *)       dir= ;;
    esac
    case $2 in
    *first)  url=$dir/article.html; hdr="X-N: 1" ;;
    *small)  url=$dir/small.txt;    hdr="Cookie: $cookie" ;;
    *)       url=$dir/article.html; hdr="Cookie: $cookie" ;;
    esac
    for _ in $(seq "$3"); do
        curl -s -o /dev/null -H "$hdr" "http://127.0.0.1:$port$url"
    done
    kill -QUIT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    ir=$(awk '/^summary:/ { print $2 }' "$prefix/cg.out")
    rm -rf "$prefix"
    echo "$ir"
}

# a worker that served 2n requests less one that served n: the cost of n
# requests, without the start-up and the warm-up (the POST of the cookie)
per_request() {    # $1 build dir, $2 kind
    local one two
    one=$(count "$1" "$2" "$n")
    two=$(count "$1" "$2" "$((2 * n))")
    echo $(( (two - one) / n ))
}

printf '%-12s %14s %14s %8s\n' "request" before after ratio
for kind in ${BENCH_KINDS:-first refused accepted small \
            plan-first plan-refused plan-accepted}; do
    b=$(per_request "$before" "$kind")
    a=$(per_request "$after" "$kind")
    printf '%-12s %14d %14d %8.3f\n' "$kind" "$b" "$a" \
        "$(echo "$a / $b" | bc -l)"
done
echo "(instructions per request of the nginx worker, by callgrind;"
echo " a ratio below 1 is fewer instructions after than before)"
