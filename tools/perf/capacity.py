#!/usr/bin/env python3
"""Capacity benchmark (issue 19): how live streams and renders share this machine, on a real
driftd. For 1, 2 and 4 live streams of the default models (conf/driftd.conf's stream: 256x256
at 24 fps with audio, on demand), with 0 or 1 concurrent render and with every stream watched
(one RTSP client each, copying without decoding) or none, it measures for SECONDS after a
warm-up:

  - each stream's real-time factor: delivered (frames its client received / (seconds x fps);
    watched only) and driftd's own (RealtimeFactor), the steps it ran, whether it idled;
  - the repeated-frame share (FramesRepeated / frames sent);
  - the render's speed as a multiple of real time (seconds rendered / seconds taken), next to
    `driftd --render` alone on the same machine;
  - CPU per thread kind (generators, render threads, encoders, the rest) and resident memory.

It prints a table (and writes OUT/capacity.md, OUT/capacity.json and OUT/capacity.png) and
names the largest configuration that holds real time at the default models' full settings
(every watched stream delivered >= 0.99 of real time, <= 0.5 % repeated, never below the
model's default steps). --docs puts the table and the plot into docs/PERFORMANCE.md.

usage: tools/perf/capacity.py [--build DIR] [--seconds S] [--warmup S] [--streams 1,2,4]
                              [--renders 0,1] [--watched no,yes] [--render-seconds S]
                              [--out DIR] [--docs] [--tiny]
  --tiny   the test fixture model instead of the default models, short runs: checks that the
           script works (its figures mean nothing).
Run it on an otherwise idle machine; it takes about (seconds + warm-up + 10) x configurations.
Needs: driftd built in DIR (default build), dbus-daemon, busctl, ffmpeg; matplotlib for the
plot (/usr/bin/python3 has it on Debian with python3-matplotlib)."""
import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    "daemon_figures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "daemon-figures.py"))
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)  # its harness import, thread and memory readers, copy client
Daemon, Fail, wait_until = figures.Daemon, figures.Fail, figures.wait_until

REALTIME_DELIVERED, REPEATED_MAX = 0.99, 0.005


def thread_kind(name):
    if name.startswith("job-"):
        return "render (job-ID and its OpenMP team)"
    if name.startswith("audio-"):
        return "audio (audio-NAME)"
    return figures.thread_kind(name)


def configure(d, args, streams):
    """streams live streams (s0, s1, ...) as conf/driftd.conf's [stream.live], on demand;
    admission off, so that overloads are measured rather than refused."""
    if args.tiny:
        model, audio = d.model, ""
        stream = "audio = false\nwidth = 64\nheight = 64\n"
    else:
        model = f"{ROOT}/models/drift-video.safetensors"
        audio = f"{ROOT}/models/drift-audio.safetensors"
        stream = f"audio_model = {audio}\nprompt = calm blue ocean waves\n"
    body = (f"[daemon]\nstate_dir = {d.tmp}/state\nadmission = allow\nmax_streams = 64\n"
            "[rtsp]\naddress = 127.0.0.1\nport = 0\n")
    for i in range(streams):
        body += f"[stream.s{i}]\nmodel = {model}\nseed = {i}\n{stream}"
    with open(d.config, "w") as f:
        f.write(body)
    d.env["DRIFT_MODELS_DIR"] = os.path.dirname(model)
    d.env["DRIFT_LOG_LEVEL"] = "info"
    d.env.update(figures.unit_environment())
    return model, audio


def render_spec(args, model, audio, output):
    spec = [f"model={model}", f"seconds={args.render_seconds:g}", f"output={output}",
            "prompt=" + ("w1 w2" if args.tiny else "fast red flames")]
    if args.tiny:
        spec += ["audio=false", "width=64", "height=64"]
    else:
        spec += [f"audio_model={audio}"]
    return spec


def render_alone(args):
    """Seconds driftd --render takes for the benchmark's render with nothing else running."""
    d = Daemon(args.build, ROOT, bus=False, streams=())
    try:
        model, audio = configure(d, args, 0)
        spec = render_spec(args, model, audio, os.path.join(d.tmp, "alone.mp4"))
        t0 = time.monotonic()
        r = subprocess.run([d.driftd, "--render", ",".join(spec)], env=d.env, capture_output=True,
                           text=True, timeout=3600)
        took = time.monotonic() - t0
        if r.returncode != 0:
            raise Fail(f"driftd --render: {r.stderr}")
        return took
    finally:
        d.close()


def sample(d, names, clients):
    live = {n: {p: d.stream_get(n, p) for p in
                ("FramesGenerated", "FramesRepeated", "RealtimeFactor", "EffectiveSteps", "Idle",
                 "Fps")} for n in names}
    return {"t": time.monotonic(), "threads": figures.thread_times(d.proc.pid),
            "memory": figures.memory_kib(d.proc.pid), "live": live,
            "client_frames": {n: c.frames() for n, c in clients.items()}}


