#!/usr/bin/python3
"""A load test by hand, not in CI: browser viewers (tabs of one headless Chromium on the player
page, WebRTC) and RTSP viewers (ffmpeg decoding to nothing) on one stream of a running driftd
for a while, then what each viewer got and what driftd reported. Defaults: 8 + 8 for 2 minutes.

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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--http", default="http://127.0.0.1:8555")
    p.add_argument("--rtsp-url", default="rtsp://127.0.0.1:8554/live")
    p.add_argument("--stream", default="live")
    p.add_argument("--browsers", type=int, default=8)
    p.add_argument("--rtsp", type=int, default=8)
    p.add_argument("--seconds", type=float, default=120)
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="drift-load-")
    before = metrics(a.http, a.stream)
    chromium = Chromium(tmp) if a.browsers else None
    tabs = []
    rtsp = []
    try:
        for i in range(a.browsers):
            tab = chromium if i == 0 else chromium.new_tab()
            tab.send("Page.navigate", url=f"{a.http}/stream/{a.stream}")
            tabs.append(tab)
        for i in range(a.rtsp):
            rtsp.append(subprocess.Popen(
                ["ffmpeg", "-nostdin", "-v", "error", "-stats_period", "1", "-progress", "pipe:1",
                 "-rtsp_transport", "tcp", "-i", a.rtsp_url, "-f", "null", "-"],
                stdout=open(os.path.join(tmp, f"rtsp{i}.progress"), "w"),
                stderr=subprocess.DEVNULL))
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.seconds:
            time.sleep(min(10, a.seconds))
            m = metrics(a.http, a.stream)
            print(f"{time.monotonic() - t0:5.0f} s: clients rtsp {m.get('drift_stream_clients[rtsp]')}"
                  f" webrtc {m.get('drift_stream_clients[webrtc]')}, realtime factor "
                  f"{m.get('drift_stream_realtime_factor')}, degraded "
                  f"{m.get('drift_stream_degraded')}", flush=True)
        played = [t.eval(VIDEO) for t in tabs]
        after = metrics(a.http, a.stream)
    finally:
        for proc in rtsp:
            proc.terminate()
            proc.wait()
        if chromium:
            chromium.close()
    failed = False
    for i, v in enumerate(played):
        ok = v and v["time"] >= a.seconds * 0.8 and v["audio"] == 1
        failed |= not ok
        print(f"browser {i}: {v['time'] if v else 0:.1f} s played, {v['frames'] if v else 0} frames"
              f"{'' if ok else '  <- short'}")
    for i in range(len(rtsp)):
        with open(os.path.join(tmp, f"rtsp{i}.progress")) as f:
            times = re.findall(r"out_time_ms=(\d+)", f.read())
        t = int(times[-1]) / 1e6 if times else 0
        ok = t >= a.seconds * 0.8
        failed |= not ok
        print(f"rtsp {i}: {t:.1f} s played{'' if ok else '  <- short'}")
    cpu = after.get("cpu_seconds", 0) - before.get("cpu_seconds", 0)
    print(json.dumps({"driftd_cpu_seconds": round(cpu, 1), "seconds": a.seconds,
                      "frames_generated": after.get("drift_stream_frames_generated_total", 0)
                      - before.get("drift_stream_frames_generated_total", 0),
                      "frames_repeated": after.get("drift_stream_frames_repeated_total", 0)
                      - before.get("drift_stream_frames_repeated_total", 0)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
