#!/bin/sh
# `make bench`: the ingest benchmark of amrouter against Alertmanager (see
# bench/ingest.py and docs/performance.md). Environment: BINDIR (where
# amrouter is), PYTHON (Debian's python3). Rewrites the results section of
# docs/performance.md; extra arguments go to bench/ingest.py.
set -eu
cd "$(dirname "$0")/.."
BINDIR=${BINDIR:-bin}
PYTHON=${PYTHON:-/usr/bin/python3}
case "$BINDIR" in
    /*) ;;
    *) BINDIR="$(pwd)/$BINDIR" ;;
esac
AMROUTER_BIN="$BINDIR/amrouter" exec "$PYTHON" bench/ingest.py --out docs/performance.md "$@"
