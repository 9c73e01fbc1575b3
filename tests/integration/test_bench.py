"""test_bench.py - `make bench`'s tool (bench/table.py) still works: it runs
every row in its tiny mode (a few hundred alerts, one round) against both
servers and the JSON it writes has every row with plausible values: every
alert stored, every group notified, amrouter keeping its alerts and silences
over a restart, template figures parsed. It asserts nothing about speed.

Invariants: the bench tool starts and stops its own servers by PID on
127.0.0.1; this test runs it as a child process with a bounded timeout and
kills it by PID if it overruns.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class BenchToolTest(unittest.TestCase):
    def test_tiny_run_has_every_row(self):
        tmp = tempfile.mkdtemp(prefix="amr-bench-test-")
        out_json = os.path.join(tmp, "bench.json")
        doc = os.path.join(tmp, "perf.md")
        with open(doc, "w") as f:
            f.write("# before\n\nProse quoting `<!-- bench:begin -->` and `<!-- bench:end -->`."
                    "\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\n# after\n")
        env = dict(os.environ, AMROUTER_BIN=harness.AMROUTER_BIN)
        p = subprocess.Popen([sys.executable, os.path.join(REPO, "bench", "table.py"),
                              "--tiny", "--json", out_json, "--out", doc],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                             cwd=REPO)
        try:
            out, _ = p.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate(timeout=30)
            self.fail("bench/table.py --tiny did not finish in 240 s:\n"
                      + out.decode(errors="replace")[-3000:])
        text = out.decode(errors="replace")
        self.assertEqual(p.returncode, 0, text[-3000:])
        with open(out_json) as f:
            data = json.load(f)
        res = data["results"]
        self.assertEqual(sorted(res), sorted(["ingest", "memory", "fanout", "restart",
                                              "templates"]))
        servers = ("alertmanager", "amrouter")

        # ingest: the four cases, both servers, every alert stored, sane figures
        cases = {(c["batch"], c["conns"]) for c in res["ingest"]}
        self.assertEqual(cases, {(100, 8), (100, 64), (1, 8), (1, 64)})
        for c in res["ingest"]:
            for s in servers:
                r = c[s]
                self.assertEqual(r["error_count"], 0, (c["batch"], c["conns"], s, r["errors"]))
                self.assertEqual(r["stored"], c["alerts"], (c["batch"], c["conns"], s))
                self.assertEqual(r["requests"], -(-c["alerts"] // c["batch"]))
                self.assertGreater(r["rate"], 0)
                self.assertGreater(r["p99_ms"], 0)
                self.assertGreaterEqual(r["p99_ms"], r["p50_ms"])
                self.assertGreater(r["rss_kib"], 1024)

        # memory: three points, RSS read at each, every alert held at the end
        for s in servers:
            m = res["memory"][s]
            self.assertEqual([p["alerts"] for p in m["points"]], [100, 200, 400])
            self.assertEqual(m["stored"], 400, s)
            self.assertEqual(m["error_count"], 0, s)
            self.assertGreater(m["idle_kib"], 1024)
            for p in m["points"]:
                self.assertGreater(p["rss_kib"], 1024)
                self.assertIn("per_alert_bytes", p)

        # fan-out: every group notified once, timings measured
        for s in servers:
            f = res["fanout"][s]
            self.assertEqual(f["notified"], f["groups"], s)
            self.assertEqual(f["groups"], 50)
            self.assertEqual(f["error_count"], 0, s)
            self.assertLess(f["p50_s"], 60)
            self.assertGreater(f["last_after_due_s"], -1.5)

        # restart: amrouter keeps alerts and silences; Alertmanager its silences
        amr = res["restart"]["amrouter"]
        self.assertEqual(amr["after"][-1], {"alerts": 200, "silence_kept": True})
        self.assertEqual(amr["listed_silences"], 20)
        self.assertGreater(amr["ready_s_median"], 0)
        am = res["restart"]["alertmanager"]
        self.assertEqual(am["after"][-1], {"alerts": 0, "silence_kept": True})
        self.assertEqual(am["listed_silences"], 20)

        # templates: the µs figures were parsed
        t = res["templates"]
        self.assertNotIn("error", t)
        self.assertTrue(any("slack" in k for k in t["figures"]), t["figures"])
        self.assertTrue(all(v > 0 for v in t["figures"].values()), t["figures"])

        # the markdown section was rewritten, the rest of the file kept
        with open(doc) as f:
            md = f.read()
        self.assertTrue(md.startswith("# before\n\nProse quoting `<!-- bench:begin -->` and "
                                      "`<!-- bench:end -->`.\n\n<!-- bench:begin -->\n"), md[:300])
        self.assertEqual(md.count("<!-- bench:begin -->"), 2)
        self.assertTrue(md.rstrip().endswith("# after"))
        self.assertNotIn("\nold\n", md)
        for needle in ("Ingest, batch 100, 8 conns", "Memory per alert", "Fan-out, 50 groups",
                       "Restart with 200 alerts", "Templates"):
            self.assertIn(needle, md)


if __name__ == "__main__":
    unittest.main()
