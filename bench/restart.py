"""bench/restart.py - the restart row of `make bench` (also usable alone):
time from exec to GET /-/ready answering 200 for a server whose storage holds
N alerts (default 100k) and S silences (default 10k).

A fresh server (new temp dir) is given the alerts (batches of 1,000) and the
silences (one POST each, silence i matching alert i's instance), stopped with
SIGTERM, then started again `restarts` times on the same storage; each time
the clock runs from just before exec until /-/ready answers 200 (polled every
5 ms), after which the alerts and active silences the server holds are
counted (both servers: their /metrics alert gauges) and
one silence is looked up by ID. Alertmanager keeps alerts in memory only (it
snapshots silences and the notification log to disk), so after its restart
it holds the silences but none of the alerts: the row says so.

After the last restart, GET /api/v2/silences is timed once (bounded by
probe_timeout, default 30 s): listing state with many alerts and silences
stored is part of what a restarted server must do cheaply.

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
import harness  # noqa: E402  (tests/integration, put on sys.path by common)

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


def _held_alerts(d):
    """Alerts the server holds right after a restart, from its /metrics
    alert gauges (both servers count without building the alert list)."""
    return common.count_alerts(d.port)


def _silence_active(d, sid):
    status, body = common.http_get(d.port, "/api/v2/silence/" + sid, timeout=30)
    return status == 200 and json.loads(body).get("status", {}).get("state") == "active"


def probe_list_silences(d, timeout):
    """(seconds, active silences) for GET /api/v2/silences, or (None, -1)
    when it did not answer within timeout seconds."""
    t = time.monotonic()
    try:
        status, body = common.http_get(d.port, "/api/v2/silences", timeout=timeout)
    except OSError:
        return None, -1
    el = time.monotonic() - t
    if status != 200:
        return el, -1
    return el, sum(1 for x in json.loads(body) if x.get("status", {}).get("state") == "active")


def one_server(name, n_alerts, n_silences, restarts, procs, log=print, probe_timeout=30):
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
        sid = None
        if n_silences:
            bodies = common.silence_bodies(n_silences)
            r = common.post_requests(d.port, common.requests_for(
                bodies[:-1], "/api/v2/silences"), 8, procs)
            res["error_count"] += r["error_count"]
            res["errors"] += r["errors"][:3]
            # the last one on its own, to know an ID to look up after restarts
            x = harness.request("POST", d.url + "/api/v2/silences", bodies[-1],
                                headers={"Content-Type": "application/json"}, timeout=60)
            if x.status == 200:
                sid = x.json()["silenceID"]
            else:
                res["error_count"] += 1
                res["errors"].append(f"silence: HTTP {x.status} {x.body[:200]!r}")
        res["rss_before_kib"] = common.rss_kib(d.pid)[0]
        for _ in range(restarts):
            d.stop(timeout=60)
            t = time_to_ready(d)
            res["ready_s"].append(t)
            res.setdefault("ready_cpu_s", []).append(common.cpu_total(d.pid))
            res["rss_kib"] = common.rss_kib(d.pid)[0]
            after = {"alerts": _held_alerts(d),
                     "silence_kept": bool(sid) and _silence_active(d, sid)}
            res["after"].append(after)
            log(f"  {name:12s} ready {t * 1000:7.0f} ms after exec (CPU so far "
                f"{res['ready_cpu_s'][-1]:.2f} s), holds "
                f"{after['alerts']:,}/{n_alerts:,} alerts; a silence looked up by ID "
                f"{'is still active' if after['silence_kept'] else 'is GONE'}")
        el, n = probe_list_silences(d, probe_timeout)
        res["list_silences_s"] = el
        res["listed_silences"] = n
        log(f"  {name:12s} GET /api/v2/silences: "
            + (f"{n:,} active silences in {el:.2f} s" if el is not None
               else f"no answer within {probe_timeout} s"))
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
