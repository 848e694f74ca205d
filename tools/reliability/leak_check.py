#!/usr/bin/env python3
"""Leak check of a daemon run under AddressSanitizer/LeakSanitizer: start driftd (an ASan build)
under a private dbus-daemon, stream to one RTSP client for SECONDS (default 30), submit a render
and cancel it, SIGTERM; then read what ASan printed at exit.

usage: leak_check.py ASAN_BUILD_DIR [SECONDS] [OUT_DIR]   (OUT_DIR default: out/reliability)
Build: cmake -S . -B /tmp/rel-asan2 -DDRIFT_SANITIZE=ON -DCMAKE_C_COMPILER=clang \
         -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug && \
       cmake --build /tmp/rel-asan2 --target driftd driftctl
Writes OUT_DIR/leak_check.json and keeps the daemon's log as OUT_DIR/leak_check.log.
Exit status 0 when ASan reported nothing, 1 otherwise."""
import json
import os
import re
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reliability"))
from harness import Daemon, Viewer, wait_until  # noqa: E402

# GLib, GStreamer and the libraries under them keep process-lifetime caches (type system,
# plugin registry, fontconfig, ...) that LeakSanitizer reports; suppress by library, not by
# our functions, so that a leak in drift's own code still shows.
SUPPRESSIONS = """leak:libglib-2.0.so
leak:libgobject-2.0.so
leak:libgio-2.0.so
leak:libgstreamer-1.0.so
leak:libgstbase-1.0.so
leak:libgstrtspserver-1.0.so
leak:libgstrtsp-1.0.so
leak:libgstsdp-1.0.so
leak:libgstapp-1.0.so
leak:libgstrtp-1.0.so
leak:libgstnet-1.0.so
leak:libgstaudio-1.0.so
leak:libgstvideo-1.0.so
leak:libgstpbutils-1.0.so
leak:libgsttag-1.0.so
leak:libgstreamer/
leak:gst-plugin-scanner
leak:libdnnl.so
leak:libgomp.so
leak:libx264.so
leak:libopus.so
leak:libavcodec.so
leak:libavutil.so
leak:libdbus-1.so
leak:libsystemd.so
leak:libfontconfig.so
leak:libpython
leak:ld-linux
"""


def main():
    build = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "out", "reliability")
    os.makedirs(out, exist_ok=True)
    supp = os.path.join(out, "lsan.supp")
    with open(supp, "w") as f:
        f.write(SUPPRESSIONS)
    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=0:fast_unwind_on_malloc=0",
           "LSAN_OPTIONS": f"suppressions={supp}:print_suppressions=1",
           "UBSAN_OPTIONS": "print_stacktrace=1", "G_SLICE": "always-malloc",
           "DRIFT_LOG_LEVEL": "info"}
    d = Daemon(build, ROOT, env=env)
    res = {"test": "leak_check", "seconds": seconds, "driftd": os.path.realpath(os.path.join(build, "daemon", "driftd"))}
    if os.environ.get("DRIFT_RELIABILITY_NOTE"):
        res["note"] = os.environ["DRIFT_RELIABILITY_NOTE"]
    v = None
    try:
        t0 = time.monotonic()
        d.start()
        res["ready_s"] = round(time.monotonic() - t0, 1)
        for attempt in range(4):  # an ASan build can be slower than ffmpeg's 3 s timeout
            v = Viewer(d.url(), os.path.join(d.tmp, f"viewer-{attempt}.log"))
            try:
                wait_until(lambda: d.stream_get("live", "Clients") == 1, 30, "a client")
                break
            except Exception:
                v.close()
        res["viewer_attempts"] = attempt + 1
        time.sleep(seconds)
        res["viewer_frames"] = v.frames()
        r = d.ctl("--user", "render", f"model={d.model}", "seconds=30", "width=64", "height=64",
                  "audio=false", "output=leak.mp4", timeout=60)
        jid = r.stdout.strip()
        res["submit"] = r.returncode == 0
        if r.returncode == 0:
            wait_until(lambda: d.get(f"/org/drift1/job/{jid}", "org.drift1.Job", "State") == "running",
                       60, "the job to run")
            time.sleep(2)
            r = d.ctl("--user", "cancel", jid)
            res["cancel"] = r.returncode == 0
            time.sleep(1)
            res["job_state"] = d.get(f"/org/drift1/job/{jid}", "org.drift1.Job", "State")
        v.close()
    except Exception as e:  # the leak report is still wanted
        res["error"] = str(e)
    try:
        rc = d.stop(signal.SIGTERM, timeout=120)
        res["exit"] = rc[0] if rc else None
    except Exception as e:
        res["stop_error"] = str(e)
    finally:
        if v:
            v.close()
        log = d.log_text() if os.path.exists(d.log) else ""
        d.close()
    with open(os.path.join(out, "leak_check.log"), "w") as f:
        f.write(log)
    leaks = re.findall(r"(Direct|Indirect) leak of (\d+) byte", log)
    res["direct_leak_bytes"] = sum(int(n) for k, n in leaks if k == "Direct")
    res["indirect_leak_bytes"] = sum(int(n) for k, n in leaks if k == "Indirect")
    res["asan_errors"] = re.findall(r"ERROR: AddressSanitizer: ([\w-]+)", log)
    res["ubsan_errors"] = len(re.findall(r"runtime error:", log))
    m = re.search(r"SUMMARY: AddressSanitizer: (\d+) byte\(s\) leaked in (\d+) allocation", log)
    res["leak_summary"] = m.group(0) if m else "no leaks reported"
    res["suppressed"] = len(re.findall(r"^\s*\d+\s+\d+\s+\S+$", log, re.M))
    res["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(os.path.join(out, "leak_check.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res))
    clean = "error" not in res and not res["asan_errors"] and not res["ubsan_errors"] and res["direct_leak_bytes"] == 0
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
