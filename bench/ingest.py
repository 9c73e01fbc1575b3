#!/usr/bin/env python3
"""bench/ingest.py - ingest benchmark: amrouter against Alertmanager, same run.

Posts N distinct alerts (default 100,000) in batches (default 100) over C
persistent connections (default 8) to POST /api/v2/alerts of a freshly
started Alertmanager, then of a freshly started amrouter, one after the other
with the same config and the same pre-encoded request bodies, and reports for
each: alerts per second (N / wall time of the whole ingest), p50 and p99
request latency, resident memory after the ingest (VmRSS) and its peak
(VmHWM), and the ratios amrouter / Alertmanager. After each ingest it checks
with GET /api/v2/alerts that every alert is there.

It does this in --rounds rounds (default 3), alternating between the two
servers, each round with fresh servers; the round with the median rate is
reported (with every round's rate). With --out FILE it rewrites the part of FILE between the lines
`<!-- bench:begin -->` and `<!-- bench:end -->` with the results, the date
and the machine; the rest of the file is left alone.

The client runs on the same 2-core machine as the server (as the issue asks);
it encodes every body before the clock starts, so the measured time is the
server's plus the loopback round trips. Only 127.0.0.1 is used; every process
started here is stopped by its PID.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from sbs_harness import Alertmanager, Amrouter, amrouter_runnable  # noqa: E402

CONFIG = """global:
  resolve_timeout: 5m
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: blackhole
"""

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def make_bodies(n, batch, run_id):
    """Pre-encoded request bodies: n distinct alerts, `batch` per request."""
    now = datetime.datetime.now(datetime.timezone.utc)
    starts = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    bodies = []
    for b in range(0, n, batch):
        alerts = []
        for i in range(b, min(n, b + batch)):
            alerts.append({
                "labels": {"alertname": f"Bench{i % 10}", "job": "bench",
                           "instance": f"host-{i:06d}:9100", "run": run_id,
                           "severity": "critical" if i % 7 == 0 else "warning"},
                "annotations": {"summary": f"bench alert {i}",
                                "description": "synthetic load from bench/ingest.py"},
                "startsAt": starts,
                "generatorURL": f"http://bench.invalid/graph?g0.expr=up%7Bi%3D{i}%7D",
            })
        bodies.append(json.dumps(alerts).encode())
    return bodies


def post_all(port, bodies, conns):
    """Sends every body over `conns` keep-alive connections; returns
    (wall seconds, sorted latencies in seconds, list of errors)."""
    lock = threading.Lock()
    nxt = [0]
    lat = []
    errors = []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        try:
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(bodies):
                    break
                t = time.perf_counter()
                try:
                    c.request("POST", "/api/v2/alerts", body=bodies[i],
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    data = r.read()
                    if r.status != 200:
                        with lock:
                            errors.append(f"batch {i}: HTTP {r.status} {data[:200]!r}")
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        errors.append(f"batch {i}: {e!r}")
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                mine.append(time.perf_counter() - t)
        finally:
            c.close()
            with lock:
                lat.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return wall, lat, errors


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def cpu_seconds(pid):
    """(user, system) CPU seconds the process has used, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def count_alerts(url, run_id):
    """Number of alerts of this run the server returns from GET /api/v2/alerts."""
    u = url.replace("http://", "").rstrip("/")
    host, port = u.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        c.request("GET", f"/api/v2/alerts?filter=run%3D%22{run_id}%22")
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            return -1
        return len(json.loads(data))
    finally:
        c.close()


def bench_one(label, cls, bodies, n, conns, run_id, binary_args=()):
    d = cls(CONFIG)
    try:
        d.start(timeout=30)
        time.sleep(0.5)
        rss0, _ = d.rss_kib()
        cpu0 = cpu_seconds(d.pid)
        wall, lat, errors = post_all(d.port, bodies, conns)
        cpu = [b - a for a, b in zip(cpu0, cpu_seconds(d.pid))]
        time.sleep(0.5)
        rss, hwm = d.rss_kib()
        got = count_alerts(d.url, run_id)
        res = {
            "label": label, "alerts": n, "requests": len(bodies), "seconds": wall,
            "rate": n / wall if wall > 0 else 0.0, "p50_ms": pct(lat, 50) * 1000,
            "p99_ms": pct(lat, 99) * 1000, "max_ms": (lat[-1] * 1000) if lat else 0,
            "rss_idle_kib": rss0, "rss_kib": rss, "hwm_kib": hwm, "errors": errors[:5],
            "error_count": len(errors), "stored": got,
            "cpu_user_s": cpu[0], "cpu_sys_s": cpu[1],
        }
        print(f"{label:12s} {res['rate']:10.0f} alerts/s  p50 {res['p50_ms']:7.2f} ms  "
              f"p99 {res['p99_ms']:7.2f} ms  RSS {rss / 1024:7.1f} MiB "
              f"(peak {hwm / 1024:.1f}, idle {rss0 / 1024:.1f})  server CPU "
              f"{cpu[0]:.1f}s user {cpu[1]:.1f}s sys  stored {got}/{n}  "
              f"errors {len(errors)}", flush=True)
        for e in errors[:5]:
            print("   ", e)
        return res
    finally:
        d.cleanup()


