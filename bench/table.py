#!/usr/bin/env python3
"""bench/table.py - `make bench`: the whole performance table of issue 8 in
one run, amrouter against Alertmanager (/usr/bin/prometheus-alertmanager) on
the same machine with equivalent configs, with ratios and the targets.

Rows (each runs its servers fresh, in new temp dirs; see each module):
  ingest     bench/ingest.py     alerts/s, p50/p99 latency; batches of 100 and
                                 1, 8 and 64 connections
  memory     bench/memory.py     RSS idle and with 10k, 100k, 1M active alerts
  fanout     bench/fanout.py     10k groups flushed to one local webhook
  restart    bench/restart.py    exec -> /-/ready with 100k alerts, 10k silences
  templates  bench/templates.py  us per rendered message (amrouter only)

Usage: bench/table.py [--quick | --tiny] [--only ROW]... [--server NAME]
       [--rounds N] [--clients N] [--out FILE] [--json FILE]
  --quick   a smaller run (about a quarter of the time)
  --tiny    a few hundred alerts per row, one round: checks the tool works
            (the integration test tests/integration/test_bench.py)
  --out     rewrites the part of FILE between the lines `<!-- bench:begin -->`
            and `<!-- bench:end -->` (docs/performance.md); the rest is left
            alone. Not with --only or --server: a partial table would replace
            the whole one (the table is printed instead).
  --json    the raw figures

Exit status: 0 when every row ran with no failed request and every server
held what it was sent; 1 otherwise (the table is still written, saying so).

Invariants: loopback only; every server and client process is stopped by its
PID, also on an exception, Ctrl-C or SIGTERM; every wait is bounded.
"""
import argparse
import datetime
import json
import math
import os
import re
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

ROWS = ("ingest", "memory", "fanout", "restart", "templates")
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

TARGET_RATE = 5.0        # amrouter ingest >= 5x Alertmanager's
TARGET_MEM = 0.2         # memory per active alert <= 1/5 of Alertmanager's
TARGET_P99_MS = 5.0      # p99 ingest latency at 8 connections
TARGET_READY_S = 1.0     # ready after restart with 100k alerts

SIZES = {
    "full": {"ingest": [(100, 8, 100000), (100, 64, 100000), (1, 8, 20000), (1, 64, 20000)],
             "rounds": 3, "memory": [10000, 100000, 1000000], "fanout": 10000,
             "restart": (100000, 10000, 3), "templates": (50, 1.0, 5)},
    "quick": {"ingest": [(100, 8, 20000), (100, 64, 20000), (1, 8, 5000), (1, 64, 5000)],
              "rounds": 1, "memory": [10000, 100000], "fanout": 2000,
              "restart": (20000, 2000, 1), "templates": (50, 0.5, 1)},
    "tiny": {"ingest": [(100, 8, 200), (100, 64, 200), (1, 8, 200), (1, 64, 200)],
             "rounds": 1, "memory": [100, 200, 400], "fanout": 50,
             "restart": (200, 20, 1), "templates": (5, 0.05, 1)},
}


# ------------------------------------------------------------------ formatting

def n_(x):
    return f"{x:,.0f}"


def ms(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.1f} ms" if x >= 1 else f"{x:.2f} ms"


def mib(kib):
    return f"{kib / 1024:,.0f} MiB" if kib >= 10240 else f"{kib / 1024:.1f} MiB"


def secs(s):
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "n/a"
    return f"{s * 1000:.0f} ms" if abs(s) < 1 else f"{s:.2f} s"


def ratio(a, b, fmt="{:.2f}"):
    try:
        if a is None or b is None or b <= 0 or a < 0 or math.isnan(a) or math.isnan(b):
            return None, "n/a"
        r = a / b
        return r, fmt.format(r)
    except TypeError:
        return None, "n/a"


def verdict_min(r, target):
    """Target `r >= target` (a multiple)."""
    if r is None:
        return "not measured"
    if r >= target:
        return "**met**"
    return f"**missed**: {r:.2f}x, {target / r:.1f}x short" if r > 0 else "**missed**"


def verdict_max(r, target, unit=""):
    if r is None:
        return "not measured"
    if r <= target:
        return "**met**"
    return f"**missed** by {r - target:.2f}{unit} ({r / target:.1f}x the target)"


