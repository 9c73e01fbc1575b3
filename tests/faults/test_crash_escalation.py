"""kill -9 under a load of alerts, acks and silences: acks survive, escalation keeps time.

Every posted alert opens an incident on a two-step escalation policy: receiver
"a" at once, receiver "b" STEP2 seconds after the incident opened. A load
thread posts alerts (one new incident each), creates silences, and
acknowledges about a third of the incidents soon after their first page, in
turn through the three ways people ack: the API (POST
/api/v2/incidents/ID/ack), `amctl ack ID` and the ack link of the webhook
payload (GET the page, POST its form with the csrf field). The daemon is
killed with SIGKILL at random moments (seeded, printed): a few short
downtimes and one long one, long enough for steps to fall due while it is
down. One local receiver records every webhook request per receiver path with
its arrival time.

Verified after a last kill -9 and restart:
- every alert, silence and ack answered 2xx is present (an acked incident is
  still acknowledged, by whom and how it was acked);
- an incident acked (answered 2xx) well before its step 2 was due never
  reaches b, and its receiver a got the ack notice;
- every unacked incident reached b: never before its deadline; when the
  deadline fell while the daemon was down, within TOL seconds after it was
  ready again; otherwise within TOL seconds of the deadline (TOL is generous
  for a loaded 2-core machine);
- nothing is lost and at most the notification in flight at a kill is
  repeated: per incident and receiver, each kind of message (page, ack
  notice) arrives once, twice only when a kill came while it was due;
- after the last restart nothing more is sent (no step is paged again).
Acks whose request got no answer (the daemon died under it) are unknown and
only checked for duplicates.
"""
import os
import random
import subprocess
import threading
import time
import unittest
import urllib.parse

import harness
from faultlib import FlakyReceiver, say

STEP2 = 4.0  # seconds from opening to the second escalation step
TOL = 3.0  # how late a step may come on a loaded machine (early is never allowed)
LOAD_SECONDS = 11.0
EARLY = 0.25  # clock granularity between the server's openedAt (ms) and our receipt times


def config(rcv_url):
    base = rcv_url.rsplit("/", 1)[0]
    return f"""
route:
  receiver: default
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 4h
  routes:
    - matchers: ['esc="yes"']
      escalation: ladder
receivers:
  - name: default
    webhook_configs: [{{url: "{base}/default", send_resolved: false}}]
  - name: a
    webhook_configs: [{{url: "{base}/a", send_resolved: false}}]
  - name: b
    webhook_configs: [{{url: "{base}/b", send_resolved: false}}]
escalation_policies:
  - name: ladder
    steps:
      - receivers: [a]
      - after: {STEP2:g}s
        receivers: [b]
"""


