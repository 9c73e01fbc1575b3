"""The README's five-minute tour, run command by command as written.

Every shell command in the tour's code blocks (between "## A five-minute tour"
and the next "## " heading) is run against an amrouter started the way
`make run` starts it (config.example.yml with its team files), with three
substitutions a reader would make: the test's port for 9093, the built
binaries for bin/, and the id that `silence add` printed for <ID>. `make run`
itself is the daemon the test starts. Each command must exit 0, and the
checks after it assert what the tour says happens.
"""
import os
import re
import subprocess
import unittest

import harness

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tour_commands():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    start = text.index("## A five-minute tour")
    end = text.index("\n## ", start + 1)
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", text[start:end], re.S):
        block = block.replace("\\\n", " ")
        pending = ""
        for line in block.splitlines():
            if not pending:
                line = line.split("  #", 1)[0]
            pending = (pending + " " + line.strip()).strip()
            if pending.count("'") % 2 == 1:
                continue  # a quoted argument goes on over the next line
            if pending and not pending.startswith("#"):
                cmds.append(pending)
            pending = ""
    return cmds


class ReadmeTour(unittest.TestCase):
    def test_tour_runs_as_written(self):
        cmds = tour_commands()
        self.assertIn("make run", cmds)
        self.assertGreaterEqual(len(cmds), 10, cmds)
        files = {}
        for name in os.listdir(os.path.join(REPO, "teams")):
            with open(os.path.join(REPO, "teams", name), encoding="utf-8") as f:
                files["teams/" + name] = f.read()
        with open(os.path.join(REPO, "config.example.yml"), encoding="utf-8") as f:
            d = harness.Amrouter(f.read(), files=files)
        self.addCleanup(d.cleanup)
        d.start()
        bindir = os.path.dirname(os.environ.get("AMCTL_BIN", os.path.join(REPO, "bin", "amctl")))
        env = dict(os.environ)
        env.pop("AMCTL_URL", None)
        silence_id = None
        for cmd in cmds:
            if cmd == "make run":
                continue
            cmd = cmd.replace("http://127.0.0.1:9093", d.url)
            cmd = re.sub(r"(^|\s)bin/", lambda m: m.group(1) + bindir + "/", cmd)
            if "amctl" in cmd and "--alertmanager.url" not in cmd:
                cmd = cmd.replace("/amctl ", "/amctl --url " + d.url + " ", 1)
            if "<ID>" in cmd:
                self.assertIsNotNone(silence_id, "the tour expires a silence it never created")
                cmd = cmd.replace("<ID>", silence_id)
            p = subprocess.run(["bash", "-c", cmd], cwd=REPO, env=env, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 0, f"{cmd}\nstdout: {p.stdout}\nstderr: {p.stderr}")
            if "silence add" in cmd:
                silence_id = p.stdout.strip()
                self.assertRegex(silence_id, r"^[0-9a-f-]{36}$")
            if cmd.endswith("/amctl --url " + d.url + " alerts"):
                self.assertIn("DiskFull", p.stdout)
            if "silence expire" in cmd:
                st, body = harness.get_json(d.url + "/api/v2/silence/" + silence_id)
                self.assertEqual(st, 200)
                self.assertEqual(body["status"]["state"], "expired")
            if re.search(r"amctl --url \S+ ack ", cmd):
                st, body = harness.get_json(d.url + "/api/v2/incidents/1")
                self.assertEqual(st, 200)
                self.assertEqual(body["state"], "acknowledged", body)
        # "start it again ... and the alert is still there"
        d.restart()
        st, alerts = harness.get_json(d.url + "/api/v2/alerts")
        self.assertEqual(st, 200)
        self.assertIn("DiskFull", [a["labels"]["alertname"] for a in alerts])


if __name__ == "__main__":
    unittest.main()
