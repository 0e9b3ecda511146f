#!/usr/bin/env bash
# make test's stages, each to the end even when one fails: each one's output
# as it runs, then one line per stage (result, wall time), the total, and
# "N passed, N failed" alone on the last line. Exit status 1 if any failed.
#
#     BUILD=build MAKE=make bash tests/stages.sh unit fuzz integration ...

set -u
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
mkdir -p "$BUILD"

# what the checkout looks like before the tests: the tree stage compares
git status --porcelain --untracked-files=all > "$BUILD/tree.before" \
    2>/dev/null || rm -f "$BUILD/tree.before"

declare -a lines
passed=0 failed=0 start=$(date +%s)

for stage in "$@"; do
    echo
    echo "==== make $stage"
    t0=$(date +%s)
    if $MAKE --no-print-directory BUILD="$BUILD" "$stage"; then
        result=passed; passed=$((passed + 1))
    else
        result=FAILED; failed=$((failed + 1))
    fi
    t=$(( $(date +%s) - t0 ))
    lines+=("$(printf '  %-22s %-7s %4d:%02d' "$stage" "$result" \
                      $((t / 60)) $((t % 60)))")
done

t=$(( $(date +%s) - start ))
echo
echo "==== make test: $# stages"
printf '%s\n' "${lines[@]}"
printf '  %-30s %4d:%02d\n' total $((t / 60)) $((t % 60))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
