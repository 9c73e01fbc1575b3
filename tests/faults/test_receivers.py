"""A receiver that is down, slow (answers after 20 s) or answering garbage.

Two receivers get every group: "good" (always answers 200) and "bad" (the
fault). The bad one has http_config.timeout 2s, so a 20 s answer is a
timeout and a retry. Verified for each fault: the good receiver gets every
group within a bound that does not depend on the bad one (no head-of-line
blocking), the bad one gets every group once it recovers (nothing lost), and
the daemon's RSS and open file descriptors stay bounded.
"""
import time
import unittest

import harness
from faultlib import FlakyReceiver, proc_stats, say, webhook_config

N_GROUPS = 8


class ReceiverFaultTest(unittest.TestCase):
    def run_fault(self, mode, fault_seconds):
        print()
        good = FlakyReceiver().start()
        bad = FlakyReceiver(mode="ok", slow_seconds=20.0).start()
        self.addCleanup(good.stop)
        self.addCleanup(bad.stop)
        bad.set_mode(mode)
        cfg = webhook_config([("good", good.url), ("bad", bad.url)], timeout="2s")
        d = harness.Amrouter(cfg, log_level="info")
        self.addCleanup(d.cleanup)
        d.start()
        before = proc_stats(d.pid)
        t0 = time.monotonic()
        names = ["Rcv%s%d" % (mode.capitalize(), i) for i in range(N_GROUPS)]
        for n in names:
            r = harness.post_alerts(d.url, [harness.alert(n, ends_at=time.time() + 3600)])
            self.assertEqual(r.status, 200, r.text)
        say("tried: receiver '%s' for %.0fs while %d groups were posted; the other "
            "receiver answers at once", mode, fault_seconds, N_GROUPS)

        harness.wait_until(lambda: set(names) <= set(good.groups()), timeout=8,
                           interval=0.05, what="the good receiver to get every group")
        took = time.monotonic() - t0
        say("verified: the good receiver got all %d groups %.1fs after posting "
            "(group_wait 200ms; the bad receiver's fault did not hold it up)", N_GROUPS, took)
        # Not a speed assertion: 5 s is far below any wait the fault could cause
        # (20 s answer, retries) and far above the group_wait.
        self.assertLess(took, 5.0)

        left = fault_seconds - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)
        during = proc_stats(d.pid)
        bad.set_mode("ok")
        harness.wait_until(lambda: set(names) <= set(bad.groups()), timeout=30, interval=0.1,
                           what="the recovered receiver to get every group")
        say("verified: after the fault ended the bad receiver got all %d groups "
            "(%.1fs after posting; %d garbage answers, %d requests seen)", N_GROUPS,
            time.monotonic() - t0, bad.garbage_answers, len(bad.requests))
        after = proc_stats(d.pid)
        say("daemon: rss %d -> %d -> %d kB, fds %d -> %d -> %d, threads %d -> %d",
            before["rss_kb"], during["rss_kb"], after["rss_kb"], before["fds"], during["fds"],
            after["fds"], before["threads"], after["threads"])
        self.assertLess(after["rss_kb"], before["rss_kb"] + 64 * 1024, "RSS grew by > 64 MiB")
        self.assertLess(after["fds"], before["fds"] + 64, "file descriptors leak")
        self.assertEqual(sorted(set(good.groups())), sorted(names))

    def test_receiver_down(self):
        self.run_fault("down", 4.0)

    def test_receiver_slow_20s(self):
        self.run_fault("slow", 4.0)

    def test_receiver_garbage(self):
        self.run_fault("garbage", 3.0)


if __name__ == "__main__":
    unittest.main()
