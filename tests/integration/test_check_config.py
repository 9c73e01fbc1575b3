"""amctl check-config on real files: the example config passes with a summary,
a broken config fails with exit 1 and its file:line:col, several files are
checked in one run."""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AMCTL = os.environ.get("AMCTL_BIN", os.path.join(ROOT, "bin", "amctl"))


def amctl(*args, cwd=ROOT):
    return subprocess.run([AMCTL, *args], cwd=cwd, capture_output=True, text=True, timeout=30)


class CheckConfig(unittest.TestCase):
    def test_example_config_succeeds(self):
        p = amctl("check-config", "config.example.yml")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Checking 'config.example.yml'  SUCCESS", p.stdout)
        self.assertIn(" - 2 teams", p.stdout)
        self.assertIn(" - 3 escalation policies", p.stdout)
        self.assertIn(" - 1 inhibit rules", p.stdout)
        self.assertRegex(p.stdout, r" - \d+ receivers")
        self.assertRegex(p.stdout, r" - route \(\d+ routes\)")

    def test_broken_config_fails_with_position(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.yml")
            with open(path, "w") as f:
                f.write("route:\n"
                        "  receiver: r\n"
                        "  routes:\n"
                        "    - matchers: ['severity=\"page\"']\n"
                        "      group_wait: 5x\n"
                        "receivers:\n"
                        "  - name: r\n")
            p = amctl("check-config", "config.example.yml", path)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("Checking 'config.example.yml'  SUCCESS", p.stdout)
            self.assertIn(f"Checking '{path}'  FAILED: {path}:5:19: "
                          "route.routes[0].group_wait: invalid duration \"5x\"", p.stdout)
            self.assertIn("failed to validate 1 file(s)", p.stderr)

    def test_broken_team_file_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "teams"))
            with open(os.path.join(d, "main.yml"), "w") as f:
                f.write("route: {receiver: r}\nreceivers: [{name: r}]\nteams: [teams/*.yml]\n")
            with open(os.path.join(d, "teams", "db.yml"), "w") as f:
                f.write("name: db\nmatchers: ['team=\"db\"']\nroute:\n  receiver: nope\n")
            p = amctl("check-config", "main.yml", cwd=d)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("FAILED: teams/db.yml:4:13: route.receiver: undefined receiver "
                          "\"nope\" used in route", p.stdout)

    def test_usage(self):
        p = amctl("check-config")
        self.assertEqual(p.returncode, 2)
        p = amctl("check-config", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: amctl check-config", p.stdout)
        p = amctl("check-config", "/nonexistent/amrouter.yml")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read \"/nonexistent/amrouter.yml\": No such file or directory",
                      p.stdout)


if __name__ == "__main__":
    unittest.main()
