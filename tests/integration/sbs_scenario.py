"""sbs_scenario.py - side-by-side scenarios: parse a scenario file, play its timed
script against one or more running servers (Alertmanager, amrouter) at the same
moments, and turn the webhook notifications each received into comparable
sequences.

A scenario file (tests/integration/sbs/*.scn) has four sections (and
optionally a fifth, `== reload-config`, the config the `reload` verb loads):

    # free text: what the scenario covers
    == config
    <Alertmanager YAML; $WEBHOOK is replaced by the receiver's base URL>
    == alerts
    a1 alertname=Disk team=db instance=i1 @summary=full
        (name, then labels; `@key=value` is an annotation; shell quoting)
    == script
    0.0  post a1 a2          (no startsAt/endsAt: the server fills them in)
    0.0  post a3 ends=+5     (endsAt = now + 5 s; starts=-60 sets startsAt)
    0.0  post1 a4            (the same through POST /api/v1/alerts)
    2.5  resolve a1          (endsAt = now: resolves it)
    3.0  silence s1 alertname=Disk severity=~page|crit [starts=+N] [ends=+N]
    4.0  update s1 alertname=Disk ends=+1
                             (POST /api/v2/silences with s1's id: new matchers,
                              times; s1 then names the id the server answers)
    5.0  expire s1           (DELETE /api/v2/silence/<id of s1>)
    5.5  snapshot            (GET /api/v2/alerts and /alerts/groups; compared
                              between servers without times, silence ids
                              replaced by names)
    6.0  reload              (write the == reload-config section, POST /-/reload)
    9.0  end                 (stop collecting; every script has one)
    == expect
    RECEIVER GROUPKEY        (one header per group that Alertmanager notifies)
      a1 a2                  (one line per notification, alerts in payload order;
      ~a1 a2                  ~name = the alert is resolved in that notification)

Times are seconds from the moment every server is ready. Every action is sent
to all servers concurrently with the same JSON body, so the only difference
between them is their own behaviour.

A notification is reduced to: receiver, status, groupKey, groupLabels,
commonLabels, commonAnnotations, truncatedAlerts, version, whether externalURL
is the server's own, and per alert: status, labels, annotations, fingerprint,
generatorURL and whether a firing alert's endsAt is the zero time. Sequences are
compared per (receiver, groupKey), in arrival order; timestamps are not
compared (only shown in messages).
"""
import concurrent.futures
import datetime
import json
import os
import re
import shlex
import threading
import time

from sbs_harness import WebhookReceiver, http_json

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sbs")
ZERO_TIME = "0001-01-01T00:00:00Z"
MATCHER_RE = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)(.*)$", re.S)


class ScenarioError(Exception):
    pass


def rfc3339(ts):
    """Seconds since the epoch -> RFC 3339 with milliseconds, UTC."""
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