def ingest_rows(cases):
    lines = []
    for c in cases:
        am, amr = c.get("alertmanager"), c.get("amrouter")
        what = (f"Ingest, batch {c['batch']}, {c['conns']} conns "
                f"({c['alerts'] // 1000 if c['alerts'] >= 1000 else c['alerts']}"
                f"{'k' if c['alerts'] >= 1000 else ''} alerts)")

        def cell(r, key, f):
            return f(r[key]) if r else "n/a"

        def rates(r):
            if not r:
                return "n/a"
            s = n_(r["rate"]) + " alerts/s"
            if len(r["rates"]) > 1:
                s += " (" + "/".join(f"{x / 1000:.1f}k" for x in sorted(r["rates"])) + ")"
            return s
        rr, rs = ratio(amr and amr["rate"], am and am["rate"], "{:.2f}x")
        lines.append(f"| {what}: rate | {rates(am)} | {rates(amr)} | {rs} | >= 5x | "
                     f"{verdict_min(rr, TARGET_RATE)} |")
        def cpu(r):
            if not r:
                return "n/a"
            return "%.2f s (%.2f s)" % (r["server_cpu_s"], r["server_cpu_settled_s"])
        _, cs = ratio(amr and amr["server_cpu_settled_s"], am and am["server_cpu_settled_s"])
        lines.append(f"| {what}: server CPU user+sys at the last answer (once idle) | {cpu(am)} | {cpu(amr)} | "
                     f"{cs} | | |")
        _, ps = ratio(amr and amr["p50_ms"], am and am["p50_ms"])
        lines.append(f"| {what}: p50 latency | {cell(am, 'p50_ms', ms)} | "
                     f"{cell(amr, 'p50_ms', ms)} | {ps} | | |")
        _, qs = ratio(amr and amr["p99_ms"], am and am["p99_ms"])
        if c["conns"] == 8 and amr:
            tgt, v = "< 5 ms", verdict_max(amr["p99_ms"], TARGET_P99_MS, " ms")
            if amr["p99_ms"] < TARGET_P99_MS:
                v = "**met**"
        else:
            tgt, v = "", ""
        lines.append(f"| {what}: p99 latency | {cell(am, 'p99_ms', ms)} | "
                     f"{cell(amr, 'p99_ms', ms)} | {qs} | {tgt} | {v} |")
    return lines


def memory_rows(mem):
    am, amr = mem.get("alertmanager"), mem.get("amrouter")
    lines = []
    _, s = ratio(amr and amr["idle_kib"], am and am["idle_kib"])
    lines.append(f"| Memory: RSS idle | {mib(am['idle_kib']) if am else 'n/a'} | "
                 f"{mib(amr['idle_kib']) if amr else 'n/a'} | {s} | | |")
    ref = am or amr
    for i, p in enumerate(ref["points"]):
        pa = am["points"][i] if am else None
        pb = amr["points"][i] if amr else None
        _, s = ratio(pb and pb["rss_kib"], pa and pa["rss_kib"])
        lines.append(f"| Memory: RSS with {p['alerts']:,} active alerts | "
                     f"{mib(pa['rss_kib']) if pa else 'n/a'} | "
                     f"{mib(pb['rss_kib']) if pb else 'n/a'} | {s} | | |")
    for i, p in enumerate(ref["points"]):
        pa = am["points"][i] if am else None
        pb = amr["points"][i] if amr else None
        r, s = ratio(pb and pb["per_alert_bytes"], pa and pa["per_alert_bytes"])
        last = i == len(ref["points"]) - 1
        lines.append(f"| Memory per alert at {p['alerts']:,}: (RSS - idle) / alerts | "
                     f"{n_(pa['per_alert_bytes']) + ' B' if pa else 'n/a'} | "
                     f"{n_(pb['per_alert_bytes']) + ' B' if pb else 'n/a'} | {s} | "
                     f"{'<= 0.20' if last else ''} | "
                     f"{verdict_max(r, TARGET_MEM) if last else ''} |")
    for i, p in enumerate(ref["points"]):
        if i == 0:
            continue
        pa = am["points"][i] if am else None
        pb = amr["points"][i] if amr else None
        r, s = ratio(pb and pb["slope_bytes"], pa and pa["slope_bytes"])
        prev = ref["points"][i - 1]["alerts"]
        last = i == len(ref["points"]) - 1
        lines.append(f"| Memory per alert, slope {prev:,} -> {p['alerts']:,} | "
                     f"{n_(pa['slope_bytes']) + ' B' if pa else 'n/a'} | "
                     f"{n_(pb['slope_bytes']) + ' B' if pb else 'n/a'} | {s} | "
                     f"{'<= 0.20' if last else ''} | "
                     f"{verdict_max(r, TARGET_MEM) if last else ''} |")
    return lines


