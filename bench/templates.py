"""bench/templates.py - the template row of `make bench`: microseconds per
rendered message from bench/bench_templates (`make bench-templates`), which
renders the default Slack (title + text) and email (subject + HTML + text)
templates for one notification of ALERTS alerts and builds the notification
context. Alertmanager has no counterpart measured here (its Go templates run
inside its notifier), so this row has amrouter figures only.

Parsing: when the program prints JSON (one object per line, or one object or
list), that is used; otherwise its table lines are read:
    "<label>  N renders/s  X us/render ..." and "<label>  N builds/s  X us/build".
"""
import json
import os
import re
import subprocess

import common

_LINE = re.compile(r"^(?P<label>.+?)\s+(?P<rate>[0-9.]+)\s+(?:renders|builds)/s\s+"
                   r"(?P<us>[0-9.]+)\s+us/(?P<kind>render|build)")


def binary():
    b = os.environ.get("BENCH_TEMPLATES_BIN")
    if b:
        return b
    build = os.environ.get("BUILD", "build")
    if not os.path.isabs(build):
        build = os.path.join(common.REPO, build)
    return os.path.join(build, "bench", "bench_templates")


def _from_json(out):
    """{label: us per message} from JSON output, or None when it is not JSON."""
    objs = []
    text = out.strip()
    try:
        v = json.loads(text)
        objs = v if isinstance(v, list) else [v]
    except ValueError:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    objs.append(json.loads(line))
                except ValueError:
                    return None
        if not objs:
            return None
    res = {}

    def walk(o, prefix=""):
        if isinstance(o, dict):
            label = o.get("name") or o.get("label") or o.get("what") or prefix
            for k, v in o.items():
                if isinstance(v, (int, float)) and re.match(r"^us(_per)?_?(render|build|message|msg)?$|_us$", k):
                    res[label if label else k] = float(v)
                elif isinstance(v, (dict, list)):
                    walk(v, k if not label else label + "." + k)
        elif isinstance(o, list):
            for x in o:
                walk(x, prefix)
    walk(objs)
    return res or None


def parse(out):
    """{label: microseconds} for every figure the program printed."""
    got = _from_json(out)
    if got is not None:
        return got
    res = {}
    for line in out.splitlines():
        m = _LINE.match(line.strip())
        if m:
            res[m.group("label").strip()] = float(m.group("us"))
    return res


def run(alerts=50, seconds=1.0, log=print):
    b = binary()
    log(f"templates: {b} {alerts} {seconds}")
    if not os.access(b, os.X_OK):
        return {"error": f"{b} not built (make bench-templates)", "figures": {}}
    p = subprocess.run([b, str(alerts), str(seconds)], capture_output=True, text=True,
                       timeout=120 + 10 * seconds)
    figures = parse(p.stdout)
    res = {"alerts": alerts, "figures": figures, "exit": p.returncode, "raw": p.stdout}
    if p.returncode != 0 or not figures:
        res["error"] = (f"exit {p.returncode}: " + (p.stderr or p.stdout)[-300:]).strip()
    for k, v in figures.items():
        log(f"  {k:30s} {v:9.2f} us")
    return res
