#!/usr/bin/env python3
"""Whole-daemon figures (issue 8): driftd streaming the default models with audio, exactly as the
run command does (conf/driftd.conf's stream, models/, the Environment= of
units/driftd.service), one RTSP client attached, for SECONDS (default 600). Prints a table:

  - real-time factor: the daemon's own (generated seconds per second of generation work) and
    the delivered one (frames the client received / (elapsed x fps)), the steps the daemon ran at
    after its degradation control settled, frames repeated;
  - CPU: the whole process in cores, and each thread kind's share (generator and its OpenMP
    team, encoder, GStreamer/RTSP threads, main loop);
  - resident memory after the run (VmRSS) and its peak (VmHWM), against the 300 MiB goal.

The client copies the stream without decoding (ffmpeg -c copy -f null) so it takes almost no CPU
from the two cores it shares with driftd.

usage: tools/perf/daemon-figures.py [--build DIR] [--seconds S] [--warmup S] [--out DIR] [--docs]
                                    [--env KEY=VALUE]...
  --env    run with another environment than units/driftd.service's (KEY= removes KEY).
  --docs   also put the table into docs/PERFORMANCE.md (between its daemon-figures markers).
Needs: driftd built in DIR (default build), dbus-daemon, busctl, ffmpeg."""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reliability"))
from harness import Daemon, Fail, wait_until  # noqa: E402

MEMORY_GOAL_MIB = 300
TICKS = os.sysconf("SC_CLK_TCK")


def thread_times(pid):
    """{tid: (name, cpu seconds)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended between listdir and open
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / TICKS)  # utime + stime
    return out


def memory_kib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(line.split()[1])
    return values


def thread_kind(name):
    """Groups threads by what they do (the names driftd, GLib and GStreamer give them)."""
    if name.startswith("gen-"):
        return "generator (gen-NAME and its OpenMP team)"
    if name == "drift-encode":
        return "encoder (libx264 + Opus, drift-encode)"
    if name in ("driftd",):
        return "main loop (D-Bus, RTSP server, GLib)"
    return "GStreamer / RTSP streaming threads"


class CopyClient:
    """ffmpeg reading the stream over TCP and throwing the packets away (no decoding)."""

    def __init__(self, url, log):
        self.log = log
        self.proc = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-stats",
                                      "-rtsp_transport", "tcp", "-timeout", "5000000", "-i", url,
                                      "-map", "0", "-c", "copy", "-f", "null", "-"],
                                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def frames(self):
        with open(self.log, errors="replace") as f:
            found = re.findall(r"frame=\s*(\d+)", f.read())
        return int(found[-1]) if found else 0

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def unit_environment():
    """The Environment= settings of units/driftd.service: the figures are the unit's."""
    env = {}
    with open(os.path.join(ROOT, "units", "driftd.service")) as f:
        for line in f:
            if line.startswith("Environment="):
                key, _, value = line.strip().split("=", 1)[1].partition("=")
                env[key] = value
    return env


def configure(d, overrides):
    """The repo's live stream (conf/driftd.conf's [stream.live], defaults) on a free port."""
    with open(d.config, "w") as f:
        f.write(f"[daemon]\nstate_dir = {d.tmp}/state\n"
                "[rtsp]\naddress = 127.0.0.1\nport = 0\n"
                "[stream.live]\n"
                f"model = {ROOT}/models/drift-video.safetensors\n"
                f"audio_model = {ROOT}/models/drift-audio.safetensors\n"
                "prompt = calm blue ocean waves\n")
    d.env["DRIFT_MODELS_DIR"] = os.path.join(ROOT, "models")
    d.env["DRIFT_LOG_LEVEL"] = "info"
    for key, value in {**unit_environment(), **overrides}.items():
        if value:
            d.env[key] = value
        else:
            d.env.pop(key, None)
    return {k: v for k, v in d.env.items() if k.startswith(("OMP_", "GOMP_", "ORC_", "DRIFT_PRECISION"))}


def measure(args):
    d = Daemon(args.build, ROOT)
    env = configure(d, dict(kv.split("=", 1) for kv in args.env))
    samples = []
    try:
        d.start()
        fps = float(d.stream_get("live", "Fps"))
        size = f'{d.stream_get("live", "Width")}x{d.stream_get("live", "Height")}'
        client = CopyClient(d.url(), os.path.join(d.tmp, "client.log"))
        wait_until(lambda: d.stream_get("live", "Clients") >= 1, 30, "the client to connect")
        time.sleep(args.warmup)  # plans built, degradation control settled

        def sample():
            live = {p: d.stream_get("live", p) for p in
                    ("FramesGenerated", "FramesRepeated", "RealtimeFactor", "EffectiveSteps",
                     "Steps", "Degraded", "Clients")}
            return {"t": time.monotonic(), "threads": thread_times(d.proc.pid),
                    "memory": memory_kib(d.proc.pid), "client_frames": client.frames(), **live}

        first = sample()
        samples.append(first)
        while time.monotonic() - first["t"] < args.seconds:
            time.sleep(min(10.0, max(0.5, args.seconds - (time.monotonic() - first["t"]))))
            if not d.alive():
                raise Fail("driftd exited during the measurement: " + d.log_text()[-2000:])
            samples.append(sample())
        client.close()
        log = d.log_text()
    finally:
        d.close()
    return {"fps": fps, "size": size, "samples": samples, "env": env, "log_tail": log[-1500:]}


