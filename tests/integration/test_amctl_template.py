"""`amctl template render`: renders files and text to stdout, with the built-in
example, a data file, partials, escape modes; exit 2 on usage errors and 1 on
template errors with file:line:column."""
import json
import os
import subprocess
import tempfile
import unittest

import harness


def amctl(*args, timeout=10):
    p = subprocess.run([harness.AMCTL_BIN, *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class TemplateRender(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_text_with_builtin_example(self):
        rc, out, err = amctl("template", "render", "--text",
                             "{{receiver}}: {{firingCount}} firing, incident #{{incident.id}}")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "team-db: 2 firing, incident #42")

    def test_file_data_partials_and_escape(self):
        tpl = self.write("main.mustache", "{{#alerts}}{{>row}}{{/alerts}}")
        os.mkdir(os.path.join(self.dir, "parts"))
        self.write("parts/row.mustache", "- {{labels.alertname}}\n")
        data = self.write("data.json", json.dumps(
            {"alerts": [{"labels": {"alertname": "<A&B>"}}, {"labels": {"alertname": "C\"D"}}]}))
        base = ["template", "render", "--template", tpl, "--data", data,
                "--partials", os.path.join(self.dir, "parts")]
        rc, out, err = amctl(*base)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "- &lt;A&amp;B&gt;\n- C&quot;D\n")
        rc, out, _ = amctl(*base, "--escape", "none")
        self.assertEqual(out, "- <A&B>\n- C\"D\n")
        rc, out, _ = amctl(*base, "--escape=json")
        self.assertEqual(out, "- <A&B>\n- C\\\"D\n")

    def test_default_templates_are_partials(self):
        rc, out, err = amctl("template", "render", "--text", "{{>email_subject}}", "--escape",
                             "none")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "[FIRING:2] PostgresDown prod-eu (incident #42)")

    def test_template_error_has_position(self):
        tpl = self.write("bad.mustache", "ok\n  {{#alerts}}\n{{/alert}}\n")
        rc, out, err = amctl("template", "render", "--template", tpl)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn(tpl + ":3:1: {{/alert}} does not close {{#alerts}} opened at line 2 "
                      "column 3", err)
        rc, _, err = amctl("template", "render", "--text", "{{>nosuch}}")
        self.assertEqual(rc, 1)
        self.assertIn('--text:1:1: partial "nosuch" not found', err)

    def test_bad_data_file(self):
        data = self.write("data.json", "{\"a\": ")
        rc, _, err = amctl("template", "render", "--text", "x", "--data", data)
        self.assertEqual(rc, 1)
        self.assertIn(data + ":1:", err)

    def test_usage_errors(self):
        for args in (["template"], ["template", "render"],
                     ["template", "render", "--text", "a", "--template", "b"],
                     ["template", "render", "--text", "a", "--escape", "xml"],
                     ["template", "render", "--text"],
                     ["template", "render", "--bogus"],
                     ["template", "frobnicate"]):
            rc, out, err = amctl(*args)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, "", args)
            self.assertTrue(err.startswith("amctl") or err.startswith("usage"), (args, err))

    def test_help(self):
        rc, out, _ = amctl("template", "render", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("--partials DIR", out)
        rc, out, _ = amctl("template", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("amctl template render", out)


if __name__ == "__main__":
    unittest.main()
