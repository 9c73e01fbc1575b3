#!/usr/bin/env python3
"""bench/profile_ingest.py - one amrouter ingest run for profiling: posts N
alerts (default 100,000) in batches of 100 over 8 connections to a fresh
bin/amrouter and prints the rate, the server's user and system CPU, the
client's CPU and the p99 request latency. With PERF=1 it also records a
`perf record --call-graph dwarf` profile of the server during the ingest into
PERF_OUT (default /tmp/perf-PID.data); read it with `perf report -i FILE`
(`-s pid` splits it by thread: amr-engine, amr-storage, amr-checkpoint,
MHD-connection). REPO picks another checkout's bench/ and binary.

Usage: bench/profile_ingest.py [N]      (after `make`)

The server is started and stopped by PID like every bench row; loopback only.
For comparisons with Alertmanager use `make bench`.
"""
import os
import subprocess
import sys
import time

REPO = os.environ.get("REPO", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))

import common  # noqa: E402
import ingest  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    reqs = common.requests_for(common.alert_bodies(0, n, 100))
    with common.fresh_server("amrouter", ingest.CONFIG) as d:
        time.sleep(0.3)
        perf = None
        if os.environ.get("PERF"):
            out = os.environ.get("PERF_OUT", "/tmp/perf-%d.data" % os.getpid())
            perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "500",
                                     "-o", out, "-p", str(d.pid)], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        c0 = common.cpu_seconds(d.pid)
        r = common.post_requests(d.port, reqs, 8, 2)
        c1 = common.cpu_seconds(d.pid)
        if perf is not None:
            perf.send_signal(2)
            perf.wait(timeout=60)
    print("rate %.0f/s  cpu user %.2f sys %.2f  client %.2f  p99 %.1f ms  errors %d" % (
        n / r["seconds"], c1[0] - c0[0], c1[1] - c0[1], r["client_cpu_s"],
        common.pct(r["lat"], 99) * 1000, r["error_count"]))
    return 1 if r["error_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