def summarise(run, args):
    s0, s1 = run["samples"][0], run["samples"][-1]
    elapsed = s1["t"] - s0["t"]
    fps = run["fps"]
    kinds = collections.defaultdict(float)
    counts = collections.defaultdict(int)
    for tid, (name, cpu1) in s1["threads"].items():
        cpu0 = s0["threads"].get(tid, (name, 0.0))[1]
        kinds[thread_kind(name)] += cpu1 - cpu0
        counts[thread_kind(name)] += 1
    steps = collections.Counter(s["EffectiveSteps"] for s in run["samples"])
    rtf = [s["RealtimeFactor"] for s in run["samples"]]
    generated = s1["FramesGenerated"] - s0["FramesGenerated"]
    repeated = s1["FramesRepeated"] - s0["FramesRepeated"]
    received = s1["client_frames"] - s0["client_frames"]
    return {
        "elapsed_s": elapsed, "fps": fps, "size": run["size"], "env": run["env"],
        "generated_fps": generated / elapsed, "repeated_share": repeated / max(1, elapsed * fps),
        "repeated": repeated, "sent": round(elapsed * fps),
        "delivered_rtf": received / (elapsed * fps), "daemon_rtf_mean": sum(rtf) / len(rtf),
        "daemon_rtf_min": min(rtf), "daemon_rtf_max": max(rtf),
        "steps_asked": s1["Steps"], "steps_ran": dict(sorted(steps.items())),
        "degraded_at_end": s1["Degraded"],
        "cpu_cores": sum(kinds.values()) / elapsed,
        "cpu_by_kind": {k: v / elapsed for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "threads_by_kind": dict(counts),
        "rss_mib": s1["memory"]["VmRSS"] / 1024, "rss_start_mib": s0["memory"]["VmRSS"] / 1024,
        "hwm_mib": s1["memory"]["VmHWM"] / 1024,
    }


def table(f, args, cpu):
    load = open("/proc/loadavg").read().split()[:3]
    lines = [
        f"`tools/perf/daemon-figures.py --seconds {args.seconds:g}`: "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu} ({os.cpu_count()} cores), "
        f"load average at the end {' '.join(load)}. driftd streaming models/drift-video + "
        f"models/drift-audio, {f['size']} at {f['fps']:g} fps, one RTSP client (TCP, no decoding), "
        f"{f['elapsed_s']:.0f} s measured after {args.warmup:g} s of warm-up; environment "
        f"{' '.join(f'{k}={v}' for k, v in sorted(f['env'].items())) or '(none)'}.",
        "",
        "| figure | value | goal |",
        "| --- | ---: | --- |",
        f"| real-time factor delivered (frames received / (seconds x fps)) | {f['delivered_rtf']:.3f} | 1.0 |",
        f"| real-time factor, driftd's own (mean, min-max of 10 s samples) | {f['daemon_rtf_mean']:.2f} "
        f"({f['daemon_rtf_min']:.2f}-{f['daemon_rtf_max']:.2f}) | >= 1 at the steps run |",
        f"| frames generated per second | {f['generated_fps']:.1f} | {f['fps']:g} |",
        f"| frames repeated (share of the frames sent) | {f['repeated']} of ~{f['sent']} "
        f"({100 * f['repeated_share']:.2f}%) | |",
        f"| steps per frame: asked (0 = model default), ran (samples per value) | "
        f"{f['steps_asked']}, {', '.join(f'{k}: {v}' for k, v in f['steps_ran'].items())} | |",
        f"| CPU, whole process | {f['cpu_cores']:.2f} cores ({100 * f['cpu_cores'] / os.cpu_count():.0f}% of the machine) | |",
    ]
    for kind, cores in f["cpu_by_kind"].items():
        lines.append(f"| CPU, {kind} ({f['threads_by_kind'][kind]} threads) | {cores:.2f} cores | |")
    ok = "met" if f["hwm_mib"] <= MEMORY_GOAL_MIB else "**missed**"
    lines += [
        f"| resident memory after the run (at the start of the measurement) | {f['rss_mib']:.1f} MiB "
        f"({f['rss_start_mib']:.1f}) | <= {MEMORY_GOAL_MIB} MiB |",
        f"| resident memory, peak (VmHWM) | {f['hwm_mib']:.1f} MiB | <= {MEMORY_GOAL_MIB} MiB: {ok} |",
    ]
    return "\n".join(lines) + "\n"


def put_in_docs(text, section="daemon-figures"):
    """Replaces what stands between docs/PERFORMANCE.md's <!-- SECTION: begin/end --> markers."""
    path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    with open(path) as fh:
        doc = fh.read()
    begin, end = f"<!-- {section}: begin -->", f"<!-- {section}: end -->"
    if begin not in doc or end not in doc:
        raise SystemExit(f"{path}: no {begin} ... {end} markers")
    head, rest = doc.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as fh:
        fh.write(head + begin + "\n" + text + end + tail)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--warmup", type=float, default=30)
    p.add_argument("--out", default=None)
    p.add_argument("--docs", action="store_true")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="override the unit's environment (KEY= removes it)")
    args = p.parse_args()
    out = args.out or os.path.join(args.build, "perf")
    os.makedirs(out, exist_ok=True)
    run = measure(args)
    figures = summarise(run, args)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    text = table(figures, args, cpu)
    with open(os.path.join(out, "daemon-figures.json"), "w") as fh:
        json.dump(figures, fh, indent=1)
    with open(os.path.join(out, "daemon-figures.md"), "w") as fh:
        fh.write(text)
    print(text)
    if args.docs:
        put_in_docs(text)
        print("updated docs/PERFORMANCE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
