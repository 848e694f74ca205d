#!/usr/bin/python3
"""A load test: browser viewers (tabs of one headless Chromium on the player
page, WebRTC) and RTSP viewers (ffmpeg decoding to nothing) on one stream of a running driftd
for a while, then what each viewer got and what driftd reported. Defaults: 8 + 8 for 2 minutes.
CTest runs it as daemon_load_viewers (webrtc_test.py: its own driftd, tiny models, 8 + 8 for
120 s); by hand against a running driftd:

    tools/dev.sh run                                    # another terminal: driftd streams "live"
    python3 tests/daemon/load_test.py                   # 8 browsers + 8 RTSP viewers, 120 s
    python3 tests/daemon/load_test.py --browsers 2 --rtsp 2 --seconds 20

Every viewer must have played about as many seconds as the test lasted (currentTime, ffmpeg's
time), or the run fails. Only addresses given (loopback by default) are contacted.
Debian: chromium, python3-websocket, ffmpeg."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_test import VIDEO, Chromium  # noqa: E402


def metrics(http, stream):
    text = urllib.request.urlopen(http + "/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'(drift_\w+)\{stream="' + re.escape(stream) + r'"(?:,protocol="(\w+)")?\} (\S+)',
                     line)
        if m:
            out[m.group(1) + (f"[{m.group(2)}]" if m.group(2) else "")] = float(m.group(3))
        elif line.startswith("drift_process_cpu_seconds_total "):
            out["cpu_seconds"] = float(line.split()[1])
    return out


def load(http, rtsp_url, stream, browsers, rtsp_viewers, seconds, tmp, log=print):
    """browsers tabs of one headless Chromium on the player page and rtsp_viewers ffmpeg clients
    on one stream for seconds; what each viewer played and what driftd reported. Returns
    (failures, figures): failures lists each viewer that played less than 80 % of the time and
    each poll (every 10 s) that counted fewer viewers than were started (one dropped)."""
    failures = []
    before = metrics(http, stream)
    chromium = Chromium(tmp) if browsers else None
    tabs, rtsp, played = [], [], []
    try:
        for i in range(browsers):
            tab = chromium if i == 0 else chromium.new_tab()
            tab.send("Page.navigate", url=f"{http}/stream/{stream}")
            tabs.append(tab)
        for i in range(rtsp_viewers):
            rtsp.append(subprocess.Popen(
                ["ffmpeg", "-nostdin", "-v", "error", "-stats_period", "1", "-progress", "pipe:1",
                 "-rtsp_transport", "tcp", "-i", rtsp_url, "-f", "null", "-"],
                stdout=open(os.path.join(tmp, f"rtsp{i}.progress"), "w"),
                stderr=subprocess.DEVNULL))
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            time.sleep(min(10, seconds))
            m = metrics(http, stream)
            now = time.monotonic() - t0
            counted = (m.get("drift_stream_clients[rtsp]"), m.get("drift_stream_clients[webrtc]"))
            log(f"{now:5.0f} s: clients rtsp {counted[0]} webrtc {counted[1]}, realtime factor "
                f"{m.get('drift_stream_realtime_factor')}, degraded {m.get('drift_stream_degraded')}")
            # The first poll may come before every page has connected.
            short = (counted[0] or 0) < rtsp_viewers or (counted[1] or 0) < browsers
            if now > 15 and short:
                failures.append(f"at {now:.0f} s driftd counted {counted[0]} RTSP and "
                                f"{counted[1]} WebRTC viewers of {rtsp_viewers} and {browsers}")
        played = [t.eval(VIDEO) for t in tabs]
        after = metrics(http, stream)
    finally:
        for proc in rtsp:
            proc.terminate()
            proc.wait()
        if chromium:
            chromium.close()
    for i, v in enumerate(played):
        ok = v and v["time"] >= seconds * 0.8 and v["audio"] == 1
        if not ok:
            failures.append(f"browser {i} played {v['time'] if v else 0:.1f} s of {seconds:g}")
        log(f"browser {i}: {v['time'] if v else 0:.1f} s played, {v['frames'] if v else 0} frames"
            f"{'' if ok else '  <- short'}")
    for i in range(len(rtsp)):
        with open(os.path.join(tmp, f"rtsp{i}.progress")) as f:
            times = re.findall(r"out_time_ms=(\d+)", f.read())
        t = int(times[-1]) / 1e6 if times else 0
        if t < seconds * 0.8:
            failures.append(f"rtsp {i} played {t:.1f} s of {seconds:g}")
        log(f"rtsp {i}: {t:.1f} s played{'' if t >= seconds * 0.8 else '  <- short'}")
    figures = {"driftd_cpu_seconds": round(after.get("cpu_seconds", 0)
                                           - before.get("cpu_seconds", 0), 1),
               "seconds": seconds,
               "frames_generated": after.get("drift_stream_frames_generated_total", 0)
               - before.get("drift_stream_frames_generated_total", 0),
               "frames_repeated": after.get("drift_stream_frames_repeated_total", 0)
               - before.get("drift_stream_frames_repeated_total", 0)}
    log(json.dumps(figures))
    return failures, figures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--http", default="http://127.0.0.1:8555")
    p.add_argument("--rtsp-url", default="rtsp://127.0.0.1:8554/live")
    p.add_argument("--stream", default="live")
    p.add_argument("--browsers", type=int, default=8)
    p.add_argument("--rtsp", type=int, default=8)
    p.add_argument("--seconds", type=float, default=120)
    a = p.parse_args()
    failures, _ = load(a.http, a.rtsp_url, a.stream, a.browsers, a.rtsp, a.seconds,
                       tempfile.mkdtemp(prefix="drift-load-"), log=lambda m: print(m, flush=True))
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