class Scenario:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.description = ""
        self.config = ""
        self.reload_config = None
        self.alerts = {}        # name -> {"labels":{}, "annotations":{}}
        self.script = []        # (t, verb, args, lineno)
        self.expect = []        # [(receiver, groupKey, [ [(name, resolved)], ... ])]
        self.end = None
        self._parse()

    def _err(self, lineno, msg):
        raise ScenarioError(f"{self.path}:{lineno}: {msg}")

    def _parse(self):
        with open(self.path) as f:
            lines = f.read().split("\n")
        section = None
        config = []
        reload_config = []
        desc = []
        for i, line in enumerate(lines, 1):
            if line.startswith("== "):
                section = line[3:].strip()
                if section not in ("config", "reload-config", "alerts", "script", "expect"):
                    self._err(i, f"unknown section {section!r}")
                continue
            if section is None:
                if line.startswith("#"):
                    desc.append(line.lstrip("# ").rstrip())
                elif line.strip():
                    self._err(i, "text before the first section")
                continue
            if section == "config":
                config.append(line)
                continue
            if section == "reload-config":
                reload_config.append(line)
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if section == "alerts":
                self._parse_alert(i, stripped)
            elif section == "script":
                self._parse_action(i, stripped)
            else:
                self._parse_expect(i, line)
        self.description = " ".join(d for d in desc if d)
        self.config = "\n".join(config) + "\n"
        if reload_config:
            self.reload_config = "\n".join(reload_config) + "\n"
        if any(v == "reload" for _, v, _, _ in self.script) and not self.reload_config:
            self._err(len(lines), "script reloads but there is no == reload-config section")
        if self.end is None:
            self._err(len(lines), "script has no `end`")
        for rcv, key, seq in self.expect:
            for n in seq:
                for name, _ in n:
                    if name not in self.alerts:
                        self._err(0, f"expect names unknown alert {name!r}")

    def _parse_alert(self, i, line):
        toks = shlex.split(line)
        name, labels, ann = toks[0], {}, {}
        for t in toks[1:]:
            k, eq, v = t.partition("=")
            if not eq:
                self._err(i, f"expected label=value, got {t!r}")
            if k.startswith("@"):
                ann[k[1:]] = v
            else:
                labels[k] = v
        if name in self.alerts:
            self._err(i, f"alert {name!r} defined twice")
        self.alerts[name] = {"labels": labels, "annotations": ann}

    def _parse_action(self, i, line):
        toks = shlex.split(line)
        if len(toks) < 2:
            self._err(i, "expected: TIME VERB ARGS")
        try:
            t = float(toks[0])
        except ValueError:
            self._err(i, f"bad time {toks[0]!r}")
        verb, args = toks[1], toks[2:]
        if self.script and t < self.script[-1][0]:
            self._err(i, "script times must not go backwards")
        if verb in ("post", "post1", "resolve"):
            for a in args:
                if "=" not in a and a not in self.alerts:
                    self._err(i, f"unknown alert {a!r}")
        elif verb in ("silence", "update"):
            if len(args) < 2:
                self._err(i, f"{verb} NAME MATCHER... [starts=+N] [ends=+N]")
            for a in args[1:]:
                if not a.startswith(("starts=", "ends=")) and not MATCHER_RE.match(a):
                    self._err(i, f"bad matcher {a!r}")
        elif verb == "expire":
            if len(args) != 1:
                self._err(i, "expire NAME")
        elif verb in ("reload", "snapshot"):
            if args:
                self._err(i, f"{verb} takes no arguments")
        elif verb == "end":
            self.end = t
        else:
            self._err(i, f"unknown verb {verb!r}")
        self.script.append((t, verb, args, i))

    def _parse_expect(self, i, line):
        if not line[0].isspace():
            rcv, _, key = line.strip().partition(" ")
            if not key:
                self._err(i, "expected: RECEIVER GROUPKEY")
            self.expect.append((rcv, key.strip(), []))
            return
        if not self.expect:
            self._err(i, "notification line before a group header")
        n = []
        for tok in line.split():
            resolved = tok.startswith("~")
            n.append((tok.lstrip("~"), resolved))
        self.expect[-1][2].append(n)

    def render_config(self, webhook_url, reload=False):
        text = self.reload_config if reload else self.config
        return text.replace("$WEBHOOK", webhook_url)

    def expected_compact(self):
        """{(receiver, groupKey): [compact notification strings]} per the file."""
        out = {}
        for rcv, key, seq in self.expect:
            out[(rcv, key)] = [" ".join(("~" if r else "") + n for n, r in notif)
                               for notif in seq]
        return out


def load_scenarios():
    names = sorted(f for f in os.listdir(SCENARIO_DIR) if f.endswith(".scn"))
    return [Scenario(os.path.join(SCENARIO_DIR, f)) for f in names]


class Target:
    """One server under test plus its webhook receiver and per-run state."""

    def __init__(self, label, server_cls, scenario):
        self.label = label
        self.scenario = scenario
        self.receiver = WebhookReceiver()
        self.server = server_cls(scenario.render_config(self.receiver.url))
        self.silences = {}      # scenario silence name -> id on this server
        self.actions = []       # (t, line, status, body) for each action sent
        self.t0 = None

    def start(self):
        self.server.start()

    def stop(self):
        try:
            self.server.cleanup()
        finally:
            self.receiver.stop()


