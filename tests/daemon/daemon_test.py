#!/usr/bin/env python3
"""driftd against a real private dbus-daemon: start-up and READY=1, every D-Bus method, hostile
calls, reload without dropping a viewer, SIGTERM, the watchdog, the private socket, --render.

usage: daemon_test.py BUILD_DIR SOURCE_DIR TEST"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Viewer, check, main, rtsp_probe, wait_until, with_daemon  # noqa: E402

M = ("/org/drift1", "org.drift1.Manager")
LIVE = "/org/drift1/stream/live"
S = "org.drift1.Stream"


def startup(d):
    """READY=1 comes once the RTSP port is bound and the model loaded; STATUS= tells the rest."""
    d.start()
    print(f"time to READY=1: {d.t_ready:.3f} s")
    check(d.t_ready < 20, f"READY=1 after {d.t_ready:.1f} s")
    _, m = d.notify.wait_for("READY", "1")
    check("1 of 1 stream running" in m.get("STATUS", ""), f"READY=1 came with STATUS={m.get('STATUS')}")
    check(d.manager_get("Ready") is True, "Manager.Ready is false after READY=1")
    check(d.stream_get("live", "Running") is True, "stream live not running at READY=1")
    url = d.url()
    check(url.startswith("rtsp://127.0.0.1:") and url.endswith("/live"), f"Url {url}")
    probe = rtsp_probe(url)
    check(probe == ("h264", 64, 64), f"ffprobe saw {probe}")
    _, m = d.notify.wait_for("STATUS", timeout=10, after=time.monotonic() + 1.2)
    check("24 fps" in m["STATUS"] and "x real time" in m["STATUS"], f"STATUS={m['STATUS']}")


def methods(d):
    """Every method with valid input, and its effect."""
    d.start()
    check(d.manager_get("Version"), "Version empty")
    check(d.manager_get("Isa"), "Isa empty")
    check(d.manager_get("Streams") == [LIVE], f"Streams {d.manager_get('Streams')}")
    check(d.manager_get("Jobs") == [], "Jobs not empty")
    # SetPrompt: answered once the generator took it; PropertiesChanged goes out.
    mon = subprocess.Popen(["dbus-monitor", "--session", "type='signal',interface='org.freedesktop.DBus.Properties'"],
                           env=d.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
    time.sleep(0.5)
    d.call(LIVE, S, "SetPrompt", "s", "w3 w4 w5")
    check(d.stream_get("live", "Prompt") == "w3 w4 w5", "Prompt did not change")
    time.sleep(0.5)
    mon.terminate()
    out = mon.communicate()[0]
    check("w3 w4 w5" in out and "PropertiesChanged" in out, "no PropertiesChanged with the prompt")
    # Set: live settings.
    d.call(LIVE, S, "Set", "a{sv}", "3", "steps", "u", "2", "cache", "s", "none", "seed", "t", "7")
    check(d.stream_get("live", "Steps") == 2, "Steps did not change")
    check(d.stream_get("live", "Cache") == "none", "Cache did not change")
    check(d.stream_get("live", "Seed") == 7, "Seed did not change")
    # 2, or fewer when a loaded machine makes the stream degrade.
    wait_until(lambda: d.stream_get("live", "EffectiveSteps") in (1, 2), 20, "EffectiveSteps 2")
    f0 = d.stream_get("live", "FramesGenerated")
    wait_until(lambda: d.stream_get("live", "FramesGenerated") > f0, 10, "frames after Set")
    # Set a size: the stream restarts with it.
    d.call(LIVE, S, "Set", "a{sv}", "2", "width", "u", "96", "height", "u", "80")
    wait_until(lambda: d.stream_get("live", "Running"), 10, "live running again")
    check(rtsp_probe(d.url()) == ("h264", 96, 80), "new size not served")
    # CreateStream / RemoveStream.
    r = d.call(*M, "CreateStream", "sa{sv}", "second", "4", "model", "s", d.model, "audio", "b",
               "false", "width", "u", "32", "height", "u", "32")
    path = json.loads(r.stdout)["data"][0]
    check(path == "/org/drift1/stream/second", f"CreateStream returned {path}")
    wait_until(lambda: d.stream_get("second", "Running"), 10, "second running")
    check(rtsp_probe(d.stream_get("second", "Url")) == ("h264", 32, 32), "second not served")
    check(len(d.manager_get("Streams")) == 2, "Streams does not list two")
    d.call(*M, "RemoveStream", "s", "second")
    check(d.manager_get("Streams") == [LIVE], "second still listed")
    # Stop / Start.
    d.call(LIVE, S, "Stop")
    wait_until(lambda: d.stream_get("live", "State") == "stopped", 5, "live stopped")
    check(d.stream_get("live", "Running") is False, "Running after Stop")
    d.call(LIVE, S, "Start")
    wait_until(lambda: d.stream_get("live", "Running"), 10, "live running after Start")
    # Reload and SubmitJob.
    d.call(*M, "Reload")
    r = d.call(*M, "SubmitJob", "a{sv}", "4", "seconds", "d", "1", "model", "s", d.model,
               "audio", "b", "false", "output", "s", "one.mkv")
    job = json.loads(r.stdout)["data"][0]
    check(job.startswith("/org/drift1/job/j") and d.manager_get("Jobs") == [job], f"SubmitJob: {job}")
    wait_until(lambda: d.get(job, "org.drift1.Job", "State") == "done", 60, "the job to finish")
    check(d.get(job, "org.drift1.Job", "Output").endswith("/renders/one.mkv"), "job output")
    check(d.alive(), "driftd died")


# (description, path, interface, method, signature, args..., expected error text)
def hostile_calls(model):
    long = "w1 " * 400
    calls = [
        ("unknown key", M, "CreateStream", "sa{sv}", "x1", "1", "bogus", "u", "1", "unknown key 'bogus'"),
        ("width too big", M, "CreateStream", "sa{sv}", "x2", "1", "width", "u", "100000", "width"),
        ("width zero", M, "CreateStream", "sa{sv}", "x3", "1", "width", "u", "0", "16..4096"),
        ("width odd", M, "CreateStream", "sa{sv}", "x4", "1", "width", "u", "99", "odd"),
        ("height huge", M, "CreateStream", "sa{sv}", "x5", "1", "height", "t", "18446744073709551615", "height"),
        ("fps zero", M, "CreateStream", "sa{sv}", "x6", "1", "fps", "d", "0", "fps"),
        ("fps huge", M, "CreateStream", "sa{sv}", "x7", "1", "fps", "d", "1e9", "1..60"),
        ("fps nan", M, "CreateStream", "sa{sv}", "x8", "1", "fps", "d", "nan", "fps"),
        ("fps inf", M, "CreateStream", "sa{sv}", "x9", "1", "fps", "d", "inf", "fps"),
        ("steps huge", M, "CreateStream", "sa{sv}", "x10", "1", "steps", "u", "51", "0..50"),
        ("negative steps", M, "CreateStream", "sa{sv}", "x11", "1", "steps", "i", "-1", "negative"),
        ("wrong type width", M, "CreateStream", "sa{sv}", "x12", "1", "width", "s", "big", "unsigned integer"),
        ("wrong type prompt", M, "CreateStream", "sa{sv}", "x13", "1", "prompt", "u", "5", "a string"),
        ("wrong type audio", M, "CreateStream", "sa{sv}", "x14", "1", "audio", "s", "yes", "boolean"),
        ("long prompt", M, "CreateStream", "sa{sv}", "x15", "1", "prompt", "s", long, "1200 bytes"),
        ("bad cache", M, "CreateStream", "sa{sv}", "x16", "1", "cache", "s", "turbo", "cache policy"),
        ("guidance huge", M, "CreateStream", "sa{sv}", "x17", "1", "guidance", "d", "1000", "0..20"),
        ("job key on a stream", M, "CreateStream", "sa{sv}", "x18", "1", "seconds", "d", "5", "unknown key"),
        ("control char in prompt", M, "CreateStream", "sa{sv}", "x19", "1", "prompt", "s", "w1\tw2", "control"),
        ("empty name", M, "CreateStream", "sa{sv}", "", "0", "stream name"),
        ("slash in name", M, "CreateStream", "sa{sv}", "a/b", "0", "not allowed"),
        ("long name", M, "CreateStream", "sa{sv}", "n" * 65, "0", "1..64"),
        ("dots and spaces", M, "CreateStream", "sa{sv}", "a b", "0", "not allowed"),
        ("duplicate name", M, "CreateStream", "sa{sv}", "live", "0", "already exists"),
        ("missing model", M, "CreateStream", "sa{sv}", "x20", "1", "model", "s", "", "model"),
        ("remove unknown", M, "RemoveStream", "s", "nope", "no stream named"),
        ("remove huge name", M, "RemoveStream", "s", "z" * 5000, "no stream named"),
        ("job unknown key", M, "SubmitJob", "a{sv}", "1", "bogus", "s", "x", "unknown key"),
        ("job bad seconds", M, "SubmitJob", "a{sv}", "1", "seconds", "d", "-5", "seconds"),
        ("job bad format", M, "SubmitJob", "a{sv}", "1", "format", "s", "avi", "mp4 or mkv"),
        ("prompt too long", (LIVE, S), "SetPrompt", "s", "a" * 3000, "3000 bytes"),
        ("prompt unknown word", (LIVE, S), "SetPrompt", "s", "dragon", "dragon"),
        ("prompt bad utf8-free control", (LIVE, S), "SetPrompt", "s", "w1\nw2", "control"),
        ("set unknown key", (LIVE, S), "Set", "a{sv}", "1", "colour", "s", "red", "unknown key 'colour'"),
        ("set steps huge", (LIVE, S), "Set", "a{sv}", "1", "steps", "u", "4000000000", "steps"),
        ("set fps wrong type", (LIVE, S), "Set", "a{sv}", "1", "fps", "s", "fast", "number"),
        ("set cache_threshold", (LIVE, S), "Set", "a{sv}", "1", "cache_threshold", "d", "-1", "0..10"),
        # the engine's range, refused by the table at once (not later by the generator)
        ("set cache_threshold 50", (LIVE, S), "Set", "a{sv}", "1", "cache_threshold", "d", "50",
         "cache_threshold: 50 is out of range; allowed: 0..10"),
        ("job cache_threshold 50", M, "SubmitJob", "a{sv}", "2", "seconds", "d", "1", "cache_threshold", "d",
         "50", "cache_threshold: 50 is out of range; allowed: 0..10"),
        ("set negative seed", (LIVE, S), "Set", "a{sv}", "1", "seed", "x", "-3", "negative"),
        ("set width odd", (LIVE, S), "Set", "a{sv}", "1", "width", "u", "17", "odd"),
        ("set many keys", (LIVE, S), "Set", "a{sv}", "65", *sum([["steps", "u", "1"]] * 65, []), "more than 64"),
        ("start running stream", (LIVE, S), "Start", "", "running"),
        ("set a missing model", (LIVE, S), "Set", "a{sv}", "1", "model", "s", "/nope.safetensors", "no such file"),
        ("set a file that is no model", (LIVE, S), "Set", "a{sv}", "1", "model", "s", "/etc/passwd", "model"),
        ("create with a missing model", M, "CreateStream", "sa{sv}", "x21", "1", "model", "s", "/nope.safetensors",
         "no such file"),
        ("wrong signature SetPrompt", (LIVE, S), "SetPrompt", "u", "5", ""),
        ("wrong signature CreateStream", M, "CreateStream", "s", "x", ""),
        ("unknown method", M, "Explode", "", ""),
        ("unknown stream object", ("/org/drift1/stream/nope", S), "SetPrompt", "s", "w1", ""),
        ("unknown job object", ("/org/drift1/job/nope", "org.drift1.Job"), "Cancel", "", ""),
    ]
    return calls


def hostile(d):
    """At least 40 malformed or hostile calls, each answered with a named error; driftd stays up."""
    d.start()
    calls = hostile_calls(d.model)
    check(len(calls) >= 40, "fewer than 40 hostile calls")
    for c in calls:
        desc, target, method, sig = c[0], c[1], c[2], c[3]
        args, needle = list(c[4:-1]), c[-1]
        rc, err = d.call_error(target[0], target[1], method, sig, *args)
        check(rc != 0, f"{desc}: accepted")
        check(needle in err, f"{desc}: error '{err[:200]}' lacks '{needle}'")
        check(d.alive(), f"{desc}: driftd died")
    # Errors are named: check the D-Bus error names with gdbus, which prints them.
    r = subprocess.run(["gdbus", "call", "--session", "--dest", "org.drift1", "--object-path", "/org/drift1",
                        "--method", "org.drift1.Manager.RemoveStream", "nope"], env=d.env,
                       capture_output=True, text=True)
    check("org.drift1.Error.NotFound" in r.stderr, f"gdbus: {r.stderr}")
    r = subprocess.run(["gdbus", "call", "--session", "--dest", "org.drift1", "--object-path", "/org/drift1",
                        "--method", "org.drift1.Manager.CreateStream", "x", "{'width': <uint32 5>}"],
                       env=d.env, capture_output=True, text=True)
    check("org.drift1.Error.InvalidArgument" in r.stderr and "16..4096" in r.stderr, f"gdbus: {r.stderr}")
    # max_streams: the ninth stream is refused with LimitExceeded.
    for i in range(7):
        d.call(*M, "CreateStream", "sa{sv}", f"s{i}", "5", "model", "s", d.model, "audio", "b", "false",
               "fps", "d", "1", "width", "u", "32", "height", "u", "32")
    r = subprocess.run(["gdbus", "call", "--session", "--dest", "org.drift1", "--object-path", "/org/drift1",
                        "--method", "org.drift1.Manager.CreateStream", "s9", "{}"], env=d.env,
                       capture_output=True, text=True)
    check("org.drift1.Error.LimitExceeded" in r.stderr, f"ninth stream: {r.stderr}")
    for i in range(7):
        d.call(*M, "RemoveStream", "s", f"s{i}")
    # Removing a stream while a client watches: the client is disconnected, driftd stays up.
    v = Viewer(d.url(), os.path.join(d.tmp, "viewer.log"))
    wait_until(lambda: d.stream_get("live", "Clients") == 1, 15, "a client on live")
    wait_until(lambda: v.frames() > 5, 15, "the viewer to get frames")
    t = time.monotonic()
    d.call(*M, "RemoveStream", "s", "live")
    wait_until(lambda: not v.alive(), 30, "the viewer to be disconnected")
    print(f"viewer gone {time.monotonic() - t:.2f} s after RemoveStream")
    v.close()
    check(d.alive(), "driftd died after removing a watched stream")
    d.call(*M, "CreateStream", "sa{sv}", "live", "2", "model", "s", d.model, "audio", "b", "false")
    wait_until(lambda: d.stream_get("live", "Running"), 10, "live back")
    print(f"{len(calls)} hostile calls + 3 named-error checks + limit + removal under a viewer: ok")


def reload(d):
    """SIGHUP and Reload() apply prompts and settings live; the viewer stays connected."""
    d.start()
    v = Viewer(d.url(), os.path.join(d.tmp, "viewer.log"))
    try:
        wait_until(lambda: d.stream_get("live", "Clients") == 1, 15, "a client")
        wait_until(lambda: v.frames() > 10, 15, "the viewer to get frames")
        with open(os.path.join(d.dropins, "50-prompt.conf"), "w") as f:
            f.write("[stream.live]\nprompt = w7 w8\nsteps = 2\n")
        t = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        d.notify.wait_for("RELOADING", "1", timeout=5, after=t)
        wait_until(lambda: d.stream_get("live", "Prompt") == "w7 w8", 5, "the prompt from the drop-in")
        check(d.stream_get("live", "Steps") == 2, "steps from the drop-in")
        with open(os.path.join(d.dropins, "60-later.conf"), "w") as f:
            f.write("[stream.live]\nprompt = w9\n")
        d.call(*M, "Reload")
        wait_until(lambda: d.stream_get("live", "Prompt") == "w9", 5, "the later drop-in to win")
        # A broken file: Reload fails naming file and line, nothing changes.
        with open(os.path.join(d.dropins, "70-bad.conf"), "w") as f:
            f.write("[stream.live]\n\nsteps = 2\ncolour = red\n")
        rc, err = d.call_error(*M, "Reload")
        check(rc != 0 and "70-bad.conf:4" in err and "colour" in err, f"bad reload: {err}")
        check(d.stream_get("live", "Prompt") == "w9", "a failed reload changed something")
        # A model that cannot load: Reload fails naming it, the old model keeps serving.
        with open(os.path.join(d.dropins, "70-bad.conf"), "w") as f:
            f.write("[stream.live]\nprompt = w1\nmodel = /nope/x.safetensors\n")
        rc, err = d.call_error(*M, "Reload")
        check(rc != 0 and "/nope/x.safetensors" in err, f"reload with a bad model: {err}")
        check(d.stream_get("live", "Running") and d.stream_get("live", "Prompt") == "w9",
              "a reload with a bad model changed the stream")
        os.unlink(os.path.join(d.dropins, "70-bad.conf"))
        f0 = v.frames()
        time.sleep(2)
        check(v.alive() and v.frames() > f0, "the viewer stalled or was dropped by the reloads")
        check(d.stream_get("live", "Clients") == 1, "client count changed")
        print(f"viewer kept playing through 2 reloads ({v.frames()} frames)")
    finally:
        v.close()


def sigterm(d):
    """SIGTERM with a viewer connected: clean exit 0 within 5 s."""
    d.start()
    v = Viewer(d.url(), os.path.join(d.tmp, "viewer.log"))
    try:
        wait_until(lambda: d.stream_get("live", "Clients") == 1, 15, "a client")
        rc, took = d.stop(signal.SIGTERM, timeout=10)
        print(f"SIGTERM to exit: {took:.3f} s, status {rc}")
        check(rc == 0, f"exit status {rc}")
        check(took < 5, f"took {took:.1f} s")
        d.notify.wait_for("STOPPING", "1", timeout=1)
        check("stopped in" in d.log_text(), "no 'stopped in' line")
    finally:
        v.close()


class StalledThread:
    """Stops one thread of a running process from outside, as a hung generator would stop:
    ptrace seizes and interrupts just that thread; the rest of the process runs on. driftd has
    no test switch for it. The tracer must reap the thread when the process ends: a thread does
    that in the background."""

    PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 0x4206, 0x4207, 0x40000000

    def __init__(self, pid, name):
        import ctypes
        import threading
        libc = ctypes.CDLL(None, use_errno=True)
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")
                if open(f"/proc/{pid}/task/{t}/comm").read().strip() == name]
        check(len(tids) == 1, f"threads named {name}: {tids}")
        self.tid = tids[0]
        if libc.ptrace(self.PTRACE_SEIZE, self.tid, 0, 0) != 0:
            print(f"cannot ptrace a thread of driftd ({os.strerror(ctypes.get_errno())}); skipping")
            sys.exit(77)
        check(libc.ptrace(self.PTRACE_INTERRUPT, self.tid, 0, 0) == 0, "PTRACE_INTERRUPT failed")
        os.waitpid(self.tid, self.WALL)  # it stopped
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self):
        while True:
            try:
                _, status = os.waitpid(self.tid, self.WALL)
            except ChildProcessError:
                return
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                return


def watchdog(d):
    """WATCHDOG=1 flows while generators progress and stops when one stalls."""
    d.start()
    t0 = time.monotonic()
    time.sleep(2)
    pings = d.notify.count("WATCHDOG", "1", since=t0)
    check(pings >= 3, f"only {pings} pings in 2 s with WATCHDOG_USEC=1 s")
    # The stream's generation thread stops dead: pings stop.
    wait_until(lambda: d.stream_get("live", "FramesGenerated") >= 3, 20, "3 frames")
    StalledThread(d.proc.pid, "gen-live")
    frames = d.stream_get("live", "FramesGenerated")
    wait_until(lambda: "generator stalled" in d.log_text(), 10, "the stall to be noticed")
    time.sleep(1.5)
    t1 = time.monotonic()
    time.sleep(2.5)
    late = d.notify.count("WATCHDOG", "1", since=t1)
    check(late == 0, f"{late} pings while the generator hangs")
    check(d.stream_get("live", "FramesGenerated") == frames, "the stalled generator made frames")
    check(d.alive(), "driftd exited on its own")
    rc, took = d.stop()
    check(took < 5, f"stalled daemon took {took:.1f} s to stop")
    print(f"{pings} pings in 2 s before the stall, none after; stop took {took:.2f} s")


def main_thread_cpu_seconds(pid):
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_main_loop(d):
    """The main loop sleeps between events: on the bus, with a stream running and a viewer, the
    main thread takes a small share of a core (a source that wakes the loop on every iteration
    once burned a whole core, half of a 2-core machine's generation time)."""
    d.start()
    viewer = Viewer(d.url(), os.path.join(d.tmp, "viewer.log"))
    try:
        wait_until(lambda: d.stream_get("live", "Clients") >= 1, 30, "the viewer")
        t0, cpu0 = time.monotonic(), main_thread_cpu_seconds(d.proc.pid)
        time.sleep(4)
        share = (main_thread_cpu_seconds(d.proc.pid) - cpu0) / (time.monotonic() - t0)
    finally:
        viewer.close()
    print(f"main thread: {100 * share:.1f}% of a core")
    check(share < 0.25, f"the main thread used {100 * share:.0f}% of a core while idle")


def private_socket(d):
    """No bus at all: driftctl reaches driftd over the private socket (0660)."""
    d.start(bus_arg="--no-bus")
    sock = os.path.join(d.tmp, "drift", "private")
    check(os.path.exists(sock), f"no private socket at {sock}")
    mode = os.stat(sock).st_mode & 0o777
    check(mode == 0o660, f"private socket mode {oct(mode)}")
    r = d.ctl("--socket", sock, "status")
    check(r.returncode == 0 and "live" in r.stdout, f"driftctl status: {r.stdout}{r.stderr}")
    r = d.ctl("--socket", sock, "prompt", "live", "w2", "w3")
    check(r.returncode == 0, f"driftctl prompt: {r.stderr}")
    r = d.ctl("--socket", sock, "--json", "show", "live")
    check(json.loads(r.stdout)["Prompt"] == "w2 w3", "prompt over the private socket")
    # The fallback: --user finds no bus name, tries $XDG_RUNTIME_DIR/drift/private.
    env_bus = d.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    r = d.ctl("--user", "streams")
    check(r.returncode == 0 and "live" in r.stdout, f"fallback: {r.stdout}{r.stderr}")
    if env_bus:
        d.env["DBUS_SESSION_BUS_ADDRESS"] = env_bus


def driftctl(d):
    """driftctl's output and exit codes: 0 ok, 1 failure, 2 usage."""
    r = d.ctl("--user", "status")
    check(r.returncode == 1 and "not running" in r.stderr, f"not running: {r.returncode} {r.stderr}")
    d.start()
    cases = [
        (["status"], 0, "live"), (["streams"], 0, "rtsp://"), (["--json", "streams"], 0, '"Name"'),
        (["show", "live"], 0, "FramesGenerated"), (["prompt", "live", "w4", "w5"], 0, ""),
        (["prompt", "live", "dragon"], 1, "dragon"), (["prompt", "nope", "w1"], 1, ""),
        (["prompt", "live"], 2, "usage"), (["set", "live", "steps=3", "cache=kv"], 0, ""),
        (["set", "live", "steps=99"], 1, "0..50"), (["set", "live", "steps=abc"], 2, "not an unsigned"),
        (["set", "live", "nokey"], 2, "KEY=VALUE"), (["set", "live", "colour=red"], 1, "unknown key"),
        (["create", "extra", f"model={d.model}", "audio=false"], 0, "/org/drift1/stream/extra"),
        (["create", "extra"], 1, "already exists"), (["remove", "extra"], 0, ""),
        (["remove", "extra"], 1, "no stream"), (["stop", "live"], 0, ""), (["start", "live"], 0, ""),
        (["reload"], 0, ""), (["jobs"], 0, "No jobs"), (["render", "seconds=2"], 1, "drift-video"),
        (["render", "--at", "yesterday-ish", "seconds=2"], 2, "--at"), (["job", "nope"], 1, ""),
        (["frobnicate"], 2, "unknown command"), ([], 2, "usage"), (["--help"], 0, "usage"),
        (["show", "bad name"], 2, "not allowed"),
    ]
    for args, code, needle in cases:
        r = d.ctl("--user", *args)
        check(r.returncode == code, f"driftctl {' '.join(args)}: exit {r.returncode}, wanted {code}: {r.stderr}")
        check(needle in r.stdout + r.stderr, f"driftctl {' '.join(args)}: no '{needle}' in {r.stdout}{r.stderr}")
    streams = json.loads(d.ctl("--user", "--json", "streams").stdout)
    check(streams[0]["Prompt"] == "w4 w5" and streams[0]["Steps"] == 3, "JSON after prompt/set")
    print(f"{len(cases)} driftctl cases: ok")


def config_errors(build, source):
    """Bad configuration: exit 1 with a message naming file and line."""
    d = Daemon(build, source, stream_extra="colour = red\n")
    try:
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=20)
        log = d.log_text()
        check(rc == 1, f"exit {rc}")
        check("driftd.conf:" in log and "unknown key 'colour'" in log, log)
    finally:
        d.close()
    # Every configured stream fails to load: exit 1 with the reason, no READY=1.
    d = Daemon(build, source, stream_extra="model = /nope/x.safetensors\n")
    try:
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=30)
        log = d.log_text()
        check(rc == 1 and "no configured stream could start" in log and "/nope/x" in log, f"exit {rc}: {log}")
        check(d.notify.count("READY", "1") == 0, "READY=1 with nothing running")
    finally:
        d.close()
    d = Daemon(build, source, env={})
    try:
        with open(os.path.join(d.dropins, "10-x.conf"), "w") as f:
            f.write("[rtsp]\nport = 70000\n")
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=20)
        check(rc == 1 and "10-x.conf:2" in d.log_text() and "0..65535" in d.log_text(), d.log_text())
    finally:
        d.close()


