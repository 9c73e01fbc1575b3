#!/bin/sh
# Runs every unit test binary under $BUILD/tests, the fuzz regression replays
# under $BUILD/fuzz, every integration test under tests/integration and the
# fault tests under tests/faults, then prints one summary line and exits non-zero on
# any failure. Environment: BUILD (object tree), BINDIR (amrouter/amctl),
# PYTHON (Debian's python3, which has aiosmtpd).
set -u
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-bin}
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
failed_names=""
log=$(mktemp)

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    CMOCKA_MESSAGE_OUTPUT=STDOUT "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        [ -n "$f" ] && [ "$f" -gt 0 ] || failed=$((failed + 1))
        failed_names="$failed_names $name"
    fi
done

# Fuzz regressions: each $BUILD/fuzz/fuzz_NAME (the target linked with
# tests/fuzz/replay.c) replays tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME;
# one target that runs every input without a crash counts as one passed test.
for t in "$BUILD"/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    "$t" "tests/fuzz/corpus/${name#fuzz_}" "tests/fuzz/regressions/${name#fuzz_}" >"$log" 2>&1
    rc=$?
    cat "$log"
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
    else
        echo "$name: FAILED (exit $rc)"
        failed=$((failed + 1))
        failed_names="$failed_names $name"
    fi
done

if [ "${AMR_SKIP_INTEGRATION:-0}" != 1 ] && [ -d tests/integration ]; then
    AMROUTER_BIN="$(pwd)/$BINDIR/amrouter" AMCTL_BIN="$(pwd)/$BINDIR/amctl" \
        "$PYTHON" tests/integration/run.py >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        [ -n "$f" ] && [ "$f" -gt 0 ] || failed=$((failed + 1))
        failed_names="$failed_names integration"
    fi
fi
# Fault injection (tests/faults): kill -9 under load, broken receivers, disk full,
# a locked database, idle and oversized connections. About a minute and a half.
if [ "${AMR_SKIP_FAULTS:-0}" != 1 ] && [ -d tests/faults ]; then
    AMROUTER_BIN="$(pwd)/$BINDIR/amrouter" AMCTL_BIN="$(pwd)/$BINDIR/amctl" \
        "$PYTHON" tests/faults/run.py >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^faults: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^faults: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        [ -n "$f" ] && [ "$f" -gt 0 ] || failed=$((failed + 1))
        failed_names="$failed_names faults"
    fi
fi
rm -f "$log"

echo
[ -n "$failed_names" ] && echo "failing:$failed_names"
echo "Summary: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ -z "$failed_names" ]
