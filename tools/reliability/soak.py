#!/usr/bin/env python3
"""Soak: one live stream with audio for SECONDS (default 3600) under a private dbus-daemon, one
RTSP client attached the whole time. Every 10 s it records resident memory, frames generated,
the real-time factor and, from the client's packet timestamps, the A/V drift (last video pts -
last audio pts) and the media clock against the wall clock. Writes OUT/soak.csv, OUT/soak.json
(summary) and OUT/soak.png.

usage: soak.py BUILD_DIR [SECONDS] [OUT_DIR]      (OUT_DIR default: out/reliability/soak)
Run it in the background: nohup tools/reliability/soak.py build 3600 &
Plotting needs matplotlib (Debian: python3-matplotlib; run with /usr/bin/python3)."""
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reliability"))
from harness import Daemon, rss_kib  # noqa: E402


class PacketClock:
    """ffprobe printing every packet of the live stream: the latest pts of video and audio."""

    def __init__(self, url):
        self.proc = subprocess.Popen(
            (["stdbuf", "-oL"] if shutil.which("stdbuf") else []) +
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
             "packet=codec_type,pts_time,dts_time", "-of", "csv=p=0", url],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.last = {}
        self.first_wall = None
        self.first_pts = None
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for line in self.proc.stdout:
            parts = line.strip().split(",")
            if len(parts) < 3 or parts[0] not in ("video", "audio"):
                continue
            try:
                idx = parts[0]
                pts = float(parts[1] if parts[1] != "N/A" else parts[2])
            except ValueError:
                continue
            with self.lock:
                self.last[idx] = pts
                if self.first_wall is None:
                    self.first_wall, self.first_pts = time.monotonic(), pts

    def sample(self):
        with self.lock:
            return dict(self.last), self.first_wall, self.first_pts

    def close(self):
        self.proc.terminate()


def plot(rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [r["t_s"] / 60 for r in rows]
    fig, ax = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    ax[0].plot(t, [r["rss_kib"] / 1024 for r in rows])
    ax[0].set_ylabel("RSS (MiB)")
    ax[1].plot(t, [r["fps"] for r in rows], label="generated fps")
    ax[1].plot(t, [r["rtf"] * r["target_fps"] for r in rows], label="real-time factor × fps", alpha=0.6)
    ax[1].set_ylabel("frames / s")
    ax[1].legend()
    ax[2].plot(t, [r["av_drift_ms"] for r in rows])
    ax[2].set_ylabel("A/V drift (ms)\nvideo pts − audio pts")
    ax[3].plot(t, [r["media_vs_wall_ms"] for r in rows])
    ax[3].set_ylabel("media − wall clock (ms)")
    ax[3].set_xlabel("minutes")
    fig.suptitle("driftd soak: one 64×64 stream with audio, one RTSP client")
    fig.tight_layout()
    fig.savefig(png, dpi=80)


def main():
    build = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3600
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "out", "reliability", "soak")
    os.makedirs(out, exist_ok=True)
    audio = os.path.join(ROOT, "tests", "fixtures", "dit", "tiny-audio.safetensors")
    d = Daemon(build, ROOT, stream_extra=f"audio_model = {audio}\n")
    with open(d.config) as f:
        text = f.read().replace("audio = false", "audio = true")
    with open(d.config, "w") as f:
        f.write(text)
    rows = []
    try:
        d.start()
        target_fps = float(d.stream_get("live", "Fps"))
        clock = PacketClock(d.url())
        t0 = time.monotonic()
        f_prev, t_prev = d.stream_get("live", "FramesGenerated"), t0
        with open(os.path.join(out, "soak.csv"), "w", newline="") as fcsv:
            w = None
            while time.monotonic() - t0 < seconds and d.alive():
                time.sleep(10)
                now = time.monotonic()
                frames = d.stream_get("live", "FramesGenerated")
                last, first_wall, first_pts = clock.sample()
                v, a = last.get("video"), last.get("audio")
                row = {"t_s": round(now - t0, 1), "rss_kib": rss_kib(d.proc.pid),
                       "frames": frames, "fps": round((frames - f_prev) / (now - t_prev), 2),
                       "rtf": float(d.stream_get("live", "RealtimeFactor")), "target_fps": target_fps,
                       "clients": d.stream_get("live", "Clients"),
                       "av_drift_ms": round((v - a) * 1000, 1) if v is not None and a is not None else None,
                       "media_vs_wall_ms": round(((max(last.values()) - first_pts) - (now - first_wall)) * 1000, 1)
                       if first_wall else None}
                f_prev, t_prev = frames, now
                rows.append(row)
                if w is None:
                    w = csv.DictWriter(fcsv, fieldnames=list(row))
                    w.writeheader()
                w.writerow(row)
                fcsv.flush()
        clock.close()
        alive = d.alive()
    finally:
        d.close()
    ok = [r for r in rows if r["av_drift_ms"] is not None]
    warm = [r for r in rows if r["t_s"] >= 60] or rows
    summary = {
        "test": "soak", "seconds": round(rows[-1]["t_s"] if rows else 0), "alive_at_end": alive,
        "samples": len(rows), "rss_start_kib": warm[0]["rss_kib"] if warm else None,
        "rss_end_kib": rows[-1]["rss_kib"] if rows else None,
        "rss_growth_pct": round((rows[-1]["rss_kib"] - warm[0]["rss_kib"]) / warm[0]["rss_kib"] * 100, 2) if rows else None,
        "fps_mean": round(sum(r["fps"] for r in rows) / len(rows), 2) if rows else None,
        "fps_min": min(r["fps"] for r in rows) if rows else None,
        "av_drift_ms_max_abs": max(abs(r["av_drift_ms"]) for r in ok) if ok else None,
        "av_drift_ms_end": ok[-1]["av_drift_ms"] if ok else None,
        "media_vs_wall_ms_end": rows[-1]["media_vs_wall_ms"] if rows else None,
        "client_connected_at_end": rows[-1]["clients"] if rows else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with open(os.path.join(out, "soak.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))
    try:
        plot(rows, os.path.join(out, "soak.png"))
    except ImportError:
        print("no matplotlib: run with /usr/bin/python3 to get soak.png")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