def _alert_body(sc, names, now, opts):
    out = []
    for n in names:
        a = sc.alerts[n]
        body = {"labels": dict(a["labels"])}
        if a["annotations"]:
            body["annotations"] = dict(a["annotations"])
        if "starts" in opts:
            body["startsAt"] = rfc3339(now + opts["starts"])
        if "ends" in opts:
            body["endsAt"] = rfc3339(now + opts["ends"])
        body["generatorURL"] = "http://sbs.test/graph?alert=" + n
        out.append(body)
    return out


def _opts(args):
    names, opts = [], {}
    for a in args:
        k, eq, v = a.partition("=")
        if eq and k in ("starts", "ends"):
            opts[k] = float(v)
        else:
            names.append(a)
    return names, opts


def _silence_body(args, now):
    matchers, opts = [], {}
    for a in args:
        k, eq, v = a.partition("=")
        if k in ("starts", "ends") and eq and v[:1] in "+-":
            opts[k] = float(v)
            continue
        m = MATCHER_RE.match(a)
        name, op, value = m.group(1), m.group(2), m.group(3)
        matchers.append({"name": name, "value": value, "isRegex": "~" in op,
                         "isEqual": not op.startswith("!")})
    starts = now + opts.get("starts", 0.0)
    ends = now + opts.get("ends", 3600.0)
    return {"matchers": matchers, "startsAt": rfc3339(starts), "endsAt": rfc3339(ends),
            "createdBy": "sbs", "comment": "side-by-side"}


def _do(target, t, verb, args, body):
    """Sends one action to one target; returns (status, response)."""
    s = target.server
    if verb in ("post", "resolve"):
        return s.post_alerts(body)
    if verb == "post1":
        return s.post_alerts(body, version=1)
    if verb in ("silence", "update"):
        sid = None
        if verb == "update":
            # Like amtool: read the silence, keep its startsAt unless the
            # script sets one, post it back with its id.
            sid = target.silences.get(args[0])
            if sid is None:
                return 0, f"no id recorded for silence {args[0]}"
            st, cur = s.get("/api/v2/silence/" + sid)
            if st != 200 or not isinstance(cur, dict):
                return st, cur
            body = dict(body, id=sid)
            if not any(a.startswith("starts=") for a in args):
                body["startsAt"] = cur.get("startsAt")
        st, resp = s.post_silence(body)
        if isinstance(resp, dict) and "silenceID" in resp:
            target.silences[args[0]] = resp["silenceID"]
            if sid is not None:
                # Whether the server updated in place or replaced the silence
                # is compared; the ids themselves are not.
                return st, {"sameId": resp["silenceID"] == sid}
        return st, resp
    if verb == "reload":
        s.write_config(target.scenario.render_config(target.receiver.url, reload=True))
        return http_json("POST", s.url + "/-/reload")
    if verb == "snapshot":
        st, alerts = s.get("/api/v2/alerts")
        st2, groups = s.get("/api/v2/alerts/groups")
        if st != 200 or st2 != 200:
            return st if st != 200 else st2, (alerts, groups)
        return st, {"snapshot": snapshot_view(target, alerts, groups)}
    if verb == "expire":
        sid = target.silences.get(args[0])
        if sid is None:
            return 0, f"no id recorded for silence {args[0]}"
        return s.delete_silence(sid)
    raise ScenarioError(verb)


