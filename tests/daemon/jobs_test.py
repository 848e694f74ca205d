#!/usr/bin/env python3
"""driftd's rendering jobs against a real private dbus-daemon: submit, list, watch, cancel,
schedule, 8 clients at once, malformed job files, kill -9 at 20 points of a render, a full disk.

usage: jobs_test.py BUILD_DIR SOURCE_DIR TEST"""
import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Fail, check, main, wait_until  # noqa: E402
from harness import with_daemon as harness_with_daemon  # noqa: E402

M = ("/org/drift1", "org.drift1.Manager")
J = "org.drift1.Job"


def duration(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail(f"ffprobe {path}: {r.stderr.strip()}")
    return float(r.stdout.strip())


def job_get(d, jid, prop):
    return d.get(f"/org/drift1/job/{jid}", J, prop)


def submit(d, *items):
    r = d.ctl("--user", "render", *items)
    check(r.returncode == 0, f"render {items}: {r.stderr}")
    return r.stdout.strip()


def partials(d):
    return glob.glob(os.path.join(d.tmp, "state", "renders", ".*.part"))


def with_daemon(fn, **kw):
    # Renders at normal priority: on a shared, loaded test machine nice 10 starves them.
    return harness_with_daemon(fn, config_extra="[jobs]\nnice = 0\n", **kw)


def basic(d):
    """Submit, list, watch, progress signals, JobFinished, cancel within 1 s."""
    d.start()
    mon = subprocess.Popen(["dbus-monitor", "--session", "type='signal',sender='org.drift1'"], env=d.env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
    time.sleep(0.3)
    jid = submit(d, f"model={d.model}", "seconds=3", "fps=24", "width=64", "height=64", "audio=false",
                 "prompt=w1 w2")
    check(jid.startswith("j"), f"job id {jid}")
    r = d.ctl("--user", "watch", jid, timeout=120)
    check(r.returncode == 0, f"watch: {r.stdout}{r.stderr}")
    lines = r.stdout.splitlines()
    check(any("done 100.0%" in l for l in lines), f"watch printed {lines}")
    out = job_get(d, jid, "Output")
    check(abs(duration(out) - 3.0) < 0.2, f"duration {duration(out)}")
    check(job_get(d, jid, "State") == "done", "not done")
    r = d.ctl("--user", "jobs")
    check(jid in r.stdout and "done" in r.stdout, r.stdout)
    r = d.ctl("--user", "--json", "job", jid)
    spec = json.loads(r.stdout)["Spec"]
    check(spec["seconds"] == 3.0 and spec["prompt"] == "w1 w2", f"Spec {spec}")
    # A long job: progress is signalled at least once a second; Cancel stops it within 1 s.
    jid2 = submit(d, f"model={d.model}", "seconds=600", "audio=false", "output=long.mkv")
    wait_until(lambda: job_get(d, jid2, "State") == "running", 10, "the long job to run")
    time.sleep(2.5)
    t = time.monotonic()
    r = d.ctl("--user", "cancel", jid2)
    check(r.returncode == 0, r.stderr)
    wait_until(lambda: job_get(d, jid2, "State") == "cancelled", 1.5, "cancelled within 1 s")
    took = time.monotonic() - t
    check(not os.path.exists(job_get(d, jid2, "Output")), "cancelled output exists")
    wait_until(lambda: not partials(d), 2, "the partial file to go")
    r = d.ctl("--user", "cancel", jid2)
    check(r.returncode == 1 and "already cancelled" in r.stderr, f"second cancel: {r.stderr}")
    time.sleep(0.3)
    mon.terminate()
    sigs = mon.communicate()[0]
    check(sigs.count("JobFinished") >= 2, "JobFinished missing")
    check(sigs.count('"Progress"') >= 2, "fewer than 2 Progress changes in 2.5 s")
    # Bad specs: named errors.
    for items, needle in [(["seconds=0"], "seconds"), (["seconds=2", "format=avi"], "mp4 or mkv"),
                          (["seconds=2", "output=a/b.mp4"], "output"), (["seconds=2", "model=/nope"], "model"),
                          ([f"model={d.model}"], "seconds: missing"), (["seconds=2", "bogus=1"], "unknown key")]:
        r = d.ctl("--user", "render", *items)
        check(r.returncode != 0 and needle in r.stderr, f"render {items}: {r.stderr}")
    print(f"cancel took {took:.2f} s; 3 s clip rendered and probed")


def rejected(d):
    """A spec the job could not run is refused at submission, with a named error, and no job is
    made: both models are checked (kind included), ranges are the engine's."""
    d.start()
    audio = os.path.join(os.path.dirname(d.model), "tiny-audio.safetensors")
    for items, needle in [([f"audio_model={d.tmp}/nope.safetensors"], "audio_model"),
                          ([f"audio_model={d.model}"], "not an audio model"),
                          ([f"model={audio}", "audio=false"], "not a video model"),
                          (["cache_threshold=50"], "0..10")]:
        spec = [f"model={d.model}", "seconds=1"] + items
        r = d.ctl("--user", "render", *spec)
        check(r.returncode != 0 and needle in r.stderr, f"render {spec}: {r.returncode} {r.stderr}")
        # the same over D-Bus, past driftctl's own checks
        rc, err = d.call_error(*M, "SubmitJob", "a{sv}", str(len(spec)), *typed(spec))
        check(rc != 0 and needle in err, f"SubmitJob {spec}: {err}")
    check(d.manager_get("Jobs") == [], "a refused spec left a job")
    # With a good audio model the same spec is taken.
    jid = submit(d, f"model={d.model}", f"audio_model={audio}", "seconds=0.5")
    wait_until(lambda: job_get(d, jid, "State") == "done", 60, "the job with audio to finish")
    print("refused at submission: a missing or wrong-kind model, a range past the engine's")


def typed(spec):
    """KEY=VALUE items as busctl a{sv} arguments."""
    out = []
    for item in spec:
        key, value = item.split("=", 1)
        kind = {"seconds": "d", "cache_threshold": "d", "audio": "b"}.get(key, "s")
        out += [key, kind, value]
    return out


def schedule(d):
    """A job with not_before starts within 1 s of its time."""
    d.start()
    at = time.time() + 3
    jid = submit(d, f"model={d.model}", "seconds=1", "audio=false", "--at", f"@{at:.3f}")
    check(job_get(d, jid, "State") == "scheduled", "not scheduled")
    check(abs(job_get(d, jid, "NotBefore") / 1e6 - at) < 0.01, "NotBefore")
    wait_until(lambda: job_get(d, jid, "State") != "scheduled", 10, "the job to leave 'scheduled'")
    late = time.time() - at
    check(-0.05 < late < 1.0, f"started {late:.2f} s after its time")
    wait_until(lambda: job_get(d, jid, "State") == "done", 30, "done")
    print(f"started {late:.2f} s after not_before")


def clients(d):
    """8 clients submitting at once: 8 distinct jobs, all done."""
    d.start()
    ids, errors = [], []

    def one(i):
        r = d.ctl("--user", "render", f"model={d.model}", "seconds=0.5", "audio=false", f"seed={i}")
        (ids if r.returncode == 0 else errors).append(r.stdout.strip() or r.stderr)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors and len(set(ids)) == 8, f"ids {ids} errors {errors}")
    wait_until(lambda: all(job_get(d, j, "State") == "done" for j in ids), 90, "8 jobs done")
    for j in ids:
        check(abs(duration(job_get(d, j, "Output")) - 0.5) < 0.1, f"{j} duration")
    print("8 concurrent submissions: 8 jobs done")


def malformed(d):
    """A malformed job file found at start-up is reported and moved aside; the others load."""
    d.start()
    jid = submit(d, f"model={d.model}", "seconds=0.5", "audio=false")
    wait_until(lambda: job_get(d, jid, "State") == "done", 30, "done")
    d.stop()
    jobs = os.path.join(d.tmp, "state", "jobs")
    with open(os.path.join(jobs, "jbroken.job"), "w") as f:
        f.write("[job]\nid = jbroken\nstate = exploded\n")
    with open(os.path.join(jobs, "jgarbage.job"), "wb") as f:
        f.write(b"\x00\xff not a key file")
    d.start()
    check(os.path.exists(os.path.join(jobs, "jbroken.job.bad")), "jbroken not moved aside")
    check(os.path.exists(os.path.join(jobs, "jgarbage.job.bad")), "jgarbage not moved aside")
    log = d.log_text()
    check("jbroken.job" in log and "moved aside" in log, "no report of jbroken")
    paths = d.manager_get("Jobs")
    check(paths == [f"/org/drift1/job/{jid}"], f"Jobs {paths}")


def crash(d):
    """kill -9 at 20 points spread across a render (and a queued job): after each restart every
    job is found again; at the end every job is done, every output is complete and no partial
    file is left."""
    d.start()
    # long enough (9600 frames: ~20 s on an AVX2 2-core VM) that progress polled every ~0.1 s sees
    # each target before the end on a machine several times faster (2400 frames were too few on an
    # AVX512-BF16 one: 18 kills landed; 4800 frames gave 19 there on 2026-12-03, the last 12 % of
    # the render done within one poll after a restart); driftd has no switch to slow renders down
    seconds = 480
    a = submit(d, f"model={d.model}", f"seconds={seconds}", "fps=20", "width=64", "height=64", "audio=false",
               "output=a.mp4")
    b = submit(d, f"model={d.model}", "seconds=2", "width=64", "height=64", "audio=false", "output=b.mkv")
    points = []
    for i in range(20):
        target = 0.02 + i * 0.045  # 2 % .. 88 % of the frames
        try:
            wait_until(lambda: d.alive() and job_get(d, a, "Progress") >= target, 120, f"progress {target}")
        except Fail:
            if job_get(d, a, "State") == "done":
                break
            raise
        p = job_get(d, a, "Progress")
        if job_get(d, a, "State") == "done":
            break
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        points.append(round(p, 3))
        print(f"kill {i + 1} at progress {p:.3f}", flush=True)
        check(not os.path.exists(os.path.join(d.tmp, "state", "renders", "a.mp4")) or p >= 0.999,
              f"a.mp4 under its final name after a kill at {p:.3f}")
        d.start()
        check(sorted(d.manager_get("Jobs")) == sorted([f"/org/drift1/job/{a}", f"/org/drift1/job/{b}"]),
              "a job was lost")
    wait_until(lambda: job_get(d, a, "State") == "done" and job_get(d, b, "State") == "done", 180, "both done")
    check(abs(duration(job_get(d, a, "Output")) - seconds) < 0.2, "a: wrong duration")
    check(abs(duration(job_get(d, b, "Output")) - 2) < 0.2, "b: wrong duration")
    check(not partials(d), f"partial files left: {partials(d)}")
    check(len(points) == 20, f"only {len(points)} kills landed before the render finished")
    print(f"killed at progress {points}; both jobs done, outputs complete")


def full_disk(d):
    """A full disk fails the job with a clear error, removes the partial file; driftd keeps
    serving."""
    small = os.path.join(d.tmp, "small")
    os.makedirs(small)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"cannot mount a small tmpfs ({r.stderr.strip()}); skipping")
        sys.exit(77)
    try:
        d.start()
        jid = submit(d, f"model={d.model}", "seconds=5", "width=512", "height=512", "audio=false",
                     f"output={small}/big.mkv")
        wait_until(lambda: job_get(d, jid, "State") in ("failed", "done"), 150, "the job to end")
        err = job_get(d, jid, "Error")
        check(job_get(d, jid, "State") == "failed", "a 5 s 512x512 clip fitted in 64 KiB?")
        check("space" in err.lower() or "write" in err.lower(), f"unclear error: {err}")
        check(os.listdir(small) == [], f"left in the full directory: {os.listdir(small)}")
        check(d.alive() and d.stream_get("live", "Running"), "driftd stopped serving")
        print(f"full disk: failed with '{err}'")
    finally:
        d.stop()
        subprocess.run(["umount", small])


TESTS = {
    "jobs_basic": with_daemon(basic),
    "jobs_schedule": with_daemon(schedule),
    "jobs_rejected": with_daemon(rejected),
    "jobs_clients": with_daemon(clients),
    "jobs_malformed": with_daemon(malformed),
    "jobs_crash": with_daemon(crash, streams=()),
    "jobs_full_disk": with_daemon(full_disk),
}

if __name__ == "__main__":
    sys.exit(main(TESTS))