def render(build, source):
    """driftd --render: a one-shot clip, complete under its final name, right duration."""
    d = Daemon(build, source, bus=False)
    try:
        out = os.path.join(d.tmp, "clip.mp4")
        r = subprocess.run([d.driftd, "--render", f"model={d.model},prompt=w1 w2,seconds=2,fps=12,"
                            f"width=64,height=64,audio=false,output={out}"], env=d.env,
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"render: {r.stderr}")
        check(r.stdout.strip() == out, f"printed {r.stdout}")
        p = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out],
                           capture_output=True, text=True)
        dur = float(p.stdout.strip())
        check(abs(dur - 2.0) < 0.2, f"duration {dur}")
        check(not [f for f in os.listdir(d.tmp) if f.endswith(".part")], "temporary file left")
        # The prompt shows in the frames: same seed, other prompt -> other pictures; same prompt
        # -> the same pictures.
        def last_frame(prompt, name):
            path = os.path.join(d.tmp, name)
            r = subprocess.run([d.driftd, "--render", f"model={d.model},prompt={prompt},seed=5,seconds=0.5,"
                                f"fps=12,width=64,height=64,audio=false,output={path}"], env=d.env,
                               capture_output=True, text=True, timeout=120)
            check(r.returncode == 0, f"render {prompt}: {r.stderr}")
            raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                                 capture_output=True, timeout=60).stdout
            check(len(raw) >= 64 * 64, "no frames decoded")
            return raw[-64 * 64:]

        def diff(a, b):
            return sum(abs(x - y) for x, y in zip(a, b)) / len(a)

        a, a2, b = last_frame("w1 w2", "a.mp4"), last_frame("w1 w2", "a2.mp4"), last_frame("w9 w10", "b.mp4")
        check(diff(a, a2) <= 0.5, f"same prompt and seed, different pictures ({diff(a, a2):.2f})")
        check(diff(a, b) > 2 * diff(a, a2) + 1, f"another prompt, same pictures ({diff(a, b):.2f})")
        print(f"prompt effect: mean |difference| {diff(a, b):.1f} (same prompt: {diff(a, a2):.1f})")
        r = subprocess.run([d.driftd, "--render", "seconds=2,steps=999"], env=d.env, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 2 and "steps" in r.stderr, f"bad spec: {r.returncode} {r.stderr}")
        # Without an output, the render goes under the configuration's [daemon] state_dir.
        r = subprocess.run([d.driftd, "--config", d.config, "--render", f"model={d.model},seconds=0.5,fps=12,"
                            "width=64,height=64,audio=false"], env=d.env, capture_output=True, text=True,
                           timeout=120)
        renders = os.path.join(d.tmp, "state", "renders") + "/"
        check(r.returncode == 0 and r.stdout.startswith(renders), f"render without output: {r.stdout} {r.stderr}")
        # Audio follows the words of the prompt its vocabulary knows: an audio model without "w1"
        # still sounds for "w1 w2" (it hears "w2").
        with open(os.path.join(source, "tests", "fixtures", "dit", "tiny-audio.json")) as f:
            cfg = json.load(f)
        cfg["vocab"] = ["hum" if w == "w1" else w for w in cfg["vocab"]]
        with open(os.path.join(d.tmp, "other-audio.json"), "w") as f:
            json.dump(cfg, f)
        os.symlink(os.path.join(source, "tests", "fixtures", "dit", "tiny-audio.safetensors"),
                   os.path.join(d.tmp, "other-audio.safetensors"))
        out = os.path.join(d.tmp, "sound.mkv")
        r = subprocess.run([d.driftd, "--render", f"model={d.model},audio_model={d.tmp}/other-audio.safetensors,"
                            f"prompt=w1 w2,seconds=1,fps=12,width=64,height=64,output={out}"], env=d.env,
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"render with audio: {r.stderr}")
        p = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", out],
                           capture_output=True, text=True)
        check(sorted(p.stdout.split()) == ["audio", "video"], f"streams of {out}: {p.stdout}")
        print(f"rendered {dur:.2f} s to {os.path.basename(out)}")
    finally:
        d.close()