def play(sc, targets):
    """Plays the script against all started targets at the same moments and
    waits until `end`. Fills each target's action log."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(targets)))
    try:
        t0 = time.monotonic()
        for tg in targets:
            tg.t0 = t0
        for t, verb, args, lineno in sc.script:
            delay = t0 + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if verb == "end":
                break
            now = time.time()
            body = None
            if verb in ("post", "post1"):
                names, opts = _opts(args)
                body = _alert_body(sc, names, now, opts)
            elif verb == "resolve":
                names, _ = _opts(args)
                body = _alert_body(sc, names, now, {"ends": -0.001})
            elif verb in ("silence", "update"):
                body = _silence_body(args[1:], now)
            futs = {tg: pool.submit(_do, tg, t, verb, args, body) for tg in targets}
            for tg, fu in futs.items():
                try:
                    st, resp = fu.result(timeout=15)
                except Exception as e:  # noqa: BLE001 - recorded and compared
                    st, resp = 0, repr(e)
                tg.actions.append((t, lineno, verb, st, resp))
    finally:
        pool.shutdown(wait=True)


def snapshot_view(target, alerts, groups):
    """GET /api/v2/alerts and /alerts/groups reduced to what must agree: times
    dropped, silence ids replaced by the scenario's silence names."""
    names = {v: k for k, v in target.silences.items()}

    def alert_view(a):
        st = a.get("status") or {}
        return {
            "labels": a.get("labels"), "annotations": a.get("annotations"),
            "fingerprint": a.get("fingerprint"), "generatorURL": a.get("generatorURL"),
            "receivers": a.get("receivers"), "state": st.get("state"),
            "silencedBy": sorted(names.get(x, "<unknown silence>") for x in
                                 st.get("silencedBy") or []),
            "inhibitedBy": sorted(st.get("inhibitedBy") or []),
        }
    return {
        "alerts": [alert_view(a) for a in alerts or []],
        "groups": [{"labels": g.get("labels"), "receiver": g.get("receiver"),
                    "alerts": [x.get("fingerprint") for x in g.get("alerts") or []]}
                   for g in groups or []],
    }


def _labels_str(ls):
    return "{" + ", ".join(f"{k}={v!r}" for k, v in sorted(ls.items())) + "}"


def normalize(payload, server_url):
    """A notification reduced to the fields that must agree between servers."""
    alerts = []
    for a in payload.get("alerts", []) or []:
        alerts.append({
            "status": a.get("status"),
            "labels": a.get("labels"),
            "annotations": a.get("annotations"),
            "fingerprint": a.get("fingerprint"),
            "generatorURL": a.get("generatorURL"),
            "endsAtZero": (a.get("endsAt") == ZERO_TIME) if a.get("status") == "firing"
            else None,
        })
    ext = payload.get("externalURL")
    return {
        "receiver": payload.get("receiver"),
        "status": payload.get("status"),
        "groupKey": payload.get("groupKey"),
        "groupLabels": payload.get("groupLabels"),
        "commonLabels": payload.get("commonLabels"),
        "commonAnnotations": payload.get("commonAnnotations"),
        "truncatedAlerts": payload.get("truncatedAlerts"),
        "version": payload.get("version"),
        "externalURL": "<own url>" if ext == server_url else ext,
        "alerts": alerts,
    }


def collect(sc, target):
    """{(receiver, groupKey): [(seconds since t0, normalized payload)]} for
    notifications that arrived before the script's end."""
    out = {}
    with target.receiver.lock:
        notes = list(target.receiver.notifications)
    for ts, _path, payload, _hdrs in notes:
        rel = ts - target.t0
        if rel > sc.end:
            continue
        n = normalize(payload, target.server.url)
        out.setdefault((n["receiver"], n["groupKey"]), []).append((rel, n))
    return out


def compact(sc, n):
    """'a1 ~a2' for a normalized notification: each alert named after the
    scenario's alert with the same labels and annotations, else the first one
    with the same labels, else its label set."""
    by_full, by_labels = {}, {}
    for name, a in sc.alerts.items():   # the first name defined wins
        lab = json.dumps(a["labels"], sort_keys=True)
        by_full.setdefault((lab, json.dumps(a["annotations"], sort_keys=True)), name)
        by_labels.setdefault(lab, name)
    toks = []
    for a in n["alerts"]:
        lab = json.dumps(a["labels"], sort_keys=True)
        ann = json.dumps(a.get("annotations") or {}, sort_keys=True)
        name = by_full.get((lab, ann)) or by_labels.get(lab) or _labels_str(a["labels"])
        toks.append(("~" if a["status"] == "resolved" else "") + name)
    return " ".join(toks)


def compact_all(sc, collected):
    return {k: [compact(sc, n) for _, n in v] for k, v in collected.items()}


def describe(sc, collected):
    """Readable listing of a collected run (for failure messages)."""
    lines = []
    for key in sorted(collected):
        lines.append(f"  {key[0]} {key[1]}")
        for rel, n in collected[key]:
            lines.append(f"    t={rel:5.2f}s {n['status']:8s} {compact(sc, n)}")
    return "\n".join(lines) if lines else "  (no notifications)"


