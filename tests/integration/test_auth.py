"""test_auth.py - API access control: bearer tokens, scopes, team limits, audit.

One amrouter with five tokens (one per scope), a team-scoped ack token and two
team files; every endpoint is called with every token and the answer must be
"allowed" (anything but 401/403) exactly when the token's scope covers it.
amtool authenticates with --http.config.file (Prometheus' http_config
`authorization`), as Prometheus does in alertmanager_config.
"""

import json
import os
import subprocess
import unittest

import harness
from harness import Amrouter, request, wait_until

TOKENS = {
    "ingest": "ingest-secret-0123456789",
    "read": "read-secret-0123456789ab",
    "silence": "silence-secret-012345678",
    "ack": "ack-secret-0123456789abc",
    "admin": "admin-secret-0123456789a",
    "dback": "db-ack-secret-0123456789",
    "dbsil": "db-silence-secret-012345",
}

CONFIG = """\
route:
  receiver: default
  group_wait: 0s
  group_interval: 1h
receivers:
- name: default
teams:
- teams/*.yml
api:
  tokens:
  - {name: prom, token: %(ingest)s, scopes: [ingest]}
  - {name: grafana, token: %(read)s, scopes: [read]}
  - {name: silencer, token: %(silence)s, scopes: [silence]}
  - {name: pager, token: %(ack)s, scopes: [ack]}
  - {name: root, token: %(admin)s, scopes: [admin]}
  - {name: db-oncall, token: %(dback)s, scopes: [ack, read], team: db}
  - {name: db-silencer, token: %(dbsil)s, scopes: [silence], team: db}
""" % TOKENS

TEAM = """\
name: %s
matchers: ['team="%s"']
route:
  receiver: r
receivers:
- name: r
"""

SIL = {"matchers": [{"name": "a", "value": "b", "isRegex": False}],
       "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z",
       "createdBy": "someone", "comment": "test"}