def parse_rfc3339(s):
    """'2026-11-23T12:00:00.123Z' -> time.time() value."""
    main, _, frac = s.rstrip("Z").partition(".")
    t = time.mktime(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return t + (float("0." + frac) if frac else 0.0)


class Load(threading.Thread):
    """Posts alerts (a new incident each), a silence every 4th request, and acks
    incidents paged to a within the last second: every 3rd one, through the API,
    amctl and the ack link in turn. Connection errors (daemon down) are counted and
    the loop goes on after 50 ms."""

    def __init__(self, url, rcv, run_id, rnd):
        super().__init__(daemon=True)
        self.url = url
        self.rcv = rcv
        self.run_id = run_id
        self.rnd = rnd
        self.stop_flag = threading.Event()
        self.alerts = []  # alertnames answered 200
        self.silences = []  # (id, comment) answered 200
        self.acks = {}  # incident id -> (via, by, time sent) answered 2xx
        self.unknown = set()  # incident ids whose ack got no answer
        self.seen = set()  # incident ids already considered for an ack
        self.errors = 0
        self.non2xx = []
        self.n = 0

    def ack(self, inc, t_page):
        iid = inc["id"]
        via = ("api", "amctl", "web")[len(self.acks) % 3]
        by = "%s-%d" % (via, iid)
        sent = time.time()
        ok = False
        try:
            if via == "api":
                r = harness.post_json("%s/api/v2/incidents/%d/ack" % (self.url, iid),
                                      {"by": by, "comment": "load"}, timeout=10)
                ok = r.status == 200
                if not ok:
                    self.non2xx.append(("ack", r.status))
            elif via == "amctl":
                p = subprocess.run([harness.AMCTL_BIN, "--url", self.url, "ack", str(iid),
                                    "--by", by, "--comment", "load"], capture_output=True,
                                   timeout=20)
                ok = p.returncode == 0
                via = "amctl"
            else:
                page = harness.request("GET", inc["ack_url"], timeout=10)
                marker = 'name="csrf" value="'
                i = page.text.index(marker) + len(marker)
                csrf = page.text[i:page.text.index('"', i)]
                form = urllib.parse.urlencode({"csrf": csrf, "name": by, "comment": "load"})
                r = harness.request("POST", inc["ack_url"], form.encode(), {
                    "Content-Type": "application/x-www-form-urlencoded", "Origin": self.url},
                    timeout=10)
                ok = r.status == 200 and "Acknowledged." in r.text
                if r.status != 200:
                    self.non2xx.append(("web", r.status))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.errors += 1
        if ok:
            self.acks[iid] = (via, by, sent)
        else:
            self.unknown.add(iid)

    def run(self):
        while not self.stop_flag.is_set() and self.n < 2000:
            self.n += 1
            i = self.n
            try:
                name = "Esc%s_%d" % (self.run_id, i)
                r = harness.post_alerts(self.url, [harness.alert(
                    name, labels={"esc": "yes"}, ends_at=time.time() + 3600)], timeout=10)
                if r.status == 200:
                    self.alerts.append(name)
                else:
                    self.non2xx.append(("alert", r.status))
                if i % 4 == 0:
                    comment = "esc-sil-%s-%d" % (self.run_id, i)
                    r = harness.post_json(self.url + "/api/v2/silences", {
                        "matchers": [{"name": "alertname", "value": "nomatch-%d" % i,
                                      "isRegex": False, "isEqual": True}],
                        "startsAt": harness.rfc3339(),
                        "endsAt": harness.rfc3339(time.time() + 3600),
                        "createdBy": "faults", "comment": comment}, timeout=10)
                    if r.status == 200:
                        self.silences.append((r.json()["silenceID"], comment))
                    else:
                        self.non2xx.append(("silence", r.status))
            except OSError:
                self.errors += 1
                time.sleep(0.05)
            now = time.time()
            for req in list(self.rcv.requests):
                inc = (req["json"] or {}).get("incident") or {}
                if req["path"] != "/a" or inc.get("id") in self.seen or not inc.get("id"):
                    continue
                self.seen.add(inc["id"])
                if now - req["wall"] < 1.0 and self.rnd.random() < 0.34:
                    self.ack(inc, req["wall"])
            time.sleep(0.04)


class KillNineEscalationTest(unittest.TestCase):
    def test_kill9_acks_and_escalation_timing(self):
        seed = int(os.environ.get("FAULT_SEED") or time.time())
        rnd = random.Random(seed)
        print()
        say("tried: kill -9 at random moments (seed %d): 3 short downtimes and one of "
            "%.1f s, under a load of alerts (one incident each, step 2 after %gs), "
            "silences and acks (API, amctl, ack link)", seed, STEP2 - 1.5, STEP2)
        rcv = FlakyReceiver().start()
        self.addCleanup(rcv.stop)
        d = harness.Amrouter(config(rcv.url), log_level="info")
        self.addCleanup(d.cleanup)
        d.start()
        downs = []  # (killed at, ready again at), time.time()
        starts = []  # when each restart began (the process was started)
        load = Load(d.url, rcv, "%x" % seed, random.Random(seed + 1))
        t0 = time.monotonic()
        load.start()
        plan = [rnd.uniform(0.0, 0.3) for _ in range(3)]
        plan.insert(rnd.randrange(1, 4), STEP2 - 1.5)
        try:
            for down in plan:
                # spread the kills over the load; the long one at least STEP2 s in,
                # so incidents opened before it fall due while the daemon is down
                time.sleep(rnd.uniform(1.0, 2.2))
                while down > 1.0 and time.monotonic() - t0 < STEP2 + 1.0:
                    time.sleep(0.1)
                killed = time.time()
                d.kill()
                time.sleep(down)
                started = time.time()
                d.start(timeout=20)
                downs.append((killed, time.time()))
                starts.append(started)
            while time.monotonic() - t0 < LOAD_SECONDS:
                time.sleep(0.1)
        finally:
            load.stop_flag.set()
            load.join(timeout=30)
        self.assertFalse(load.is_alive())
        say("load: %d alerts, %d silences, %d acks answered 2xx (%s), %d acks unknown "
            "(no answer), %d other answers %s, %d connection errors",
            len(load.alerts), len(load.silences), len(load.acks),
            ", ".join("%s %d" % (v, sum(1 for a in load.acks.values() if a[0] == v))
                      for v in ("api", "amctl", "web")),
            len(load.unknown), len(load.non2xx), sorted(set(load.non2xx)), load.errors)
        self.assertGreater(len(load.alerts), 20, "the load made too little progress")
        self.assertGreaterEqual(len(load.acks), 3, "too few acks got through to test them")
        self.assertEqual(load.non2xx, [], "requests refused outside of kills")

        # Wait for the last steps to fall due, then one more kill -9 and a restart.
        def steps_done():
            st, incs = harness.get_json(d.url + "/api/v2/incidents")
            return st == 200 and all(i.get("nextStepAt") is None for i in incs)
        harness.wait_until(steps_done, timeout=STEP2 + 2 * TOL + 10, interval=0.2,
                           what="every pending escalation step reached")
        # ... and every message they made delivered: the receiver quiet for a second.
        def quiet():
            n = len(rcv.requests)
            time.sleep(1.0)
            return len(rcv.requests) == n
        harness.wait_until(quiet, timeout=15, interval=0, what="the receiver quiet for 1s")
        killed = time.time()
        d.kill()
        starts.append(time.time())
        d.start(timeout=20)
        downs.append((killed, time.time()))
        last_ready = downs[-1][1]

        # Acknowledged requests are all there.
        st, alerts = harness.get_json(d.url + "/api/v2/alerts")
        self.assertEqual(st, 200)
        present = {a["labels"]["alertname"] for a in alerts}
        self.assertEqual([n for n in load.alerts if n not in present], [],
                         "alerts answered 200 but gone after kill -9")
        st, sils = harness.get_json(d.url + "/api/v2/silences")
        self.assertEqual(st, 200)
        by_id = {s["id"]: s for s in sils}
        for sid, comment in load.silences:
            self.assertIn(sid, by_id, "silence %s answered 200 but gone" % sid)
            self.assertEqual(by_id[sid]["comment"], comment)
        st, incs = harness.get_json(d.url + "/api/v2/incidents?state=all")
        self.assertEqual(st, 200)
        incidents = {i["id"]: i for i in incs}
        by_name = {i["groupLabels"].get("alertname"): i for i in incs}
        self.assertEqual([n for n in load.alerts if n not in by_name], [],
                         "alerts answered 200 without an incident")
        for iid, (via, by, _) in load.acks.items():
            inc = incidents.get(iid)
            self.assertIsNotNone(inc, "acked incident %d gone" % iid)
            self.assertEqual(inc["state"], "acknowledged", "incident %d lost its ack" % iid)
            self.assertEqual((inc["ack"]["by"], inc["ack"]["via"]), (by, via),
                             "incident %d: the ack's who/how changed" % iid)
        say("verified: all %d alerts, %d silences and %d acks answered 2xx present after "
            "%d kills (acked incidents still acknowledged, by whom and how)",
            len(load.alerts), len(load.silences), len(load.acks), len(downs))

        # Nothing more is sent after the last restart (no step is paged again).
        n_before = len(rcv.requests)
        time.sleep(1.5)
        again = rcv.requests[n_before:]
        self.assertEqual([(r["path"], (r["json"] or {}).get("incident")) for r in again], [],
                         "notifications sent again after the last restart")

        # Per incident and receiver path: arrival times of pages and of ack notices.
        got = {}
        for r in list(rcv.requests):
            inc = (r["json"] or {}).get("incident") or {}
            kind = "ack" if inc.get("notice") == "ack" else "page"
            got.setdefault((inc.get("id"), r["path"], kind), []).append(r["wall"])
        self.assertEqual([k for k in got if k[1] == "/default"], [],
                         "the route's inherited receiver was used")

        def kills_between(t1, t2):
            return sum(1 for k, _ in downs if t1 - 0.5 <= k <= t2 + 0.5)

        dup = 0
        for (iid, path, kind), times in got.items():
            if len(times) > 1:
                dup += 1
                self.assertLessEqual(len(times), 1 + kills_between(times[0], times[-1]),
                                     "incident %s: %s %s sent %d times with %d kills around"
                                     % (iid, path, kind, len(times),
                                        kills_between(times[0], times[-1])))
        self.assertLessEqual(dup, 8 * len(downs), "more repeats than kills can explain")

        on_time = during = acked_quiet = raced = kill_after = 0
        worst_on_time = worst_during = 0.0
        for name in load.alerts:
            inc = by_name[name]
            iid = inc["id"]
            due = parse_rfc3339(inc["openedAt"]) + STEP2
            self.assertIn((iid, "/a", "page"), got, "incident %d: step 1 never reached a" % iid)
            b = got.get((iid, "/b", "page"), [])
            if iid in load.unknown:
                continue
            if iid in load.acks:
                if load.acks[iid][2] < due - 1.0:
                    acked_quiet += 1
                    self.assertEqual(b, [], "incident %d acked %.1fs before its step 2 but "
                                     "b was paged" % (iid, due - load.acks[iid][2]))
                    self.assertIn((iid, "/a", "ack"), got,
                                  "incident %d: a never got the ack notice" % iid)
                else:
                    raced += 1
                continue
            self.assertNotEqual(b, [], "incident %d (unacked): step 2 never reached b" % iid)
            first = b[0]
            self.assertGreaterEqual(first, due - EARLY,
                                    "incident %d: step 2 came %.2fs early" % (iid, due - first))
            down_at_due = [st for (k, r), st in zip(downs, starts) if k <= due <= r]
            if down_at_due:
                during += 1
                after_ready = first - down_at_due[0]
                worst_during = max(worst_during, after_ready)
                self.assertLessEqual(after_ready, TOL, "incident %d: step 2 due while down "
                                     "came %.2fs after the process was restarted" % (iid, after_ready))
            elif first <= due + TOL:
                on_time += 1
                worst_on_time = max(worst_on_time, first - due)
            else:
                # late only because a kill came between the deadline and the page:
                # then right after that restart
                restarted = [st for (k, r), st in zip(downs, starts) if due <= k <= first]
                self.assertTrue(restarted and first <= restarted[0] + TOL,
                                "incident %d: step 2 came %.2fs after its deadline"
                                % (iid, first - due))
                kill_after += 1
        say("verified: %d unacked incidents whose step 2 fell due while the daemon was down "
            "paged b at most %.2fs after the process was restarted; %d paged b on schedule "
            "(latest %.3fs after the deadline, tolerance %gs, never early); %d more were due "
            "just before a kill and came within %gs after that restart", during, worst_during,
            on_time, worst_on_time, TOL, kill_after, TOL)
        say("verified: %d incidents acked before their step 2 never paged b and a got each "
            "ack notice; %d acks raced their deadline, %d unknown (not judged)",
            acked_quiet, raced, len(load.unknown))
        say("verified: no page or ack notice lost; %d repeated (each by a kill while in "
            "flight); nothing sent after the last restart", dup)
        self.assertGreaterEqual(during, 1, "no step fell due during the long downtime")
        self.assertGreaterEqual(acked_quiet, 1)
        self.assertIsNone(d.sanitizer_report())


if __name__ == "__main__":
    unittest.main()
