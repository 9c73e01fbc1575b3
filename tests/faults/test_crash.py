"""kill -9 under load: every request answered 2xx survives, no notification is lost.

A load thread posts alerts (each its own group: a new alertname) and creates
silences, recording what was answered 2xx. The daemon is killed with SIGKILL
at random moments (seeded, printed) and restarted on the same storage. At the
end every acknowledged alert and silence must be in the API, and the webhook
receiver must have seen every acknowledged group at least once; a group may be
repeated only when its notification was in flight at a kill (at most once per
kill), never more.
"""
import os
import random
import threading
import time
import unittest

import harness
from faultlib import FlakyReceiver, say, webhook_config


class Load(threading.Thread):
    """Posts one alert (new group) per request and every 5th request a silence,
    until stopped; connection errors (daemon down) are retried after 50 ms."""

    def __init__(self, url_fn, run_id):
        super().__init__(daemon=True)
        self.url_fn = url_fn
        self.run_id = run_id
        self.stop_flag = threading.Event()
        self.acked_alerts = []     # alertnames answered 200
        self.acked_silences = []   # (id, comment) answered 200
        self.errors = 0
        self.non2xx = []

    def run(self):
        i = 0
        while not self.stop_flag.is_set() and i < 5000:
            i += 1
            try:
                name = "Crash%s_%d" % (self.run_id, i)
                r = harness.post_alerts(self.url_fn(), [harness.alert(
                    name, labels={"instance": "i%d" % i},
                    ends_at=time.time() + 3600)], timeout=10)
                if r.status == 200:
                    self.acked_alerts.append(name)
                else:
                    self.non2xx.append(r.status)
                if i % 5 == 0:
                    comment = "sil-%s-%d" % (self.run_id, i)
                    r = harness.post_json(self.url_fn() + "/api/v2/silences", {
                        "matchers": [{"name": "alertname", "value": "nomatch-%d" % i,
                                      "isRegex": False, "isEqual": True}],
                        "startsAt": harness.rfc3339(), "endsAt": harness.rfc3339(time.time() + 3600),
                        "createdBy": "faults", "comment": comment}, timeout=10)
                    if r.status == 200:
                        self.acked_silences.append((r.json()["silenceID"], comment))
                    else:
                        self.non2xx.append(r.status)
            except OSError:
                self.errors += 1
                time.sleep(0.05)
            time.sleep(0.01)


class KillNineTest(unittest.TestCase):
    def test_kill9_under_load(self):
        seed = int(os.environ.get("FAULT_SEED") or time.time())
        rnd = random.Random(seed)
        kills = 4
        print()
        say("tried: %d x kill -9 at random moments (seed %d) under a steady load of "
            "posted alerts (one group each) and silences", kills, seed)
        rcv = FlakyReceiver().start()
        self.addCleanup(rcv.stop)
        d = harness.Amrouter(webhook_config([("hook", rcv.url)]), log_level="info")
        self.addCleanup(d.cleanup)
        d.start()
        load = Load(lambda: d.url, "%x" % seed)
        load.start()
        try:
            for k in range(kills):
                time.sleep(rnd.uniform(0.3, 1.5))
                d.kill()
                time.sleep(rnd.uniform(0.0, 0.3))
                d.start(timeout=20)
            time.sleep(1.0)
        finally:
            load.stop_flag.set()
            load.join(timeout=30)
        self.assertFalse(load.is_alive())
        say("load: %d alerts and %d silences answered 200, %d other answers %s, "
            "%d connection errors (daemon down)", len(load.acked_alerts),
            len(load.acked_silences), len(load.non2xx), sorted(set(load.non2xx)), load.errors)
        self.assertGreater(len(load.acked_alerts), 20, "the load made too little progress")

        # One more kill -9 right after the last answers, then a clean restart.
        d.kill()
        d.start(timeout=20)

        st, alerts = harness.get_json(d.url + "/api/v2/alerts")
        self.assertEqual(st, 200)
        present = {a["labels"]["alertname"] for a in alerts}
        missing = [n for n in load.acked_alerts if n not in present]
        self.assertEqual(missing, [], "alerts answered 200 but gone after kill -9")
        say("verified: all %d acknowledged alerts present after %d kills", len(load.acked_alerts),
            kills + 1)

        st, sils = harness.get_json(d.url + "/api/v2/silences")
        self.assertEqual(st, 200)
        by_id = {s["id"]: s for s in sils}
        for sid, comment in load.acked_silences:
            self.assertIn(sid, by_id, "silence %s answered 200 but gone" % sid)
            self.assertEqual(by_id[sid]["comment"], comment)
        say("verified: all %d acknowledged silences present with their content",
            len(load.acked_silences))

        want = set(load.acked_alerts)

        def all_seen():
            return want <= set(rcv.groups())
        try:
            harness.wait_until(all_seen, timeout=30, interval=0.2, what="every group notified")
        except AssertionError:
            lost = sorted(want - set(rcv.groups()))
            self.fail("%d groups never notified, e.g. %s" % (len(lost), lost[:5]))
        time.sleep(1.0)  # let late repeats show up before counting them
        counts = {}
        for g in rcv.groups():
            counts[g] = counts.get(g, 0) + 1
        repeated = {g: c for g, c in counts.items() if g in want and c > 1}
        say("verified: every one of %d acknowledged groups notified at least once; "
            "%d notifications repeated (in flight at a kill)", len(want), len(repeated))
        self.assertTrue(all(c <= 1 + kills + 1 for c in repeated.values()),
                        "a group notified more often than once per kill: %r" % repeated)
        self.assertLessEqual(len(repeated), (kills + 1) * 64,
                             "more repeats than notifications that can be in flight")
        self.assertIsNone(d.sanitizer_report())


if __name__ == "__main__":
    unittest.main()
