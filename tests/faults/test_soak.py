"""The soak (soak.py) for 30 seconds: mixed traffic, no unbounded growth of RSS,
file descriptors, threads or SQLite pages. `make soak SOAK_SECONDS=600` runs
the long one."""
import os
import unittest

import soak
from faultlib import say


class ShortSoakTest(unittest.TestCase):
    def test_soak_30s(self):
        print()
        seconds = int(os.environ.get("FAULT_SOAK_SECONDS") or 30)
        ok, fails = soak.soak(seconds, out=say)
        self.assertTrue(ok, "; ".join(fails))


if __name__ == "__main__":
    unittest.main()
