"""bench/templates.py - the template row of `make bench`: microseconds per
rendered message from bench/bench_templates (`make bench-templates`), which
renders the default Slack (title + text) and email (subject + HTML + text)
templates for one notification of ALERTS alerts and builds the notification
context. Alertmanager has no counterpart measured here (its Go templates run
inside its notifier), so this row has amrouter figures only.

Parsing: with --json the program prints one JSON object whose members KEY_us
are microseconds (tried first); an older program that refuses --json is run
without it and its table lines are read:
    "<label>  N renders/s  X us/render ..." and "<label>  N builds/s  X us/build"
(or "messages/s  X us/message").
"""
import json
import os
import re
import subprocess

import common

def binary():
    b = os.environ.get("BENCH_TEMPLATES_BIN")
    if b:
        return b
    build = os.environ.get("BUILD", "build")
    if not os.path.isabs(build):
        build = os.path.join(common.REPO, build)
    return os.path.join(build, "bench", "bench_templates")


NAMES = {"slack": "Slack title + text", "email": "email subject + HTML + text",
         "context_build": "context build", "context_prepared": "context build + prepare",
         "context (example alerts)": "context build", "context build": "context build",
         "slack title+text": "Slack title + text",
         "email subject+html+text": "email subject + HTML + text"}


def _from_json(out):
    """{key: us} from `--json` output (one object whose figures are the
    members named KEY_us), or None when the output is not that."""
    for line in out.strip().splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        res = {k[:-3]: float(v) for k, v in obj.items()
               if k.endswith("_us") and isinstance(v, (int, float))}
        return res or None
    return None


_LINE = re.compile(r"^(?P<label>.+?)\s+(?P<rate>[0-9.]+)\s+(?:renders|builds|messages)/s\s+"
                   r"(?P<us>[0-9.]+)\s+us/(?P<kind>render|build|message)")


def parse(out):
    """{label: microseconds} for every figure the program printed (JSON keys
    without _us, or the labels of its table lines)."""
    got = _from_json(out)
    if got is not None:
        return got
    res = {}
    for line in out.splitlines():
        m = _LINE.match(line.strip())
        if m:
            res[m.group("label").strip()] = float(m.group("us"))
    return res


def headline(figures):
    """The figures the table shows: [(key, name, us, per-what)] for the
    context build and the Slack and email messages (other figures stay in the
    JSON)."""
    out = []
    for key, us in figures.items():
        name = NAMES.get(key)
        if name:
            out.append((key, name, us,
                        "per notification" if "context" in name else "per message"))
    return out


def _run_once(b, alerts, seconds):
    # --json where the program has it (branch tmpl), else its table.
    p = subprocess.run([b, "--json", str(alerts), str(seconds)], capture_output=True,
                       text=True, timeout=120 + 20 * seconds)
    if p.returncode != 0:
        p = subprocess.run([b, str(alerts), str(seconds)], capture_output=True, text=True,
                           timeout=120 + 20 * seconds)
    return p


def run(alerts=50, seconds=1.0, rounds=1, log=print):
    """Runs the program `rounds` times; each figure is the median of the
    rounds (a run on this shared 2-core machine now and then comes out 40%
    slower in every figure at once), and res["rounds"] keeps every run's."""
    b = binary()
    log(f"templates: {b} {alerts} {seconds} x{rounds}")
    if not os.access(b, os.X_OK):
        return {"error": f"{b} not built (make bench-templates)", "figures": {}}
    runs, raws, p = [], [], None
    for _ in range(max(1, rounds)):
        p = _run_once(b, alerts, seconds)
        raws.append(p.stdout)
        if p.returncode != 0:
            break
        runs.append(parse(p.stdout))
    figures = {}
    for k in (runs[0] if runs else {}):
        vals = sorted(r[k] for r in runs if k in r)
        figures[k] = vals[len(vals) // 2]
    res = {"alerts": alerts, "figures": figures, "exit": p.returncode, "raw": raws[-1],
           "rounds": runs}
    if p.returncode != 0 or not figures:
        res["error"] = (f"exit {p.returncode}: " + (p.stderr or p.stdout)[-300:]).strip()
    for k, v in figures.items():
        each = "/".join(f"{r[k]:.1f}" for r in runs if k in r)
        log(f"  {k:30s} {v:9.2f} us  (median of {each})")
    return res