def measure(args, streams, renders, watched, model_steps):
    d = Daemon(args.build, ROOT, streams=())
    clients = {}
    try:
        model, audio = configure(d, args, streams)
        d.start()
        names = [f"s{i}" for i in range(streams)]
        if watched:
            for n in names:
                clients[n] = figures.CopyClient(d.stream_get(n, "Url"), os.path.join(d.tmp, f"{n}.log"))
            wait_until(lambda: all(d.stream_get(n, "Clients") >= 1 for n in names), 60, "the clients")
        time.sleep(args.warmup)
        first = sample(d, names, clients)
        samples, render = [first], None
        # Every thread's CPU time as first and last seen: a render's threads end before the
        # last sample, so they are followed while they run.
        seen = {tid: (name, cpu, cpu) for tid, (name, cpu) in first["threads"].items()}

        def follow():
            for tid, (name, cpu) in figures.thread_times(d.proc.pid).items():
                seen[tid] = (name, seen.get(tid, (name, 0.0, 0.0))[1], cpu)
        if renders:
            r = d.ctl("--user", "render", *render_spec(args, model, audio, "bench.mp4"))
            if r.returncode != 0:
                raise Fail(f"driftctl render: {r.stderr}")
            render = {"job": r.stdout.strip(), "t0": time.monotonic(), "took": None}
            path = f"/org/drift1/job/{render['job']}"
        limit = first["t"] + max(args.seconds, 30 * args.render_seconds if renders else 0)
        while time.monotonic() < limit:
            time.sleep(0.2 if render and render["took"] is None else 1)
            follow()
            if not d.alive():
                raise Fail("driftd exited: " + d.log_text()[-2000:])
            if render and render["took"] is None:
                state = d.get(path, "org.drift1.Job", "State")
                if state in ("done", "failed", "cancelled"):
                    if state != "done":
                        raise Fail(f"the render {state}: {d.get(path, 'org.drift1.Job', 'Error')}")
                    render["took"] = time.monotonic() - render["t0"]
            if time.monotonic() - first["t"] >= args.seconds and (not render or render["took"]):
                break
            if len(samples) < 2 or time.monotonic() - samples[-1]["t"] >= 5:
                samples.append(sample(d, names, clients))
        samples.append(sample(d, names, clients))
        follow()
    finally:
        for c in clients.values():
            c.close()
        d.close()
    return summarise(samples, seen, names, watched, render, args, model_steps)