def check_against_expect(sc, collected):
    """[] when the collected notifications are exactly those in == expect;
    else a list of readable problems."""
    probs = []
    got = compact_all(sc, collected)
    want = sc.expected_compact()
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            probs.append(f"group {key[0]} {key[1]}: expected {want.get(key)} got {got.get(key)}")
    for key, seq in collected.items():
        for _, n in seq:
            firing = any(a["status"] == "firing" for a in n["alerts"])
            if n["status"] != ("firing" if firing else "resolved"):
                probs.append(f"group {key}: notification status {n['status']} "
                             f"but alerts {compact(sc, n)}")
    return probs


def _diff_fields(a, b, path=""):
    """Paths at which two normalized notifications differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff_fields(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _diff_fields(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: alertmanager={a!r} amrouter={b!r}"]


def compare(sc, ref, got, ref_actions, got_actions):
    """Disagreements between the reference run (Alertmanager) and amrouter's,
    one readable string each; [] when they agree."""
    probs = []
    for (t, lineno, verb, st_a, resp_a), (_, _, _, st_b, resp_b) in zip(ref_actions,
                                                                        got_actions):
        ok_a, ok_b = 200 <= st_a < 300, 200 <= st_b < 300
        same_id_a = resp_a.get("sameId") if isinstance(resp_a, dict) else None
        same_id_b = resp_b.get("sameId") if isinstance(resp_b, dict) else None
        if ok_a != ok_b or (not ok_a and st_a != st_b) or same_id_a != same_id_b:
            probs.append(f"{sc.name}.scn:{lineno} ({verb} at {t}s): alertmanager answered "
                         f"{st_a} {str(resp_a)[:120]!r}, amrouter {st_b} {str(resp_b)[:200]!r}")
        elif verb == "snapshot" and ok_a:
            d = _diff_fields(resp_a, resp_b)
            if d:
                probs.append(f"{sc.name}.scn:{lineno} (snapshot of GET /api/v2/alerts and "
                             f"/alerts/groups at {t}s): " + "; ".join(d[:10]))
    for key in sorted(set(ref) | set(got)):
        a = ref.get(key, [])
        b = got.get(key, [])
        seq_a = [n for _, n in a]
        seq_b = [n for _, n in b]
        if seq_a == seq_b:
            continue
        head = f"group receiver={key[0]} groupKey={key[1]}"
        ca = [f"{n['status']}[{compact(sc, n)}]@{t:.1f}s" for t, n in a]
        cb = [f"{n['status']}[{compact(sc, n)}]@{t:.1f}s" for t, n in b]
        if len(seq_a) != len(seq_b) or [compact(sc, n) for n in seq_a] != \
                [compact(sc, n) for n in seq_b]:
            probs.append(f"{head}: alertmanager sent {len(ca)}: {ca}; amrouter sent "
                         f"{len(cb)}: {cb}")
        for i, (x, y) in enumerate(zip(seq_a, seq_b)):
            d = _diff_fields(x, y)
            if d:
                probs.append(f"{head} notification #{i + 1}: " + "; ".join(d[:8]))
    return probs


def run_scenario(sc, server_classes, labels):
    """Starts one server per class (each with its own webhook receiver), plays
    the script against all of them, stops them and returns
    {label: (collected, actions, log tail)} or {label: Exception} on start
    failure. All processes are stopped before returning."""
    targets = []
    results = {}
    try:
        for label, cls in zip(labels, server_classes):
            targets.append(Target(label, cls, sc))
        started = []
        errs = {}
        lock = threading.Lock()

        def start(tg):
            try:
                tg.start()
                with lock:
                    started.append(tg)
            except Exception as e:  # noqa: BLE001 - reported per target
                with lock:
                    errs[tg.label] = e
        threads = [threading.Thread(target=start, args=(tg,)) for tg in targets]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        live = [tg for tg in targets if tg in started]
        play(sc, live)
        # Notifications sent just before `end` may still be in flight.
        time.sleep(0.2)
        for tg in targets:
            if tg.label in errs:
                results[tg.label] = errs[tg.label]
            else:
                results[tg.label] = (collect(sc, tg), tg.actions, tg.server.log()[-2000:])
    finally:
        for tg in targets:
            tg.stop()
    return results
