#!/usr/bin/env python3
"""Runs every tests/faults/test_*.py (unittest) and prints one summary line:
'faults: N passed, M failed, K skipped'. Exits non-zero on any failure or error.

The fault tests start the real daemon (tests/integration/harness.py) and break
what is around it: kill -9 under load, receivers that are down, slow or answer
garbage, a full disk, a locked database, idle and oversized connections. Each
test prints what it tried and what it verified. The whole run is bounded (about
a minute and a half on the 2-core machine).
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def main():
    sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
    sys.path.insert(0, HERE)
    pattern = sys.argv[1] if len(sys.argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"faults: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