def summarise(samples, seen, names, watched, render, args, model_steps):
    s0, s1 = samples[0], samples[-1]
    elapsed = s1["t"] - s0["t"]
    kinds = collections.defaultdict(float)
    for name, first, last in seen.values():
        kinds[thread_kind(name)] += last - first
    streams = {}
    for n in names:
        a, b = s0["live"][n], s1["live"][n]
        fps = b["Fps"]
        sent = elapsed * fps
        streams[n] = {
            "delivered_rtf": (s1["client_frames"][n] - s0["client_frames"][n]) / sent if watched else None,
            "daemon_rtf": b["RealtimeFactor"],
            "generated_fps": (b["FramesGenerated"] - a["FramesGenerated"]) / elapsed,
            "repeated_share": (b["FramesRepeated"] - a["FramesRepeated"]) / sent,
            "min_steps": min(s["live"][n]["EffectiveSteps"] for s in samples),
            "idle": b["Idle"],
        }
    return {
        "elapsed_s": elapsed, "streams": streams,
        "render_speed": args.render_seconds / render["took"] if render and render["took"] else None,
        "cpu_by_kind": {k: v / elapsed for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "rss_mib": s1["memory"]["VmRSS"] / 1024, "hwm_mib": s1["memory"]["VmHWM"] / 1024,
        "holds_real_time": watched and all(
            s["delivered_rtf"] >= REALTIME_DELIVERED and s["repeated_share"] <= REPEATED_MAX
            and s["min_steps"] >= model_steps for s in streams.values()),
    }


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(runs, alone, args):
    speed_alone = args.render_seconds / alone
    lines = [f"`tools/perf/capacity.py --seconds {args.seconds:g}`: "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load "
             f"average at the end {' '.join(open('/proc/loadavg').read().split()[:3])}. "
             f"`driftd --render seconds={args.render_seconds:g}` alone: {alone:.1f} s "
             f"({speed_alone:.2f}x real time).", "",
             "| streams | watched | renders | real time delivered (min..max) | driftd's factor (min) "
             "| repeated (max) | steps (min) | render speed (vs alone) | CPU cores: generators, "
             "render, audio, encoders, rest | RSS MiB |",
             "| ---: | --- | ---: | --- | ---: | ---: | ---: | --- | --- | ---: |"]
    for (n, watched, renders), f in runs:
        st = list(f["streams"].values())
        dl = [s["delivered_rtf"] for s in st if s["delivered_rtf"] is not None]
        cpu = f["cpu_by_kind"]

        def kind(prefix):
            return sum(v for k, v in cpu.items() if k.startswith(prefix))
        rest = sum(cpu.values()) - sum(kind(p) for p in ("generator", "render", "audio", "encoder"))
        idle = sum(1 for s in st if s["idle"])
        rs = f["render_speed"]
        lines.append(
            f"| {n} | {'yes' if watched else f'no ({idle} idle)'} | {renders} | "
            f"{f'{min(dl):.3f}..{max(dl):.3f}' if dl else '-'} | "
            f"{min(s['daemon_rtf'] for s in st):.2f} | {100 * max(s['repeated_share'] for s in st):.2f}% | "
            f"{min(s['min_steps'] for s in st)} | "
            f"{f'{rs:.2f}x ({rs / speed_alone:.0%})' if rs else '-'} | "
            f"{kind('generator'):.2f}, {kind('render'):.2f}, {kind('audio'):.2f}, {kind('encoder'):.2f}, "
            f"{rest:.2f} | {f['hwm_mib']:.0f} |")
    held = [(n, r) for (n, watched, r), f in runs if watched and f["holds_real_time"]]
    if held:
        n, r = max(held)
        verdict = (f"Largest configuration holding real time at the default models' full settings "
                   f"here: {n} watched stream{'s' if n > 1 else ''}"
                   f"{' with a render' if r else ''} (>= {REALTIME_DELIVERED} of real time delivered, "
                   f"<= {100 * REPEATED_MAX:g} % repeated, never below the model's steps).")
    else:
        verdict = ("No watched configuration held real time at the default models' full settings "
                   "here (>= 0.99 delivered, <= 0.5 % repeated, the model's steps).")
    return "\n".join(lines) + "\n\n" + verdict + "\n"


def plot(runs, alone, args, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for watched, renders, style in ((True, 0, "o-"), (True, 1, "s-")):
        pts = [(n, min(s["delivered_rtf"] for s in f["streams"].values()))
               for (n, w, r), f in runs if w == watched and r == renders]
        if pts:
            a1.plot(*zip(*pts), style, label=f"watched, {renders} render")
    a1.axhline(1.0, color="grey", lw=0.8, ls=":")
    a1.set_xlabel("live streams")
    a1.set_ylabel("real time delivered (slowest stream)")
    a1.set_xticks(sorted({n for (n, _, _), _ in runs}))
    a1.legend(fontsize=8)
    for watched, style in ((False, "o-"), (True, "s-")):
        pts = [(n, f["render_speed"]) for (n, w, r), f in runs if w == watched and r and f["render_speed"]]
        if pts:
            a2.plot(*zip(*pts), style, label="streams watched" if watched else "nobody watches")
    a2.axhline(args.render_seconds / alone, color="grey", lw=0.8, ls=":", label="driftd --render alone")
    a2.set_xlabel("live streams")
    a2.set_ylabel("render speed (x real time)")
    a2.set_xticks(sorted({n for (n, _, _), _ in runs}))
    a2.legend(fontsize=8)
    fig.suptitle("driftd capacity: live streams and a render on this machine", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def put_in_docs(text, png):
    if png:
        import shutil
        shutil.copy(png, os.path.join(ROOT, "docs", "perf-capacity.png"))
        text += "\n![capacity](perf-capacity.png)\n"
    figures.put_in_docs(text, "capacity")


def model_default_steps(args):
    if args.tiny:
        return 1
    with open(os.path.join(ROOT, "models", "drift-video.json")) as f:
        cfg = json.load(f)
    return int(cfg.get("sampler", {}).get("steps", 1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--warmup", type=float, default=15)
    p.add_argument("--streams", default="1,2,4")
    p.add_argument("--renders", default="0,1")
    p.add_argument("--watched", default="no,yes")
    p.add_argument("--render-seconds", type=float, default=10)
    p.add_argument("--out", default=None)
    p.add_argument("--docs", action="store_true")
    p.add_argument("--tiny", action="store_true")
    args = p.parse_args()
    if args.tiny:
        args.seconds, args.warmup, args.render_seconds = min(args.seconds, 5), min(args.warmup, 2), 2
    out = args.out or os.path.join(args.build, "perf")
    os.makedirs(out, exist_ok=True)
    steps = model_default_steps(args)
    alone = render_alone(args)
    print(f"driftd --render seconds={args.render_seconds:g} alone: {alone:.2f} s", flush=True)
    runs = []
    for n in (int(x) for x in args.streams.split(",")):
        for watched in (w == "yes" for w in args.watched.split(",")):
            for renders in (int(x) for x in args.renders.split(",")):
                f = measure(args, n, renders, watched, steps)
                runs.append(((n, watched, renders), f))
                print(f"{n} streams, watched {watched}, {renders} renders: "
                      + json.dumps({k: f[k] for k in ("render_speed", "holds_real_time", "hwm_mib")}), flush=True)
    text = table(runs, alone, args)
    with open(os.path.join(out, "capacity.json"), "w") as fh:
        json.dump({"alone_s": alone, "runs": [{"config": c, **f} for c, f in runs]}, fh, indent=1)
    with open(os.path.join(out, "capacity.md"), "w") as fh:
        fh.write(text)
    png = plot(runs, alone, args, os.path.join(out, "capacity.png"))
    print(text)
    if args.docs:
        put_in_docs(text, png)
        print("updated docs/PERFORMANCE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
