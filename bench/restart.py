"""bench/restart.py - the restart row of `make bench` (also usable alone):
time from exec to GET /-/ready answering 200 for a server whose storage holds
N alerts (default 100k) and S silences (default 10k).

A fresh server (new temp dir) is given the alerts (batches of 1,000) and the
silences (one POST each, silence i matching alert i's instance), stopped with
SIGTERM, then started again `restarts` times on the same storage; each time
the clock runs from just before exec until /-/ready answers 200 (polled every
5 ms), after which the alerts and active silences the server holds are
counted. Alertmanager keeps alerts in memory only (it snapshots silences and
the notification log to disk), so after its restart it holds the silences but
none of the alerts: the row says so.

    python3 bench/restart.py [--alerts N] [--silences S] [--restarts R]
        [--only amrouter|alertmanager]   (prints JSON)

Invariants: loopback only; every server is stopped by PID (also on error);
every wait is bounded.
"""
import argparse
import json
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


def time_to_ready(d, timeout=120):
    """Starts d (stopped) and returns seconds from exec to /-/ready 200."""
    t0 = time.monotonic()
    d.start(wait=False)
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if common.ready_now(d.port):
            return time.monotonic() - t0
        if not d.running:
            raise RuntimeError(f"{d.name} exited during restart; log:\n{d.logs()[-2000:]}")
        time.sleep(0.005)
    raise RuntimeError(f"{d.name} not ready {timeout} s after restart")


def one_server(name, n_alerts, n_silences, restarts, procs, log=print):
    res = {"server": name, "alerts": n_alerts, "silences": n_silences, "error_count": 0,
           "errors": [], "ready_s": [], "after": []}
    d = common.CLASSES[name](CONFIG)
    try:
        d.start(timeout=60)
        if n_alerts:
            r = common.post_requests(d.port, common.requests_for(
                common.alert_bodies(0, n_alerts, 1000)), 8, procs)
            res["error_count"] += r["error_count"]
            res["errors"] += r["errors"][:3]
        if n_silences:
            r = common.post_requests(d.port, common.requests_for(
                common.silence_bodies(n_silences), "/api/v2/silences"), 8, procs)
            res["error_count"] += r["error_count"]
            res["errors"] += r["errors"][:3]
        res["before"] = {"alerts": common.count_alerts(d.port),
                         "silences": common.count_silences(d.port)}
        for _ in range(restarts):
            d.stop(timeout=60)
            t = time_to_ready(d)
            res["ready_s"].append(t)
            res["rss_kib"] = common.rss_kib(d.pid)[0]
            after = {"alerts": common.count_alerts(d.port),
                     "silences": common.count_silences(d.port)}
            res["after"].append(after)
            log(f"  {name:12s} ready {t * 1000:7.0f} ms after exec, holds "
                f"{after['alerts']:,}/{n_alerts:,} alerts and {after['silences']:,}/"
                f"{n_silences:,} silences")
    finally:
        d.cleanup()
    res["ready_s_median"] = sorted(res["ready_s"])[len(res["ready_s"]) // 2]
    return res


def run(n_alerts, n_silences, restarts, servers, procs, log=print):
    log(f"restart: {n_alerts:,} alerts and {n_silences:,} silences stored, "
        f"{restarts} restart(s) each")
    return {s: one_server(s, n_alerts, n_silences, restarts, procs, log) for s in servers}


def main(argv=None):
    ap = argparse.ArgumentParser(description="time from exec to /-/ready with state stored")
    ap.add_argument("--alerts", type=int, default=100000)
    ap.add_argument("--silences", type=int, default=10000)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--only", choices=common.SERVERS)
    ap.add_argument("--clients", type=int, default=2)
    a = ap.parse_args(argv)
    common.install_sigterm()
    servers = [a.only] if a.only else list(common.SERVERS)
    out = run(a.alerts, a.silences, a.restarts, servers, a.clients,
              log=lambda s: print(s, file=sys.stderr))
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
