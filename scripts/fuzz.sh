#!/bin/sh
# make fuzz: builds every tests/fuzz/fuzz_*.c with clang's libFuzzer plus
# AddressSanitizer and UndefinedBehaviorSanitizer (library in build/libfuzzer),
# then runs each target for FUZZ_SECONDS (default 60) on a working copy of its
# seed corpus. A crash, leak, timeout or sanitizer report fails the run; the
# input is left in build/libfuzzer/crashes/NAME/ and the script says how to
# keep it as a regression (tests/fuzz/regressions/NAME/, replayed by make test).
# Environment: FUZZ_SECONDS, FUZZ_TARGETS (names without fuzz_, default all),
# FUZZ_MERGE=1 merges the new coverage back into tests/fuzz/corpus/NAME/.
# Needs clang (Debian's clang package); installs it when missing and root.
set -u
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
OUT=build/libfuzzer
CLANG=${CLANG:-clang}

if ! command -v "$CLANG" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "fuzz: installing clang" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang >&2 ||
            { echo "fuzz: clang is missing and could not be installed" >&2; exit 1; }
    else
        echo "fuzz: clang is missing (apt-get install clang)" >&2
        exit 1
    fi
fi

SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
make --no-print-directory BUILD=$OUT CC="$CLANG" OPT="-O1 -g" SAN="$SAN" $OUT/libamrouter.a \
    >"$OUT.log" 2>&1 || { mkdir -p $OUT; tail -n 30 "$OUT.log" >&2; exit 1; }

PKGS="libmicrohttpd libcurl yaml-0.1 sqlite3 jansson libpcre2-8 libcrypto"
CFLAGS="-std=c11 -O1 -g -I. -I$OUT/gen -D_GNU_SOURCE $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread -lm"
targets=${FUZZ_TARGETS:-$(for f in tests/fuzz/fuzz_*.c; do n=${f##*/fuzz_}; echo "${n%.c}"; done)}

passed=0
failed=0
failed_names=""
for name in $targets; do
    bin=$OUT/fuzz_$name
    $CLANG $CFLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -o "$bin" "tests/fuzz/fuzz_$name.c" $OUT/libamrouter.a $LIBS ||
        { failed=$((failed + 1)); failed_names="$failed_names $name"; continue; }
    work=$OUT/corpus/$name
    crashes=$OUT/crashes/$name
    rm -rf "$crashes"
    mkdir -p "$work" "$crashes"
    cp -n tests/fuzz/corpus/$name/* "$work"/ 2>/dev/null
    [ -d tests/fuzz/regressions/$name ] && cp -n tests/fuzz/regressions/$name/* "$work"/ 2>/dev/null
    echo "fuzz: $name for ${FUZZ_SECONDS}s (corpus $work)"
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" >"$OUT/$name.log" 2>&1
    rc=$?
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$OUT/$name.log" |
        tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        failed_names="$failed_names $name"
        grep -E 'ERROR|SUMMARY|invariant|==[0-9]+==' "$OUT/$name.log" | head -n 20
        echo "fuzz: $name FAILED (log $OUT/$name.log); keep the input with:"
        for c in "$crashes"/*; do
            [ -f "$c" ] && echo "  mkdir -p tests/fuzz/regressions/$name && cp $c tests/fuzz/regressions/$name/"
        done
        continue
    fi
    passed=$((passed + 1))
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        "$bin" -merge=1 "tests/fuzz/corpus/$name" "$work" >>"$OUT/$name.log" 2>&1
    fi
done
echo
[ -n "$failed_names" ] && echo "failing:$failed_names"
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
