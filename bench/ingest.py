#!/usr/bin/env python3
"""bench/ingest.py - the ingest rows of `make bench`: alerts/s and p50/p99
request latency of POST /api/v2/alerts, amrouter against Alertmanager.

For every case (batch size, connections, alerts) it runs `rounds` rounds,
alternating the servers within a round so that load from elsewhere on the
machine hits both alike; every round starts a fresh server in a new temp dir,
posts the same pre-encoded bodies, reads the server's CPU (user+sys from
/proc/PID/stat; also once the server has
gone idle, to count work deferred past its answers) and RSS, then checks from /metrics that every alert is held.
The round with the median rate is reported, with every round's rate.

Run alone: `bench/ingest.py` is `bench/table.py --only ingest` (same flags).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

CONFIG = """global:
  resolve_timeout: 1h
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: blackhole
"""


def one_round(name, reqs, n, conns, procs, log):
    with common.fresh_server(name, CONFIG) as d:
        time.sleep(0.3)
        cpu0 = common.cpu_seconds(d.pid)
        r = common.post_requests(d.port, reqs, conns, procs)
        cpu1 = common.cpu_seconds(d.pid)
        cpu_settled = common.settled_cpu(d.pid)
        rss, hwm = common.rss_kib(d.pid)
        stored = common.count_alerts(d.port)
    lat = r["lat"]
    res = {"server": name, "alerts": n, "requests": len(reqs), "seconds": r["seconds"],
           "rate": n / r["seconds"] if r["seconds"] > 0 else 0.0,
           "p50_ms": common.pct(lat, 50) * 1000, "p99_ms": common.pct(lat, 99) * 1000,
           "max_ms": lat[-1] * 1000 if lat else 0.0,
           "server_cpu_s": (cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1]),
           "server_cpu_settled_s": cpu_settled - cpu0[0] - cpu0[1],
           "client_cpu_s": r["client_cpu_s"], "client_busy": r["client_busy"],
           "rss_kib": rss, "hwm_kib": hwm, "stored": stored,
           "error_count": r["error_count"], "errors": r["errors"][:5]}
    log(f"  {name:12s} {res['rate']:9.0f} alerts/s  p50 {res['p50_ms']:7.2f} ms  p99 "
        f"{res['p99_ms']:7.2f} ms  server CPU {res['server_cpu_s']:.2f}s "
        f"({res['server_cpu_settled_s']:.2f}s settled)  client CPU "
        f"{res['client_cpu_s']:.2f}s (busiest {res['client_busy']:.0%})  RSS "
        f"{rss / 1024:.0f} MiB  stored {stored}/{n}  errors {r['error_count']}")
    for e in r["errors"][:3]:
        log("     " + e)
    return res


def run(cases, rounds, servers, procs, log=print):
    """cases: list of (batch, conns, alerts). Returns a list of dicts, one per
    case: {batch, conns, alerts, rounds, <server>: median round + rates}."""
    out = []
    for batch, conns, n in cases:
        log(f"ingest: {n:,} alerts, batches of {batch}, {conns} connections, "
            f"{rounds} round(s)")
        reqs = common.requests_for(common.alert_bodies(0, n, batch))
        per = {s: [] for s in servers}
        for _ in range(rounds):
            for s in servers:
                per[s].append(one_round(s, reqs, n, conns, procs, log))
        del reqs
        case = {"batch": batch, "conns": conns, "alerts": n, "rounds": rounds}
        for s, rs in per.items():
            med = dict(sorted(rs, key=lambda r: r["rate"])[len(rs) // 2])
            med["rates"] = [r["rate"] for r in rs]
            med["error_count"] = sum(r["error_count"] for r in rs)
            med["all_stored"] = all(r["stored"] == r["alerts"] for r in rs)
            case[s] = med
        out.append(case)
    return out


if __name__ == "__main__":
    import table
    sys.exit(table.main(["--only", "ingest"] + sys.argv[1:]))
