#!/bin/sh
# `make bench`: the performance table of amrouter against Alertmanager (see
# bench/table.py and docs/performance.md). Environment: BINDIR (where
# amrouter is), BUILD (where bench/bench_templates is), PYTHON (Debian's
# python3). Rewrites the results section of docs/performance.md; arguments
# (or BENCH_ARGS from make: `make bench BENCH_ARGS=--quick`) go to
# bench/table.py: --quick, --only ROW, --server NAME, --rounds N, --json FILE.
set -eu
cd "$(dirname "$0")/.."
BINDIR=${BINDIR:-bin}
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
case "$BINDIR" in
    /*) ;;
    *) BINDIR="$(pwd)/$BINDIR" ;;
esac
case "$BUILD" in
    /*) ;;
    *) BUILD="$(pwd)/$BUILD" ;;
esac
cmd="make bench"
[ $# -gt 0 ] && cmd="make bench BENCH_ARGS='$*'"
BENCH_COMMAND=$cmd BUILD="$BUILD" AMROUTER_BIN="$BINDIR/amrouter" \
    exec "$PYTHON" bench/table.py --out docs/performance.md "$@"