def bearer(scope):
    return {"Authorization": "Bearer " + TOKENS[scope]}


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Amrouter(CONFIG, files={"teams/db.yml": TEAM % ("db", "db"),
                                        "teams/web.yml": TEAM % ("web", "web")})
        cls.d.start()
        d = cls.d
        r = request("POST", d.url + "/api/v2/alerts",
                    [{"labels": {"alertname": "DbDown", "team": "db"}},
                     {"labels": {"alertname": "WebDown", "team": "web"}}],
                    headers=bearer("ingest"))
        assert r.status == 200, r.text

        def incidents():
            r = request("GET", d.url + "/api/v2/incidents", headers=bearer("admin"))
            teams = {i.get("team"): i["id"] for i in r.json()} if r.status == 200 else {}
            return teams if "db" in teams and "web" in teams else None
        cls.incidents = wait_until(incidents, timeout=10, what="incidents for db and web")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def call(self, method, path, body=None, scope=None, headers=None):
        h = dict(headers or {})
        if scope is not None:
            h.update(bearer(scope))
        return request(method, self.d.url + path, body, headers=h)

    def endpoints(self):
        """(method, path, body, the scope needed)"""
        sid = self.call("POST", "/api/v2/silences", SIL, "admin").json()["silenceID"]
        inc = self.incidents["web"]
        return [
            ("POST", "/api/v2/alerts", [{"labels": {"alertname": "X"}}], "ingest"),
            ("POST", "/api/v1/alerts", [{"labels": {"alertname": "X"}}], "ingest"),
            ("GET", "/api/v2/status", None, "read"),
            ("GET", "/api/v2/alerts", None, "read"),
            ("GET", "/api/v2/alerts/groups", None, "read"),
            ("GET", "/api/v2/silences", None, "read"),
            ("GET", "/api/v2/silence/" + sid, None, "read"),
            ("GET", "/api/v2/receivers", None, "read"),
            ("GET", "/api/v2/incidents", None, "read"),
            ("GET", "/metrics", None, "read"),
            ("POST", "/api/v2/silences", SIL, "silence"),
            ("DELETE", "/api/v2/silence/" + sid, None, "silence"),
            ("POST", "/api/v2/incidents/%d/ack" % inc, {"comment": "x"}, "ack"),
            ("POST", "/api/v2/incidents/%d/unack" % inc, {}, "ack"),
            ("POST", "/api/v2/acks", {"matchers": [{"name": "alertname", "value": "None"}]},
             "ack"),
            ("GET", "/api/v2/audit", None, "admin"),
            ("POST", "/-/reload", None, "admin"),
            ("POST", "/api/v2/admin/backup", None, "admin"),
        ]

    def test_every_scope_allowed_and_refused(self):
        for method, path, body, need in self.endpoints():
            for scope in ("ingest", "read", "silence", "ack", "admin"):
                r = self.call(method, path, body, scope)
                allowed = scope == need or scope == "admin"
                with self.subTest(method=method, path=path, token=scope):
                    if allowed:
                        self.assertNotIn(r.status, (401, 403), r.text)
                        self.assertLess(r.status, 500, r.text)
                    else:
                        self.assertEqual(r.status, 403, r.text)
                        body_ = r.json()
                        self.assertEqual(body_["code"], 403)
                        self.assertIn("lacks the " + need + " scope", body_["message"])

    def test_missing_and_unknown_tokens(self):
        for method, path, body, _ in self.endpoints():
            with self.subTest(method=method, path=path):
                r = self.call(method, path, body)
                self.assertEqual(r.status, 401, r.text)
                self.assertEqual(r.json()["code"], 401)
                self.assertIn("bearer", r.headers.get("www-authenticate", "").lower())
                r = self.call(method, path, body,
                              headers={"Authorization": "Bearer not-a-token-at-all-xx"})
                self.assertEqual(r.status, 401, r.text)
                self.assertEqual(r.json()["message"], "invalid token")
                # a prefix of a real token is not a token
                r = self.call(method, path, body,
                              headers={"Authorization": "Bearer " + TOKENS["admin"][:-1]})
                self.assertEqual(r.status, 401, r.text)
                r = self.call(method, path, body,
                              headers={"Authorization": "Basic " + TOKENS["admin"]})
                self.assertEqual(r.status, 401, r.text)

    def test_open_endpoints(self):
        for path in ("/-/healthy", "/-/ready"):
            self.assertEqual(self.call("GET", path).status, 200)
        # ack links are signed themselves: a bad link is refused by the link check, not 401
        r = self.call("GET", "/ack/not-a-valid-token")
        self.assertNotEqual(r.status, 401)
        self.assertNotIn("authorization", r.text.lower())
        self.assertNotIn("scope", r.text.lower())

    def test_team_token_acks_only_its_team(self):
        db, web = self.incidents["db"], self.incidents["web"]
        r = self.call("POST", "/api/v2/incidents/%d/ack" % web, {}, "dback")
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("limited to team db", r.json()["message"])
        r = self.call("POST", "/api/v2/incidents/%d/ack" % db, {"comment": "on it"}, "dback")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["state"], "acknowledged")
        self.assertIn('"db-oncall"', r.text)  # acked by the token's name
        log = self.call("GET", "/api/v2/audit?who=db-oncall", None, "admin").json()
        self.assertIn(("incident.ack", str(db)), {(e["action"], e["target"]) for e in log})
        r = self.call("POST", "/api/v2/acks",
                      {"matchers": [{"name": "team", "value": "db"}]}, "dback")
        self.assertEqual(r.status, 403, r.text)
        # an admin token has no team limit
        r = self.call("POST", "/api/v2/incidents/%d/unack" % db, {}, "admin")
        self.assertEqual(r.status, 200, r.text)

    def test_team_token_silences_only_its_team(self):
        team_m = {"name": "team", "value": "db", "isRegex": False, "isEqual": True}
        r = self.call("POST", "/api/v2/silences", SIL, "dbsil")
        self.assertEqual(r.status, 403, r.text)
        self.assertIn('team="db"', r.json()["message"])
        web = dict(SIL, matchers=[dict(team_m, value="web")])
        self.assertEqual(self.call("POST", "/api/v2/silences", web, "dbsil").status, 403)
        mine = dict(SIL, matchers=SIL["matchers"] + [team_m])
        r = self.call("POST", "/api/v2/silences", mine, "dbsil")
        self.assertEqual(r.status, 200, r.text)
        own = r.json()["silenceID"]
        other = self.call("POST", "/api/v2/silences", SIL, "admin").json()["silenceID"]
        r = self.call("DELETE", "/api/v2/silence/" + other, None, "dbsil")
        self.assertEqual(r.status, 403, r.text)
        self.assertEqual(self.call("DELETE", "/api/v2/silence/" + own, None, "dbsil").status,
                         200)

    def test_created_by_is_the_token_name_and_audited(self):
        r = self.call("POST", "/api/v2/silences", dict(SIL, comment="audited"), "silence")
        self.assertEqual(r.status, 200, r.text)
        sid = r.json()["silenceID"]
        s = self.call("GET", "/api/v2/silence/" + sid, None, "read").json()
        self.assertEqual(s["createdBy"], "silencer")
        self.assertEqual(self.call("DELETE", "/api/v2/silence/" + sid, None, "silence").status,
                         200)
        self.assertEqual(self.call("POST", "/-/reload", None, "admin").status, 200)
        log = self.call("GET", "/api/v2/audit?limit=1000", None, "admin").json()
        seen = {(e["who"], e["action"], e["target"]) for e in log}
        self.assertIn(("silencer", "silence.create", sid), seen)
        self.assertIn(("silencer", "silence.expire", sid), seen)
        self.assertIn(("root", "config.reload", ""), seen)
        only = self.call("GET", "/api/v2/audit?who=silencer", None, "admin").json()
        self.assertTrue(only and all(e["who"] == "silencer" for e in only))
        self.assertEqual(self.call("GET", "/api/v2/audit?since=yesterday", None,
                                   "admin").status, 400)

    def test_amtool_http_config_file(self):
        path = os.path.join(self.d.dir, "http.yml")
        with open(path, "w") as f:
            f.write("authorization:\n  credentials: %s\n" % TOKENS["silence"])
        args = [harness.AMTOOL_BIN, "--alertmanager.url=" + self.d.url,
                "--http.config.file=" + path]
        out = subprocess.run(args + ["silence", "add", "amtool=yes", "--comment=via amtool",
                                     "--duration=1h"],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        sid = out.stdout.strip()
        s = self.call("GET", "/api/v2/silence/" + sid, None, "read").json()
        self.assertEqual(s["createdBy"], "silencer")
        # without the file amtool is refused
        out = subprocess.run([harness.AMTOOL_BIN, "--alertmanager.url=" + self.d.url,
                              "silence", "query"], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(out.returncode, 0)


class OpenApiTest(unittest.TestCase):
    def test_open_without_tokens_and_warns_beyond_loopback(self):
        port = harness.free_port()
        d = Amrouter("route: {receiver: r}\nreceivers: [{name: r}]\n", port=port,
                     args=["--web.listen-address=:%d" % port])
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(request("GET", d.url + "/api/v2/status").status, 200)
        self.assertIn("THE API IS OPEN", d.logs())

    def test_loopback_does_not_warn(self):
        d = Amrouter("route: {receiver: r}\nreceivers: [{name: r}]\n")
        self.addCleanup(d.cleanup)
        d.start()
        self.assertNotIn("THE API IS OPEN", d.logs())


if __name__ == "__main__":
    unittest.main()


class PrometheusBearerTest(unittest.TestCase):
    """A real Prometheus sends its alerts with `authorization: {credentials: ...}`
    (a Bearer header) and scrapes /metrics with the read token."""

    def test_prometheus_with_tokens(self):
        from test_prometheus import PROMETHEUS_BIN, Prometheus, RULES
        if not os.path.exists(PROMETHEUS_BIN):
            self.skipTest("prometheus is not installed")
        d = Amrouter(CONFIG, files={"teams/db.yml": TEAM % ("db", "db"),
                                    "teams/web.yml": TEAM % ("web", "web")})
        self.addCleanup(d.cleanup)
        d.start()
        prom_cfg = """global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
  - api_version: v2
    authorization: {credentials: %s}
    static_configs: [{targets: ['127.0.0.1:%d']}]
scrape_configs:
- job_name: amrouter
  authorization: {credentials: %s}
  static_configs: [{targets: ['127.0.0.1:%d']}]
""" % (TOKENS["ingest"], d.port, TOKENS["read"], d.port)
        prom = Prometheus(prom_cfg, files={"rules.yml": RULES})
        self.addCleanup(prom.cleanup)
        prom.start(timeout=30)

        def got_alert():
            r = request("GET", d.url + "/api/v2/alerts", headers=bearer("read"))
            return [a for a in r.json() if a["labels"].get("alertname") == "AlwaysFiring"]
        wait_until(got_alert, timeout=30, what="Prometheus' alert in amrouter")

        def scraped():
            r = request("GET", prom.url + "/api/v1/query?query=up%7Bjob%3D%22amrouter%22%7D")
            res = r.json().get("data", {}).get("result", []) if r.status == 200 else []
            return res and res[0]["value"][1] == "1"
        wait_until(scraped, timeout=30, what="Prometheus scraping /metrics with the read token")