def pcm_f32(path, rate, channels=1):
    """The audio of a recording decoded to float samples at rate (channels interleaved)."""
    import array
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", str(channels),
                          "-ar", str(rate), "-f", "f32le", "-"], capture_output=True, timeout=120).stdout
    pcm = array.array("f")
    pcm.frombytes(raw[:len(raw) // (4 * channels) * 4 * channels])
    return pcm


def channel_correlation(path, rate):
    """The correlation of a recording's first two audio channels."""
    pcm = pcm_f32(path, rate, 2)
    left, right = pcm[0::2], pcm[1::2]
    lr = sum(a * b for a, b in zip(left, right))
    ll, rr = sum(a * a for a in left), sum(b * b for b in right)
    return lr / ((ll * rr) ** 0.5 + 1e-30)


def packet_times(path, stream):
    """(pts, duration) in seconds of each packet of a recording's stream."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                        "packet=pts_time,duration_time", "-of", "json", path],
                       capture_output=True, text=True, timeout=60)
    return [(float(p["pts_time"]), float(p.get("duration_time") or 0))
            for p in json.loads(r.stdout)["packets"] if p.get("pts_time") not in (None, "N/A")]


def thread_wait_seconds(pid, name):
    """Seconds the thread of pid called name has waited for a CPU while runnable (schedstat), or
    None when there is no such thread."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{tid}/comm").read().strip() == name:
                return int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            pass
    return None


def audio_live(d):
    """Audio has its own timeline (issue 14): with video far below real time (the default video
    model at 12 steps per frame on one thread, 60 fps asked: the stream lowers the steps by one
    per frame at most, so it stays far behind on any CPU) the output repeats most frames, and a
    10 s recording's sound still has no gaps, covers the recording and keeps time with the
    video."""
    models = os.path.join(os.path.abspath(d.source), "models")
    fps, seconds, rate = 60, 10, 48000
    with open(d.config, "a") as f:
        f.write(f"[stream.live]\nmodel = {models}/drift-video.safetensors\n"
                f"audio_model = {models}/drift-audio.safetensors\naudio = true\n"
                f"prompt = soft rain\nwidth = 64\nheight = 64\nfps = {fps}\nsteps = 12\n")
    d.start()
    wait_until(lambda: d.stream_get("live", "FramesGenerated") >= 1, 120, "the first frame")
    path = os.path.join(d.tmp, "live.mkv")
    frames0 = d.stream_get("live", "FramesGenerated")
    repeated0 = d.stream_get("live", "FramesRepeated")
    waited0 = thread_wait_seconds(d.proc.pid, "audio-live")
    rec = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-timeout",
                            "10000000", "-i", d.url(), "-t", str(seconds), "-c", "copy", "-y", path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # A prompt change halfway goes to both generators; the sound goes on through it. It is
    # answered once both took it, after the video's current frame (seconds here).
    time.sleep(seconds / 2)
    prompt = subprocess.Popen(["busctl", "--user", "--timeout=240", "call", "org.drift1", LIVE, S,
                               "SetPrompt", "s", "calm blue ocean waves"], env=d.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = rec.communicate(timeout=seconds + 60)
    check(rec.returncode == 0, f"ffmpeg recording failed: {err[-500:]}")
    generated = d.stream_get("live", "FramesGenerated") - frames0
    repeated = d.stream_get("live", "FramesRepeated") - repeated0
    waited = thread_wait_seconds(d.proc.pid, "audio-live")
    waited = waited - waited0 if waited is not None and waited0 is not None else None
    print(f"while recording: {generated} frames generated, {repeated} repeated"
          + (f"; the audio thread waited {waited:.2f} s for a CPU" if waited is not None else ""))
    if repeated < generated:
        print(f"video kept up with {fps} fps here ({generated} generated, {repeated} repeated): "
              "nothing to measure; skipping")
        sys.exit(77)
    video, audio = packet_times(path, "v:0"), packet_times(path, "a:0")
    check(len(video) > seconds * fps * 0.9, f"{len(video)} video frames in {seconds} s")
    check(audio, "no audio packets")
    # The stream carries the audio model's channels (the shipped one is stereo: docs/MODELS.md).
    # Opus over RTP always announces two channels (RFC 7587), so the test is what they hold: a
    # mono model's two are equal, a stereo model's rain spreads (its noise phases differ).
    with open(os.path.join(models, "drift-audio.json")) as f:
        stereo = json.load(f)["audio"].get("channels", 1) == 2
    corr = channel_correlation(path, rate)
    print(f"left/right correlation of the recording: {corr:.3f} ({'stereo' if stereo else 'mono'} model)")
    check(corr < 0.9 if stereo else corr > 0.99,
          f"left/right correlation {corr:.3f} for a {'stereo' if stereo else 'mono'} audio model")
    v0, v1 = video[0][0], video[-1][0] + 1 / fps
    a0, a1 = audio[0][0], audio[-1][0] + audio[-1][1]
    pcm = pcm_f32(path, rate)
    # Sound where sound should be: the longest run of near-silence (-60 dBFS) and the share of
    # silent 10 ms blocks. A repeated frame used to carry silence: at a few generated frames a
    # second, most of the recording was silent.
    longest = run = 0
    for v in pcm:
        run = run + 1 if -1e-3 < v < 1e-3 else 0
        if run > longest:
            longest = run
    block = rate // 100
    blocks = [pcm[i:i + block] for i in range(0, len(pcm) - block + 1, block)]
    silent = sum(1 for b in blocks if max(b) < 1e-3 and min(b) > -1e-3)
    print(f"video {v0:.3f}..{v1:.3f} s ({len(video)} frames), audio {a0:.3f}..{a1:.3f} s "
          f"({len(pcm) / rate:.3f} s decoded); longest near-silence {longest / rate * 1000:.0f} ms, "
          f"{silent} of {len(blocks)} 10 ms blocks silent")
    counters = {p: d.stream_get("live", p) for p in ("AudioChunksGenerated", "AudioChunksLate")
                if d.busctl("get-property", "org.drift1", LIVE, S, p, check_rc=False).returncode == 0}
    if counters:
        print(f"stream counters: {counters}")
    gaps = longest >= 0.1 * rate or silent > len(blocks) // 100
    if gaps and waited is not None and waited > 0.5 and counters.get("AudioChunksLate", 0) > 0:
        # The audio needs a few percent of a core in real time. A machine that kept its thread
        # off the CPUs for this long (other work, nice 19) cannot show what driftd does: the
        # gaps are the scheduler's, and driftd reported them as late audio.
        print(f"the audio thread waited {waited:.2f} s for a CPU and came late "
              f"{counters['AudioChunksLate']} times: the machine is too busy to judge; skipping")
        sys.exit(77)
    check(longest < 0.1 * rate, f"the sound stops for {longest / rate * 1000:.0f} ms")
    check(silent <= len(blocks) // 100, f"{silent} of {len(blocks)} 10 ms blocks are silent")
    # One clock: the audio covers the recording and both timelines run without a jump. (Where
    # each stream starts is the receiver's placing by its first RTCP sender report, which a
    # loaded machine can delay by a few hundred ms: rtsp_clients.py av_sync measures the sync
    # itself.)
    check(len(pcm) / rate >= (v1 - v0) - 0.1,
          f"{len(pcm) / rate:.3f} s of audio for {v1 - v0:.3f} s of video")
    check(abs(a0 - v0) < 0.5 and abs(a1 - v1) < 0.1,
          f"audio {a0:.3f}..{a1:.3f} s against video {v0:.3f}..{v1:.3f} s")
    jumps = [b[0] - (a[0] + a[1]) for a, b in zip(audio, audio[1:])]
    check(max(abs(j) for j in jumps) < 0.002, f"audio packet timestamps jump by {max(jumps, key=abs):.3f} s")
    steps = [b[0] - a[0] for a, b in zip(video, video[1:])]
    check(all(abs(t - 1 / fps) < 0.5 / fps for t in steps),
          f"video timestamps step by {min(steps):.4f}..{max(steps):.4f} s, not 1/{fps}")
    _, err = prompt.communicate(timeout=250)
    check(prompt.returncode == 0, f"SetPrompt failed: {err.strip()}")
    check(d.stream_get("live", "Prompt") == "calm blue ocean waves", "Prompt did not change")
    # Stop joins the audio thread; the stream starts again with it.
    d.call(LIVE, S, "Stop")
    wait_until(lambda: d.stream_get("live", "State") == "stopped", 60, "the stream to stop")
    d.call(LIVE, S, "Start")
    wait_until(lambda: d.stream_get("live", "Running"), 60, "the stream to run again")
    wait_until(lambda: d.stream_get("live", "AudioChunksGenerated") > 0, 120, "audio after the restart")
    check(d.alive(), "driftd exited")


TESTS = {
    "startup": with_daemon(startup),
    "methods": with_daemon(methods),
    "hostile": with_daemon(hostile),
    "reload": with_daemon(reload),
    "sigterm": with_daemon(sigterm),
    "watchdog": with_daemon(watchdog, env={"WATCHDOG_USEC": "1000000"}),
    "idle_main_loop": with_daemon(idle_main_loop),
    "private_socket": with_daemon(private_socket),
    "driftctl": with_daemon(driftctl),
    "config_errors": config_errors,
    "render": render,
    "audio_live": with_daemon(audio_live, streams=(), env={"OMP_NUM_THREADS": "1",
                                                             "GOMP_SPINCOUNT": "1000"}),
}

if __name__ == "__main__":
    sys.exit(main(TESTS))
