#!/usr/bin/env bash
# nginx's own test suite against an nginx with the module compiled in: once
# as it is ("base"), then once per mode with the module enabled in every
# test's http block (TEST_NGINX_GLOBALS_HTTP), and compare.pl checks that
# the results differ only where docs/testing.md says why.
#
#     bash tests/nginx-tests/suite.sh BUILD NGINX TESTS_TARBALL MODE...
#
# MODE is "module" (consent on, the banner off) or "banner" (the banner on).
# nginx-tests must not run as root (nginx's workers would run as nobody
# and could not read the suite's temporary directories): run as root, this
# creates the system user consent-tests and runs the suite as that user.

set -u

build=$1 nginx=$2 tarball=$3
shift 3

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tests=$build/nginx-tests
out=$build/nginx-tests-out
jobs=${NGINX_TESTS_JOBS:-$(( $(nproc) * 2 ))}

[ -x "$nginx" ] || { echo "no nginx at $nginx"; exit 1; }
[ -f "$tarball" ] \
    || { echo "no nginx-tests at $tarball (set VENDOR=)"; exit 1; }

# the suite's tree, from the tarball, afresh each time
rm -rf "$tests" "$out"
mkdir -p "$tests" "$out"
tar xzf "$tarball" -C "$tests" --strip-components=1

as=()
if [ "$(id -u)" = 0 ]; then
    id consent-tests >/dev/null 2>&1 \
        || useradd --system --no-create-home --home-dir /nonexistent \
                   --shell /usr/sbin/nologin consent-tests \
        || exit 1
    chown consent-tests "$out"
    as=(runuser -u consent-tests --)
fi

# a key the runner's nginx can read, made as consent-audit keygen makes it
"${as[@]}" mkdir "$out/keys" && \
    "${as[@]}" "$build/consent-audit" keygen "$out/keys" >/dev/null || exit 1

http="consent_secret $out/keys/secret.key;
    consent_category necessary required;
    consent_category analytics;
    consent_category marketing;
    consent_gate_host analytics www.google-analytics.com *.googletagmanager.com;
    consent_gate_host marketing connect.facebook.net *.facebook.com;
    consent_strip_cookie analytics _ga _ga_*;
    consent on;"

run() {
    local name=$1 globals=$2 skip=$3 t0=$SECONDS
    echo "== nginx-tests, $name: $(basename "$nginx") $("$nginx" -v 2>&1)"
    "${as[@]}" env TEST_NGINX_GLOBALS_HTTP="$globals" \
        perl "$here/run.pl" --tests "$tests" --nginx "$nginx" \
            --out "$out/$name.txt" --jobs "$jobs" ${skip:+--skip "$skip"} \
        > "$out/$name.log" 2>&1
    local rc=$?
    grep '^diag ' "$out/$name.log" | sed 's/^diag /   /'
    tail -n 1 "$out/$name.log"
    echo "   ($name: $((SECONDS - t0)) s, TAP output in $out/$name.log)"
    return $rc
}

fail=0

run base "" "" || fail=1
if grep -q $'\tfail' "$out/base.txt"; then
    echo "nginx-tests fail without the module enabled:"
    grep $'\tfail' "$out/base.txt" | sed 's/^/  /'
    fail=1
fi

for mode in "$@"; do
    case $mode in
    module) globals="$http consent_banner off;" ;;
    banner) globals="$http" ;;
    *) echo "unknown mode $mode"; exit 1 ;;
    esac

    perl "$here/compare.pl" --docs "$root/docs/testing.md" --mode "$mode" \
        --skips > "$out/$mode.skip" || exit 1

    run "$mode" "$globals" "$out/$mode.skip" || fail=1
    perl "$here/compare.pl" --docs "$root/docs/testing.md" --mode "$mode" \
        "$out/base.txt" "$out/$mode.txt" || fail=1
done

exit $fail