def fanout_rows(fo):
    am, amr = fo.get("alertmanager"), fo.get("amrouter")
    n = (am or amr)["groups"]
    lines = []

    def c(r, f):
        return f(r) if r else "n/a"

    def notified(r):
        return "%s (%d duplicates)" % (n_(r["notified"]), r["duplicates"])

    def cpu(r):
        return "%.2f s" % r["server_cpu_s"]
    lines.append(f"| Fan-out, {n:,} groups: groups notified | {c(am, notified)} | "
                 f"{c(amr, notified)} | | | |")
    for key, what in (("last_after_due_s", "last notification after end of ingest + group_wait"),
                      ("p50_s", "per group p50 (receipt - (POST answered + group_wait))"),
                      ("p99_s", "per group p99")):
        _, s = ratio(amr and amr[key], am and am[key])
        lines.append(f"| Fan-out, {n:,} groups: {what} | {c(am, lambda r: secs(r[key]))} | "
                     f"{c(amr, lambda r: secs(r[key]))} | {s} | | |")
    _, s = ratio(amr and amr["server_cpu_s"], am and am["server_cpu_s"])
    lines.append(f"| Fan-out, {n:,} groups: server CPU, ingest to last notification | "
                 f"{c(am, cpu)} | {c(amr, cpu)} | {s} | | |")
    return lines


def restart_rows(rs):
    am, amr = rs.get("alertmanager"), rs.get("amrouter")
    ref = am or amr
    lines = []

    def cell(r):
        if not r:
            return "n/a"
        after = r["after"][-1] if r["after"] else {"alerts": -1, "silence_kept": False}
        times = ""
        if len(r["ready_s"]) > 1:
            times = " (" + "/".join(secs(t) for t in sorted(r["ready_s"])) + ")"
        lost = (" (**lost every alert**: kept in memory only)"
                if after["alerts"] == 0 and r["alerts"] > 0 else "")
        sil = "silences kept" if after["silence_kept"] else "**silences lost**"
        cpu = ""
        if r.get("ready_cpu_s"):
            cpu = f", CPU {sorted(r['ready_cpu_s'])[len(r['ready_cpu_s']) // 2]:.2f} s"
        return (f"{secs(r['ready_s_median'])}{times}{cpu}; then holds {after['alerts']:,} alerts"
                f"{lost}, {sil}")

    def listing(r):
        if not r:
            return "n/a"
        if r.get("list_silences_s") is None:
            return "**no answer within 30 s**"
        return f"{secs(r['list_silences_s'])} ({r['listed_silences']:,} silences)"
    v = "not measured"
    if amr:
        v = ("**met**" if amr["ready_s_median"] < TARGET_READY_S
             else verdict_max(amr["ready_s_median"], TARGET_READY_S, " s"))
    _, s = ratio(amr and amr["ready_s_median"], am and am["ready_s_median"])
    what = f"{ref['alerts']:,} alerts and {ref['silences']:,} silences stored"
    lines.append(f"| Restart with {what}: exec to /-/ready 200 | {cell(am)} | {cell(amr)} | "
                 f"{s} (not like for like) | < 1 s | {v} |")
    _, s = ratio(amr and amr.get("list_silences_s"), am and am.get("list_silences_s"))
    lines.append(f"| After that restart: GET /api/v2/silences | {listing(am)} | "
                 f"{listing(amr)} | {s} | | |")
    return lines


