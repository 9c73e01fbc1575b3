"""The HTTP API end to end: amrouter with its engine, driven over loopback, plus amtool.

Skipped as a whole while the build has no engine (POST /api/v2/alerts answers 404).
"""

import json
import os
import signal
import subprocess
import time
import unittest
import urllib.parse

import harness
from harness import Amrouter, get_json, post_alerts, post_json, request

CONFIG = """\
global:
  resolve_timeout: 5m
route:
  receiver: default
  group_wait: 1h
  routes:
  - receiver: team-db
    matchers: ['team="db"']
receivers:
- name: default
- name: team-db
api:
  max_body_bytes: 4096
"""

FUTURE = "2030-01-01T00:00:00Z"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _engine_present():
    with Amrouter(CONFIG) as d:
        d.start()
        return post_alerts(d.url, []).status != 404


HAVE_ENGINE = None


def setUpModule():
    global HAVE_ENGINE
    HAVE_ENGINE = _engine_present()


def silence(matchers, starts="2020-01-01T00:00:00Z", ends=FUTURE, **extra):
    s = {"matchers": matchers, "startsAt": starts, "endsAt": ends, "createdBy": "test",
         "comment": "c"}
    s.update(extra)
    return s


def m(name, value, is_regex=False, is_equal=True):
    return {"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal}


class ApiTest(unittest.TestCase):
    d = None

    @classmethod
    def setUpClass(cls):
        if HAVE_ENGINE:
            cls.d = Amrouter(CONFIG)
            cls.d.start()

    def setUp(self):
        # Skipping per test (not per class) keeps run.py's counts right.
        if not HAVE_ENGINE:
            self.skipTest("this build has no engine (POST /api/v2/alerts: 404)")

    @classmethod
    def tearDownClass(cls):
        if cls.d is not None:
            cls.d.cleanup()

    def url(self, path, **query):
        u = self.d.url + path
        if query:
            u += "?" + urllib.parse.urlencode(query, doseq=True)
        return u

    def alerts(self, **query):
        st, body = get_json(self.url("/api/v2/alerts", **query))
        self.assertEqual(st, 200, body)
        return body

    def names(self, **query):
        return sorted(a["labels"]["alertname"] for a in self.alerts(**query))

    # ------------------------------------------------------------ alerts

    def test_post_and_get_alerts(self):
        r = post_alerts(self.d.url, [
            harness.alert("PostGet", {"instance": "i1", "severity": "page"},
                          annotations={"summary": "s"}, generator_url="http://prom/graph"),
            harness.alert("PostGet2", {"team": "db"})])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body, b"")
        got = {a["labels"]["alertname"]: a for a in self.alerts()}
        a = got["PostGet"]
        self.assertEqual(a["labels"], {"alertname": "PostGet", "instance": "i1",
                                       "severity": "page"})
        self.assertEqual(a["annotations"], {"summary": "s"})
        self.assertEqual(a["generatorURL"], "http://prom/graph")
        self.assertRegex(a["fingerprint"], r"^[0-9a-f]{16}$")
        self.assertEqual(a["receivers"], [{"name": "default"}])
        self.assertEqual(got["PostGet2"]["receivers"], [{"name": "team-db"}])
        fps = [x["fingerprint"] for x in self.alerts()]
        self.assertEqual(fps, sorted(fps))

    def test_post_v1(self):
        r = post_alerts(self.d.url, [harness.alert("V1")], version=1)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "success"})
        self.assertIn("V1", self.names())
        r = post_alerts(self.d.url, [{"labels": {}}], version=1)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["status"], "error")
        self.assertEqual(r.json()["errorType"], "bad_data")

    def test_rejected_batch_changes_nothing(self):
        r = post_alerts(self.d.url, [harness.alert("Atomic1"), harness.alert("Atomic2"),
                                     {"labels": {"alertname": "Atomic3", "bad-name": "x"}}])
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), 'alerts[2].labels: invalid label name "bad-name"')
        names = self.names()
        self.assertNotIn("Atomic1", names)
        self.assertNotIn("Atomic2", names)

    def test_bad_alert_bodies(self):
        cases = [
            (b'[{"labels": {"a": "b"}},\n {"labels": }]', "invalid JSON at line 2, column"),
            (b'{}', "body: must be an array of alerts, not an object"),
            (b'[{"labels": {"a": "\xff"}}]', "invalid UTF-8"),
            (b'[{"annotations": {}}]', "alerts[0].labels: required"),
            (b'[{"labels": {}}]', "at least one label pair required"),
            (b'[{"labels": {"a": "b"}, "startsAt": "yesterday"}]',
             'alerts[0].startsAt: invalid time "yesterday"'),
            (b'[{"labels": {"a": "b"}, "startsAt": "2026-01-02T00:00:00Z",'
             b' "endsAt": "2026-01-01T00:00:00Z"}]',
             "alerts[0]: start time must be before end time"),
        ]
        for body, msg in cases:
            r = request("POST", self.url("/api/v2/alerts"), body=body,
                        headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, body)
            self.assertEqual(r.headers.get("content-type"), "application/json")
            j = r.json()
            self.assertIn(msg, j if isinstance(j, str) else j["message"], body)

    def test_body_limit_from_config(self):
        big = [harness.alert("Big%d" % i) for i in range(200)]  # > 4096 bytes
        r = post_alerts(self.d.url, big)
        self.assertEqual(r.status, 413)
        self.assertIn("4096", r.json()["message"])
        self.assertNotIn("Big0", self.names())

    def test_query_parameters(self):
        post_alerts(self.d.url, [harness.alert("QueryA", {"team": "db", "sev": "page"}),
                                 harness.alert("QueryB", {"team": "web", "sev": "info"})])
        self.assertEqual([n for n in self.names(filter='alertname=~"Query.*"')],
                         ["QueryA", "QueryB"])
        self.assertEqual(self.names(filter=['alertname=~"Query.*"', 'team="db"']), ["QueryA"])
        self.assertEqual(self.names(filter=['alertname=~"Query.*"', "sev!=page"]), ["QueryB"])
        self.assertEqual(self.names(filter='alertname=~"Query.*"', receiver="team-.*"),
                         ["QueryA"])
        # Anchored: "team" alone matches no receiver.
        self.assertEqual(self.names(filter='alertname=~"Query.*"', receiver="team"), [])
        # Unprocessed/active alerts drop out when both are turned off.
        self.assertEqual(self.names(filter='alertname=~"Query.*"', active="false",
                                    unprocessed="false"), [])
        # '+' in a query string is a space (amtool's encoding).
        post_alerts(self.d.url, [harness.alert("Query C")])
        r = request("GET", self.d.url + "/api/v2/alerts?filter=alertname%3D%22Query+C%22")
        self.assertEqual([a["labels"]["alertname"] for a in r.json()], ["Query C"])

    def test_bad_query_parameters(self):
        for query, msg in [({"filter": "foo"}, "bad matcher format"),
                           ({"filter": 'a=~"("'}, "("),
                           ({"active": "maybe"}, 'active: invalid boolean "maybe"'),
                           ({"receiver": "("}, "failed to parse receiver param")]:
            r = request("GET", self.url("/api/v2/alerts", **query))
            self.assertEqual(r.status, 400, query)
            self.assertIn(msg, r.json(), query)
        r = request("GET", self.url("/api/v2/alerts/groups", filter="foo"))
        self.assertEqual(r.status, 400)

    def test_groups(self):
        post_alerts(self.d.url, [harness.alert("GroupA", {"team": "db"})])
        st, groups = get_json(self.url("/api/v2/alerts/groups", filter='alertname="GroupA"'))
        self.assertEqual(st, 200)
        self.assertEqual(len(groups), 1, groups)
        self.assertEqual(groups[0]["receiver"], {"name": "team-db"})
        self.assertEqual([a["labels"]["alertname"] for a in groups[0]["alerts"]], ["GroupA"])

    def test_concurrent_posts(self):
        # 8 connections at once, each with its own keep-alive connection: every alert
        # of every batch is stored, no request fails.
        import http.client
        import threading
        errors = []

        def worker(w):
            conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
            try:
                for k in range(10):
                    body = json.dumps([harness.alert("Conc", {"w": str(w), "k": str(k),
                                                              "i": str(i)})
                                       for i in range(10)])
                    conn.request("POST", "/api/v2/alerts", body=body,
                                 headers={"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        errors.append(r.status)
            except OSError as e:
                errors.append(e)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(self.alerts(filter='alertname="Conc"')), 800)

    # ------------------------------------------------------------ silences

    def test_silence_lifecycle(self):
        r = post_json(self.url("/api/v2/silences"), silence([m("alertname", "Silenced")]))
        self.assertEqual(r.status, 200, r.text)
        sid = r.json()["silenceID"]
        self.assertRegex(sid, UUID_RE)
        st, s = get_json(self.url("/api/v2/silence/" + sid))
        self.assertEqual(st, 200)
        self.assertEqual(s["id"], sid)
        self.assertEqual(s["matchers"][0]["name"], "alertname")
        self.assertEqual(s["status"]["state"], "active")
        st, lst = get_json(self.url("/api/v2/silences", filter='alertname="Silenced"'))
        self.assertEqual(st, 200)
        self.assertIn(sid, [x["id"] for x in lst])
        post_alerts(self.d.url, [harness.alert("Silenced")])
        self.assertNotIn("Silenced", self.names(silenced="false"))
        self.assertIn("Silenced", self.names())
        r = request("DELETE", self.url("/api/v2/silence/" + sid))
        self.assertEqual(r.status, 200, r.text)
        st, s = get_json(self.url("/api/v2/silence/" + sid))
        self.assertEqual(s["status"]["state"], "expired")

    def test_silence_errors(self):
        cases = [
            (silence([m("a", "b")], starts=FUTURE, ends="2029-01-01T00:00:00Z"),
             "Failed to create silence: start time must be before end time"),
            (silence([m("a", "b")], starts="2020-01-01T00:00:00Z", ends="2021-01-01T00:00:00Z"),
             "Failed to create silence: end time can't be in the past"),
            (silence([m("1a", "b")]),
             'silence invalid: invalid label matcher 0: invalid label name "1a"'),
            (silence([m("a", ".*", is_regex=True)]),
             "silence invalid: at least one matcher must not match the empty string"),
        ]
        for body, msg in cases:
            r = post_json(self.url("/api/v2/silences"), body)
            self.assertEqual(r.status, 400, body)
            self.assertEqual(r.json(), msg)
        r = post_json(self.url("/api/v2/silences"), {"matchers": []})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["code"], 400)
        unknown = "6eaa32db-2f74-4407-b902-19fdf925ad10"
        r = post_json(self.url("/api/v2/silences"), silence([m("a", "b")], id=unknown))
        self.assertEqual(r.status, 404, r.text)
        r = request("GET", self.url("/api/v2/silence/" + unknown))
        self.assertEqual(r.status, 404)
        r = request("GET", self.url("/api/v2/silence/nope"))
        self.assertEqual(r.status, 422)
        self.assertIn("must be of type uuid", r.json()["message"])
        r = request("DELETE", self.url("/api/v2/silence/" + unknown))
        self.assertNotEqual(r.status, 200)

    # ------------------------------------------------------------ status, receivers, health

    def test_status_and_receivers(self):
        st, s = get_json(self.url("/api/v2/status"))
        self.assertEqual(st, 200)
        self.assertEqual(s["cluster"]["status"], "disabled")
        self.assertIn("team-db", s["config"]["original"])
        self.assertIn("version", s["versionInfo"])
        st, r = get_json(self.url("/api/v2/receivers"))
        self.assertEqual(st, 200)
        self.assertEqual(sorted(x["name"] for x in r), ["default", "team-db"])

    def test_ready_head(self):
        r = request("HEAD", self.url("/-/ready"))
        self.assertEqual(r.status, 200)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        if not HAVE_ENGINE:
            self.skipTest("this build has no engine")
        self.d = Amrouter(CONFIG)
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def receivers(self):
        return sorted(x["name"] for x in get_json(self.d.url + "/api/v2/receivers")[1])

    def test_reload_good_and_bad(self):
        self.d.write_config(CONFIG.replace("- name: team-db\n", "- name: team-db\n- name: extra\n"))
        r = self.d.reload()
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.receivers(), ["default", "extra", "team-db"])
        self.d.write_config(CONFIG.replace("group_wait: 1h", "group_wait: soon"))
        r = self.d.reload()
        self.assertEqual(r.status, 500)
        self.assertIn("amrouter.yml:5:", r.text)
        self.assertIn("soon", r.text)
        # The running config stays.
        self.assertEqual(self.receivers(), ["default", "extra", "team-db"])

    def test_sighup_reload_and_bad_config(self):
        self.d.write_config(CONFIG.replace("- name: team-db\n", "- name: team-db\n- name: hup\n"))
        self.d.signal(signal.SIGHUP)
        harness.wait_until(lambda: "hup" in self.receivers(), what="SIGHUP reload")
        self.d.write_config("route: [")
        self.d.signal(signal.SIGHUP)
        harness.wait_until(lambda: "reload failed" in self.d.logs(), what="failed reload log")
        self.assertTrue(self.d.running)
        self.assertIn("hup", self.receivers())


