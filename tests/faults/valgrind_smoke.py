#!/usr/bin/env python3
"""The daemon under valgrind memcheck (scripts/valgrind.sh, make valgrind).

Starts bin/amrouter as `$VALGRIND_CMD amrouter ...` (VALGRIND_CMD from the
script: memcheck, --error-exitcode=99), posts alerts and a silence, reads them
back, waits for a webhook delivery, expires the silence, then SIGTERM. Passes
when every request was answered as expected and the daemon exited 0 (valgrind
turns any error or definite leak into exit 99). Prints what it did and the
valgrind report's path.
"""
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from faultlib import FlakyReceiver, webhook_config  # noqa: E402


class ValgrindAmrouter(harness.Amrouter):
    def __init__(self, *a, vg_log=None, **kw):
        self.vg_log = vg_log
        super().__init__(*a, **kw)

    def command(self):
        vg = shlex.split(os.environ.get("VALGRIND_CMD") or
                         "valgrind --error-exitcode=99 --leak-check=full "
                         "--errors-for-leak-kinds=definite,indirect")
        return vg + ["--log-file=" + self.vg_log] + super().command()


def main():
    out = os.path.abspath(os.environ.get("VG_LOG") or "build/valgrind/amrouter.vg")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    rcv = FlakyReceiver().start()
    d = ValgrindAmrouter(webhook_config([("hook", rcv.url)]), vg_log=out, log_level="info")
    ok = False
    try:
        d.start(timeout=120)
        r = harness.post_alerts(d.url, [harness.alert("VgSmoke%d" % i, ends_at=time.time() + 600)
                                        for i in range(5)], timeout=60)
        assert r.status == 200, r
        r = harness.post_json(d.url + "/api/v2/silences", {
            "matchers": [{"name": "alertname", "value": "VgSmoke0", "isRegex": False}],
            "startsAt": harness.rfc3339(), "endsAt": harness.rfc3339(time.time() + 600),
            "createdBy": "vg", "comment": "smoke"}, timeout=60)
        assert r.status == 200, r
        sid = r.json()["silenceID"]
        for path in ("/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences",
                     "/api/v2/status", "/api/v2/alerts?filter=alertname%3D~%22Vg.*%22"):
            r = harness.request("GET", d.url + path, timeout=60)
            assert r.status == 200, (path, r)
        r = harness.post_alerts(d.url, [{"labels": {"1bad": "x"}}], timeout=60)
        assert r.status == 400, r
        harness.wait_until(lambda: len(rcv.requests) >= 4, timeout=60, what="webhook deliveries")
        r = harness.request("DELETE", d.url + "/api/v2/silence/" + sid, timeout=60)
        assert r.status == 200, r
        rc = d.stop(timeout=120)
        print("valgrind daemon smoke: 5 alerts, 1 silence, 5 GETs, 1 bad request, %d webhook "
              "deliveries, SIGTERM -> exit %s (report %s)" % (len(rcv.requests), rc, out))
        ok = rc == 0
        if not ok:
            with open(out) as f:
                print(f.read()[-6000:])
            print(d.logs()[-2000:])
    finally:
        d.cleanup()
        rcv.stop()
    print("valgrind: daemon %s" % ("clean" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
