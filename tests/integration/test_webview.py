"""test_webview.py - the web view (GET /) in headless Chromium, and its forms.

Chromium loads the page and dumps the DOM it built: the open incidents with
state, step and an Acknowledge form, the active silence with an Expire form,
HTML-escaped values and the meta refresh. The forms are then posted as a
browser would (the csrf field from the page, Origin of the server): ack and
expire work and redirect back; a wrong csrf field or a foreign Origin is 403.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import Amrouter, request, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CONFIG = """\
route:
  receiver: r
  group_wait: 0s
  group_by: [alertname]
receivers:
- name: r
"""


def chromium_dom(url):
    profile = tempfile.mkdtemp(prefix="amr-chromium-")
    try:
        out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                              "--no-first-run", "--disable-background-networking",
                              "--disable-component-update", "--disable-sync",
                              "--user-data-dir=" + profile, "--dump-dom", url],
                             capture_output=True, text=True, timeout=60)
        return out.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@unittest.skipIf(CHROMIUM is None, "chromium is not installed")
class WebViewTest(unittest.TestCase):
    def setUp(self):
        self.d = Amrouter(CONFIG)
        self.addCleanup(self.d.cleanup)
        self.d.start()
        d = self.d
        self.assertEqual(request("POST", d.url + "/api/v2/alerts",
                                 [{"labels": {"alertname": "DiskFull", "instance": "<db1>"}},
                                  {"labels": {"alertname": "CPU"}}]).status, 200)
        r = request("POST", d.url + "/api/v2/silences",
                    {"matchers": [{"name": "instance", "value": "db2", "isRegex": False}],
                     "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z",
                     "createdBy": "alice", "comment": "maint <b>x</b>"})
        self.sid = r.json()["silenceID"]
        wait_until(lambda: len(request("GET", d.url + "/api/v2/incidents").json()) == 2,
                   timeout=10, what="two incidents")

    def form(self, html, action):
        m = re.search(r'action="%s"><input type="hidden" name="csrf" value="([^"]+)"'
                      % re.escape(action), html)
        self.assertIsNotNone(m, "no form for %s in the page" % action)
        return m.group(1)

    def post(self, path, csrf, origin=None):
        return request("POST", self.d.url + path, "csrf=" + urllib.parse.quote(csrf),
                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                "Origin": origin or self.d.url})

    def test_page_in_chromium_and_forms(self):
        dom = chromium_dom(self.d.url + "/")
        self.assertIn('<table id="incidents">', dom)
        self.assertEqual(len(re.findall(r'<tr class="incident"', dom)), 2, dom)
        self.assertIn("alertname=DiskFull", dom)
        self.assertIn(">firing<", dom)
        self.assertIn("1 of 1", dom)
        self.assertEqual(dom.count(">Acknowledge</button>"), 2)
        self.assertIn('<tr class="silence" data-id="%s">' % self.sid, dom)
        self.assertIn("maint &lt;b&gt;x&lt;/b&gt;", dom)  # escaped, not markup
        self.assertNotIn("<b>x</b>", dom)
        self.assertIn('http-equiv="refresh"', dom)

        incs = {i["groupLabels"]["alertname"]: i["id"]
                for i in request("GET", self.d.url + "/api/v2/incidents").json()}
        action = "/ui/ack/%d" % incs["DiskFull"]
        csrf = self.form(dom, action)
        self.assertEqual(self.post(action, "AAAA" + csrf[4:]).status, 403)
        self.assertEqual(self.post(action, csrf, origin="http://evil.example").status, 403)
        # the csrf field of one incident does not ack another
        other = "/ui/ack/%d" % incs["CPU"]
        self.assertEqual(self.post(other, csrf).status, 403)
        r = self.post(action, csrf)
        self.assertEqual(r.status, 303, r.text)
        self.assertEqual(r.headers["location"], "/")
        inc = request("GET", self.d.url + "/api/v2/incidents/%d" % incs["DiskFull"]).json()
        self.assertEqual(inc["state"], "acknowledged")
        self.assertEqual(inc["ack"]["via"], "web")

        action = "/ui/expire/" + self.sid
        csrf = self.form(dom, action)
        self.assertEqual(self.post(action, csrf, origin="null").status, 403)
        self.assertEqual(self.post(action, csrf).status, 303)
        s = request("GET", self.d.url + "/api/v2/silence/" + self.sid).json()
        self.assertEqual(s["status"]["state"], "expired")

        dom = chromium_dom(self.d.url + "/")
        self.assertIn(">acknowledged<", dom)
        self.assertEqual(dom.count(">Acknowledge</button>"), 1)
        self.assertIn('id="no-silences"', dom)

    def test_needs_read_scope_with_tokens(self):
        d = Amrouter(CONFIG + "api:\n  tokens:\n  - {name: v, token: view-secret-0123456789ab,"
                     " scopes: [read]}\n")
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(request("GET", d.url + "/").status, 401)
        r = request("GET", d.url + "/", headers={"Authorization":
                                                 "Bearer view-secret-0123456789ab"})
        self.assertEqual(r.status, 200)
        self.assertIn("No open incidents.", r.text)
        # read scope cannot press the buttons
        r = request("POST", d.url + "/ui/expire/x", "csrf=y",
                    headers={"Authorization": "Bearer view-secret-0123456789ab"})
        self.assertEqual(r.status, 403)


if __name__ == "__main__":
    unittest.main()