def template_rows(t):
    import templates
    if t.get("error") and not t.get("figures"):
        return [f"| Template rendering | no counterpart | not measured: {t['error']} | | | |"]
    n = t.get("alerts", 0)
    runs = t.get("rounds") or []
    rows = []
    for key, name, us, per in templates.headline(t["figures"]):
        each = [r[key] for r in runs if key in r]
        spread = (f" (median of {len(each)} runs: " + "/".join(f"{v:.1f}" for v in each) + ")"
                  if len(each) > 1 else "")
        rows.append(f"| Templates, {n} alerts per notification: {name}, {per} | no counterpart "
                    f"(Go templates inside Alertmanager's notifiers) | {us:.1f} µs{spread} | | | |")
    return rows


def render(res, meta):
    date = meta["date"]
    lines = [BEGIN, "",
             f"Last run: {date}, `{meta['command']}` ({meta['mode']} sizes), "
             f"{meta['elapsed_s'] / 60:.1f} minutes in all.",
             "",
             f"- Machine: {meta['machine']}; load average {meta['load_start']:.1f} at the "
             f"start, {meta['load_end']:.1f} at the end"
             + (" (**loaded**: other work shared the 2 cores, so rates are noisy; "
                "compare server CPU seconds)" if max(meta['load_start'], meta['load_end']) >= 1.5
                else "") + ".",
             f"- Alertmanager: `{meta['am_version']}`",
             f"- amrouter: `{meta['amr_version']}`",
             f"- Load generator: {meta['clients']} client processes (pre-encoded "
             f"requests, keep-alive); the busiest client process used "
             f"{meta['client_busy']:.0%} of a core in the ingest and memory rows "
             f"({'it may have limited the rate' if meta['client_busy'] > 0.8 else 'not the bottleneck'}).",
             "",
             "| Measure | Alertmanager | amrouter | amrouter / AM | Target | Verdict |",
             "|---|---:|---:|---:|---|---|"]
    if "ingest" in res:
        lines += ingest_rows(res["ingest"])
    if "memory" in res:
        lines += memory_rows(res["memory"])
    if "fanout" in res:
        lines += fanout_rows(res["fanout"])
    if "restart" in res:
        lines += restart_rows(res["restart"])
    if "templates" in res:
        lines += template_rows(res["templates"])
    lines.append("")
    for row, why in meta["failed_rows"].items():
        lines += [f"Row `{row}` failed: `{why}`", ""]
    for p in meta["problems"]:
        lines += [f"- Problem: {p}"]
    if meta["problems"]:
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(path, text):
    """Replaces the block from the line `<!-- bench:begin -->` to the line
    `<!-- bench:end -->` (each alone on its line, so prose that quotes them is
    left alone) with text, or appends text when there is no such block."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    lines = old.splitlines(keepends=True)
    try:
        i = next(k for k, l in enumerate(lines) if l.strip() == BEGIN)
        j = next(k for k in range(i + 1, len(lines)) if lines[k].strip() == END)
    except StopIteration:
        new = old + ("\n" if old and not old.endswith("\n") else "") + text
    else:
        new = "".join(lines[:i]) + text.rstrip("\n") + "\n" + "".join(lines[j + 1:])
    with open(path, "w") as f:
        f.write(new)


def problems_of(res):
    """Failed requests and servers that did not hold what they were sent."""
    out = []
    for c in res.get("ingest", []):
        for s in common.SERVERS:
            r = c.get(s)
            if r and (r["error_count"] or not r["all_stored"]):
                out.append(f"ingest batch {c['batch']} conns {c['conns']} {s}: "
                           f"{r['error_count']} failed requests, stored {r['stored']}/"
                           f"{r['alerts']} {r['errors'][:1]}")
    for s, r in res.get("memory", {}).items():
        if r["error_count"] or r["stored"] != r["alerts"]:
            out.append(f"memory {s}: {r['error_count']} failed requests, stored "
                       f"{r['stored']}/{r['alerts']} {r['errors'][:1]}")
    for s, r in res.get("fanout", {}).items():
        if r["error_count"] or r["notified"] != r["groups"]:
            out.append(f"fan-out {s}: {r['error_count']} failed requests, "
                       f"{r['notified']}/{r['groups']} groups notified")
    for s, r in res.get("restart", {}).items():
        if r["error_count"]:
            out.append(f"restart {s}: {r['error_count']} failed requests {r['errors'][:1]}")
        for a in r["after"]:
            if not a["silence_kept"] or (s == "amrouter" and a["alerts"] != r["alerts"]):
                out.append(f"restart {s}: after restart holds {a}")
                break
    t = res.get("templates")
    if t is not None and t.get("error"):
        out.append(f"templates: {t['error']}")
    return out


def shown_command(cmd):
    """The command as the results block shows it: without --json/--out FILE,
    which only say where to write (`make bench BENCH_ARGS='--json x'` is
    shown as `make bench`)."""
    cmd = re.sub(r"(?:\s|(?<='))--(?:json|out)(?:=|\s+)[^\s']+", "", cmd)
    cmd = re.sub(r"='\s+", "='", cmd)
    return re.sub(r" BENCH_ARGS='\s*'", "", cmd)


def main(argv=None):
    ap = argparse.ArgumentParser(description="make bench: amrouter against Alertmanager")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="a smaller run")
    g.add_argument("--tiny", action="store_true", help="a few hundred alerts: tests the tool")
    ap.add_argument("--only", action="append", choices=ROWS,
                    help="run this row (repeatable); default every row")
    ap.add_argument("--server", choices=common.SERVERS, help="run one server only")
    ap.add_argument("--rounds", type=int, help="ingest rounds per server (median reported)")
    ap.add_argument("--clients", type=int, default=2, help="load generator processes")
    ap.add_argument("--out", help="markdown file whose bench section is rewritten")
    ap.add_argument("--json", help="write the raw figures here")
    a = ap.parse_args(argv)
    mode = "tiny" if a.tiny else "quick" if a.quick else "full"
    size = SIZES[mode]
    rows = a.only or list(ROWS)
    rounds = a.rounds or size["rounds"]
    common.install_sigterm()

    ok, why = common.amrouter_runnable()
    servers = [a.server] if a.server else list(common.SERVERS)
    if not ok:
        print(f"amrouter not runnable: {why}", file=sys.stderr)
        return 2
    if "alertmanager" in servers and not os.access(common.ALERTMANAGER_BIN, os.X_OK):
        print(f"{common.ALERTMANAGER_BIN} not found", file=sys.stderr)
        return 2

    def log(s):
        print(s, flush=True)

    t0 = time.monotonic()
    args = " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"mode": mode, "load_start": common.loadavg(), "failed_rows": {},
            "command": shown_command(os.environ.get("BENCH_COMMAND")
                                     or ("bench/table.py " + args).strip())}
    res = {}
    for row in rows:
        try:
            if row == "ingest":
                import ingest
                res["ingest"] = ingest.run(size["ingest"], rounds, servers, a.clients, log)
            elif row == "memory":
                import memory
                res["memory"] = memory.run(size["memory"], servers, a.clients,
                                           settle=0.2 if a.tiny else 1.0, log=log)
            elif row == "fanout":
                import fanout
                res["fanout"] = fanout.run(size["fanout"], servers, a.clients, log=log)
            elif row == "restart":
                import restart
                n, s, r = size["restart"]
                res["restart"] = restart.run(n, s, r, servers, a.clients, log)
            elif row == "templates":
                import templates
                res["templates"] = templates.run(*size["templates"], log=log)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one broken row must not lose the others
            traceback.print_exc()
            meta["failed_rows"][row] = repr(e)[:300]
    meta["elapsed_s"] = time.monotonic() - t0
    meta["load_end"] = common.loadavg()
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta["machine"] = common.machine_info()
    meta["am_version"] = common.version_of([common.ALERTMANAGER_BIN, "--version"])
    meta["amr_version"] = common.version_of([common.harness.AMROUTER_BIN, "--version"])
    meta["clients"] = a.clients
    meta["client_busy"] = max([c[s]["client_busy"] for c in res.get("ingest", [])
                               for s in servers]
                              + [p["client_busy"] for r in res.get("memory", {}).values()
                                 for p in r["points"]] or [0.0])
    meta["problems"] = problems_of(res)
    text = render(res, meta)
    print(text)
    if a.out and (a.only or a.server):
        print(f"a partial run (--only/--server): {a.out} left as it was")
    elif a.out:
        write_section(a.out, text)
        print(f"results written to {a.out}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows, "servers": servers, "results": res}, f,
                      indent=1, default=str)
    print(f"bench: {meta['elapsed_s']:.0f} s")
    return 1 if meta["problems"] or meta["failed_rows"] else 0


if __name__ == "__main__":
    sys.exit(main())
