"""bench/memory.py - the memory row of `make bench`: resident memory (VmRSS)
of a fresh server idle and with N1 < N2 < N3 active alerts (default 10k,
100k, 1M), and the cost per alert.

One fresh server per kind; the alerts are posted in steps (0 -> N1 -> N2 ->
N3, batches of 1,000 over 8 connections) and VmRSS is read after each step
once the server has been idle for `settle` seconds. Per-alert cost is given
two ways: (RSS(N) - idle RSS) / N at each point, and the slope between
consecutive points (RSS(N2) - RSS(N1)) / (N2 - N1), which leaves out fixed
costs. The alert count is checked from /metrics only after the last reading
(amrouter builds its alert list to count, which would inflate later
readings). resolve_timeout is 1h so every alert stays active.

Invariants: bodies for a step are built just before it (not all at once),
so the load generator's own memory stays bounded; servers are stopped by PID.
"""
import time

import common

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


def settled_count(port, expected, reads=20, pause=0.5):
    """The server's held-alert gauge once it has settled: Alertmanager updates
    its alertmanager_alerts gauge asynchronously and, right after a 1M-alert
    ingest, was seen reading 1,174,472. Read until it equals `expected` or
    gives the same figure three times in a row (bounded: `reads` reads)."""
    last, same, n = None, 0, -1
    for _ in range(reads):
        n = common.count_alerts(port)
        if n == expected:
            return n
        same = same + 1 if n == last else 1
        if same >= 3:
            return n
        last = n
        time.sleep(pause)
    return n


def one_server(name, points, procs, settle, log):
    res = {"server": name, "points": [], "error_count": 0, "errors": []}
    with common.fresh_server(name, CONFIG) as d:
        time.sleep(settle)
        res["idle_kib"] = common.rss_kib(d.pid)[0]
        done = 0
        t_all = 0.0
        for n in points:
            reqs = common.requests_for(common.alert_bodies(done, n - done, 1000))
            r = common.post_requests(d.port, reqs, 8, procs, timeout=900)
            del reqs
            t_all += r["seconds"]
            res["error_count"] += r["error_count"]
            res["errors"] += r["errors"][:3]
            done = n
            time.sleep(settle)
            rss, hwm = common.rss_kib(d.pid)
            res["points"].append({"alerts": n, "rss_kib": rss, "hwm_kib": hwm,
                                  "ingest_s": r["seconds"],
                                  "client_busy": r["client_busy"]})
            log(f"  {name:12s} {n:>9,} alerts  RSS {rss / 1024:8.1f} MiB  peak "
                f"{hwm / 1024:8.1f} MiB  (step took {r['seconds']:.1f} s, errors "
                f"{r['error_count']})")
        res["server_cpu_s"] = common.cpu_total(d.pid)
        res["stored"] = settled_count(d.port, points[-1])
    idle = res["idle_kib"]
    prev = None
    for p in res["points"]:
        p["per_alert_bytes"] = (p["rss_kib"] - idle) * 1024 / p["alerts"]
        if prev is not None:
            p["slope_bytes"] = ((p["rss_kib"] - prev["rss_kib"]) * 1024
                                / (p["alerts"] - prev["alerts"]))
        prev = p
    res["alerts"] = points[-1]
    log(f"  {name:12s} idle {idle / 1024:.1f} MiB, stored {res['stored']}/{points[-1]}, "
        + ", ".join(f"{p['per_alert_bytes']:.0f} B/alert at {p['alerts']:,}"
                    for p in res["points"]))
    return res


def run(points, servers, procs, settle=1.0, log=print):
    log(f"memory: RSS idle and with {', '.join(f'{p:,}' for p in points)} active alerts")
    return {s: one_server(s, points, procs, settle, log) for s in servers}