def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024 // 1024
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM, Linux {platform.release()}"


def version_of(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        out = (p.stdout or p.stderr).strip().splitlines()
        return out[0] if out and p.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def render(results, args, am_bin, amr_bin, amr_note):
    am = results.get("alertmanager")
    amr = results.get("amrouter")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [BEGIN, "",
             f"Last run: {date}, `make bench` "
             f"({args.alerts:,} alerts, batches of {args.batch}, {args.conns} connections, "
             f"{args.rounds} rounds per server alternating; each row is the median round "
             f"by rate, with every round's rate in brackets).",
             "",
             f"- Machine: {machine_info()}",
             f"- Alertmanager: `{version_of([am_bin, '--version'])}`",
             f"- amrouter: `{version_of([amr_bin, '--version']) if amr else amr_note}`",
             "",
             "| | alerts/s | p50 latency | p99 latency | RSS after ingest | peak RSS "
             "| server CPU (user+sys) | stored |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def row(r):
        spread = "/".join(f"{x / 1000:.1f}k" for x in sorted(r["rates"]))
        return (f"| {r['label']} | {r['rate']:,.0f} ({spread}) | {r['p50_ms']:.1f} ms | "
                f"{r['p99_ms']:.1f} ms | {r['rss_kib'] / 1024:.1f} MiB | "
                f"{r['hwm_kib'] / 1024:.1f} MiB | {r['cpu_user_s']:.1f} + {r['cpu_sys_s']:.1f} s | "
                f"{r['stored']:,} / {r['alerts']:,} |")
    if am:
        lines.append(row(am))
    if amr:
        lines.append(row(amr))
    else:
        lines.append(f"| amrouter | n/a | n/a | n/a | n/a | n/a | n/a | {amr_note} |")
    lines.append("")
    if am and amr and am["rate"] > 0 and amr["rss_kib"] > 0:
        rate_ratio = amr["rate"] / am["rate"]
        mem_ratio = amr["rss_kib"] / am["rss_kib"]
        hwm_ratio = amr["hwm_kib"] / am["hwm_kib"]
        lat_ratio = amr["p99_ms"] / am["p99_ms"] if am["p99_ms"] > 0 else float("nan")
        lines += [f"Ratios amrouter / Alertmanager: ingest rate **{rate_ratio:.2f}x** "
                  f"(target >= 3x), RSS after ingest **{mem_ratio:.2f}** "
                  f"(target <= 0.33), peak RSS {hwm_ratio:.2f}, p99 latency "
                  f"{lat_ratio:.2f}.", ""]
    errs = [r for r in (am, amr) if r and r["error_count"]]
    for r in errs:
        lines.append(f"{r['label']}: {r['error_count']} failed requests, first: "
                     f"`{r['errors'][0]}`")
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(path, text):
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text.rstrip("\n") + old[old.index(END) + len(END):]
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + text
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alerts", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--out", help="markdown file whose bench section is rewritten")
    ap.add_argument("--json", help="also write the raw results as JSON here")
    ap.add_argument("--rounds", type=int, default=3,
                    help="fresh servers per round, alternating; the median round is reported")
    ap.add_argument("--only", choices=["alertmanager", "amrouter"])
    args = ap.parse_args()

    import harness  # tests/integration/harness.py, on sys.path above
    am_bin, amr_bin = harness.ALERTMANAGER_BIN, harness.AMROUTER_BIN
    ok, why = amrouter_runnable()
    amr_note = "" if ok else f"not runnable: {why}"
    if not ok and args.only != "alertmanager":
        print(f"amrouter     skipped: {amr_note}")
    plan = []
    if args.only != "amrouter":
        plan.append(("alertmanager", Alertmanager))
    if args.only != "alertmanager" and ok:
        plan.append(("amrouter", Amrouter))
    rounds = {label: [] for label, _ in plan}
    # Rounds alternate between the servers so that load from elsewhere on the
    # machine hits both alike; each round starts a fresh server.
    for rnd in range(args.rounds):
        run_id = f"r{int(time.time())}x{rnd}"
        bodies = make_bodies(args.alerts, args.batch, run_id)
        for label, cls in plan:
            rounds[label].append(bench_one(label, cls, bodies, args.alerts, args.conns,
                                           run_id))
    results = {}
    for label, rs in rounds.items():
        by_rate = sorted(rs, key=lambda r: r["rate"])
        med = dict(by_rate[len(by_rate) // 2])
        med["rates"] = [r["rate"] for r in rs]
        med["error_count"] = sum(r["error_count"] for r in rs)
        med["errors"] = [e for r in rs for e in r["errors"]][:5]
        med["stored_ok"] = all(r["stored"] == r["alerts"] for r in rs)
        results[label] = med
    am, amr = results.get("alertmanager"), results.get("amrouter")
    if am and amr:
        print(f"ratios: rate {amr['rate'] / am['rate']:.2f}x, RSS "
              f"{amr['rss_kib'] / am['rss_kib']:.2f}, peak RSS "
              f"{amr['hwm_kib'] / am['hwm_kib']:.2f}")
    if args.out:
        write_section(args.out, render(results, args, am_bin, amr_bin, amr_note))
        print(f"results written to {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    bad = [r for r in results.values() if r["error_count"] or not r["stored_ok"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
