"""Test harness for driftd: a private dbus-daemon, a NOTIFY_SOCKET, a test configuration with
the tiny fixture model on a free RTSP port, and helpers for busctl, driftctl and RTSP clients.

Every test gets its own temporary directory, bus and daemon; nothing touches the host's buses,
/run/drift or port 8554."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class Notify:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, {key: value})
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)
            with self.lock:
                self.messages.append((time.monotonic(), fields))

    def wait_for(self, key, value=None, timeout=30.0, after=0.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for t, m in self.messages:
                    if t >= after and key in m and (value is None or m[key] == value):
                        return t, m
            time.sleep(0.05)
        raise Fail(f"no {key}={value or '*'} on NOTIFY_SOCKET within {timeout} s")

    def count(self, key, value=None, since=0.0, until=None):
        with self.lock:
            return sum(1 for t, m in self.messages
                       if t >= since and (until is None or t < until) and key in m
                       and (value is None or m[key] == value))

    def close(self):
        self.done = True
        self.sock.close()


class Daemon:
    def __init__(self, build, source, config_extra="", stream_extra="", env=None, bus=True,
                 streams=("live",), args=(), http=""):
        self.build, self.source = build, source
        self.driftd = os.path.join(build, "daemon", "driftd")
        self.driftctl = os.path.join(build, "daemon", "driftctl")
        self.model = os.path.join(source, "tests", "fixtures", "dit", "tiny.safetensors")
        self.tmp = tempfile.mkdtemp(prefix="driftd-test-")
        self.config = os.path.join(self.tmp, "driftd.conf")
        self.dropins = self.config + ".d"
        os.makedirs(self.dropins)
        # The web server's port is fixed (0 turns it off): off unless a test asks for it (http:
        # the [http] section's keys), so that tests run side by side.
        body = (f"[daemon]\nstate_dir = {self.tmp}/state\n{config_extra}\n"
                f"[rtsp]\naddress = 127.0.0.1\nport = 0\n"
                f"[http]\n{http or 'port = 0'}\n")
        for name in streams:
            body += (f"[stream.{name}]\nmodel = {self.model}\naudio = false\nprompt = w1 w2\n"
                     f"width = 64\nheight = 64\nfps = 24\n{stream_extra}\n")
        with open(self.config, "w") as f:
            f.write(body)
        self.env = dict(os.environ)
        self.env.update({"XDG_RUNTIME_DIR": self.tmp, "RUNTIME_DIRECTORY": self.tmp + "/drift",
                         "DRIFT_MODELS_DIR": os.path.dirname(self.model),
                         "DRIFT_WEB_DIR": os.path.join(source, "daemon", "web"),
                         "NOTIFY_SOCKET": self.tmp + "/notify", "DRIFT_LOG_LEVEL": "debug"})
        self.env.pop("JOURNAL_STREAM", None)
        self.env.pop("WATCHDOG_USEC", None)
        self.env.pop("WATCHDOG_PID", None)
        if env:
            self.env.update(env)
        self.bus_proc = None
        if bus:
            self._start_bus()
        else:
            self.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        self.notify = Notify(self.tmp + "/notify")
        self.args = list(args)
        self.proc = None
        self.log = os.path.join(self.tmp, "driftd.log")

    def _start_bus(self):
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir={self.tmp}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>""")
        self.bus_proc = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork",
                                          "--print-address=1"], stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True)
        address = self.bus_proc.stdout.readline().strip()
        check(address.startswith("unix:"), f"dbus-daemon gave no address: {address!r}")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address

    def start(self, wait_ready=True, bus_arg="--user"):
        cmd = [self.driftd, "--config", self.config] + ([bus_arg] if bus_arg else []) + self.args
        self.logf = open(self.log, "w")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.logf, stderr=subprocess.STDOUT)
        if wait_ready:
            t, _ = self.notify.wait_for("READY", "1", timeout=60, after=self.t_start)
            self.t_ready = t - self.t_start
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def busctl(self, *args, check_rc=True):
        r = subprocess.run(["busctl", "--user", "--json=short"] + list(args), env=self.env,
                           capture_output=True, text=True, timeout=30)
        if check_rc and r.returncode != 0:
            raise Fail(f"busctl {' '.join(args)} failed: {r.stderr.strip()}")
        return r

    def call(self, path, iface, method, sig="", *args):
        return self.busctl("call", "org.drift1", path, iface, method, *([sig] + list(args) if sig else []))

    def call_error(self, path, iface, method, sig="", *args):
        """Calls with gdbus (which prints the error name) and returns (rc, error name, text)."""
        r = subprocess.run(["busctl", "--user", "call", "--", "org.drift1", path, iface, method]
                           + ([sig] + [str(a) for a in args] if sig else []),
                           env=self.env, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stderr.strip()

    def get(self, path, iface, prop):
        r = self.busctl("get-property", "org.drift1", path, iface, prop)
        return json.loads(r.stdout)["data"]

    def stream_get(self, name, prop):
        return self.get(f"/org/drift1/stream/{name}", "org.drift1.Stream", prop)

    def manager_get(self, prop):
        return self.get("/org/drift1", "org.drift1.Manager", prop)

    def ctl(self, *args, timeout=30):
        return subprocess.run([self.driftctl] + list(args), env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def url(self, name="live"):
        return self.stream_get(name, "Url")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if not self.alive():
            return None
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail(f"driftd did not stop within {timeout} s")
        return rc, time.monotonic() - t0

    def close(self):
        try:
            if self.alive():
                self.proc.kill()
                self.proc.wait()
        finally:
            self.notify.close()
            if self.bus_proc:
                self.bus_proc.terminate()
                self.bus_proc.wait()
            if os.environ.get("DRIFT_TEST_KEEP"):
                print(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


def rtsp_probe(url, timeout=15):
    """ffprobe's view of a stream: (codec, width, height) of its video, or None."""
    r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
                        "-show_entries", "stream=codec_name,width,height", "-of", "json", url],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        return None
    s = json.loads(r.stdout).get("streams", [])
    return (s[0]["codec_name"], s[0]["width"], s[0]["height"]) if s else None


class Viewer:
    """ffmpeg playing an RTSP stream into the null muxer, counting frames as it goes."""

    def __init__(self, url, log):
        self.log = log
        self.proc = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-stats",
                                      "-rtsp_transport", "tcp", "-timeout", "3000000", "-i", url,
                                      "-f", "null", "-"],
                                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def frames(self):
        with open(self.log, errors="replace") as f:
            text = f.read().replace("\r", "\n")
        n = 0
        for line in text.splitlines():
            if line.startswith("frame="):
                try:
                    n = int(line.split("=")[1].split()[0])
                except ValueError:
                    pass
        return n

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def threads_cpu_seconds(pid, name):
    """Seconds on a CPU (schedstat: nanoseconds, not clock ticks) of the threads of pid called
    name, together: a stream's generation thread gen-NAME and the OpenMP team it made, which
    inherits the name. None when there is no such thread."""
    total, found = 0, False
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{tid}/comm").read().strip() != name:
                continue
            total += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
            found = True
        except (OSError, IndexError, ValueError):
            pass  # a thread that just ended
    return total / 1e9 if found else None


def with_daemon(fn, **kw):
    """A test (build, source) that runs fn(d) on its own driftd (Daemon(build, source, **kw)),
    prints the end of driftd's log when it fails, and always cleans up."""
    def run(build, source):
        d = Daemon(build, source, **kw)
        try:
            fn(d)
        except Fail:
            print(d.log_text()[-4000:])
            raise
        finally:
            d.close()
    return run


def wait_until(fn, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Fail(f"timed out after {timeout} s waiting for {what}")


def main(tests):
    if len(sys.argv) != 4 or sys.argv[3] not in tests:
        print(f"usage: {sys.argv[0]} BUILD SOURCE TEST; tests: {' '.join(tests)}")
        return 2
    build, source, name = sys.argv[1:]
    if not os.path.exists(os.path.join(build, "daemon", "driftd")):
        print("driftd not built; skipping")
        return SKIP
    for tool in ("dbus-daemon", "busctl", "ffprobe", "ffmpeg"):
        if not shutil.which(tool):
            print(f"{tool} missing; skipping")
            return SKIP
    try:
        tests[name](build, source)
    except Fail as e:
        print(f"FAIL: {e}")
        return 1
    print(f"{name}: ok")
    return 0