@unittest.skipUnless(os.path.exists(harness.AMTOOL_BIN), "amtool not installed")
class AmtoolTest(unittest.TestCase):
    """amtool, a real API v2 client, against amrouter."""

    def setUp(self):
        if not HAVE_ENGINE:
            self.skipTest("this build has no engine")
        self.d = Amrouter(CONFIG)
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def amtool(self, *args):
        p = subprocess.run([harness.AMTOOL_BIN, "--alertmanager.url=" + self.d.url] + list(args),
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=self.d.dir))
        return p

    def test_alert_add_and_query(self):
        p = self.amtool("alert", "add", "alertname=AmtoolAlert", "severity=page",
                        "--annotation=summary=hi")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.amtool("alert", "query", "alertname=AmtoolAlert")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("AmtoolAlert", p.stdout)
        p = self.amtool("-o", "json", "alert", "query")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([a["labels"]["alertname"] for a in json.loads(p.stdout)],
                         ["AmtoolAlert"])

    def test_silence_add_query_update_expire(self):
        p = self.amtool("silence", "add", "alertname=AmtoolSil", "--comment=c", "--author=me",
                        "--duration=1h")
        self.assertEqual(p.returncode, 0, p.stderr)
        sid = p.stdout.strip()
        self.assertRegex(sid, UUID_RE)
        p = self.amtool("silence", "query", "-q")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), [sid])
        p = self.amtool("silence", "update", sid, "--duration=2h")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alertname=\"AmtoolSil\"", p.stdout)
        # (amtool 0.25 prints a pointer for `update -q`: ask for the id instead.)
        p = self.amtool("silence", "query", "-q")
        new = p.stdout.strip()
        self.assertRegex(new, UUID_RE)
        p = self.amtool("silence", "expire", new)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.amtool("silence", "query", "-q")
        self.assertEqual(p.stdout.split(), [])
        p = self.amtool("silence", "add", "alertname=~.*", "--comment=c")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("at least one matcher must not match the empty string", p.stderr)


if __name__ == "__main__":
    unittest.main()
