#!/usr/bin/python3
"""driftd's web server against real clients: the page of streams, the JSON API beside D-Bus
(busctl, gdbus) on the same objects with the same errors, jobs submitted, watched and cancelled
over HTTP, /metrics parsed by prometheus_client's own parser, hostile requests (unknown paths,
wrong methods, oversized and chunked bodies, path traversal, bad JSON, another site's Host or
Origin), and a configuration that would put the server beyond loopback refused at start.

Debian's python3 (prometheus_client is python3-prometheus-client).
usage: http_test.py BUILD_DIR SOURCE_DIR TEST"""
import http.client
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, Daemon, check, main, wait_until, with_daemon  # noqa: E402

LIVE = "/org/drift1/stream/live"
S = "org.drift1.Stream"
M = ("/org/drift1", "org.drift1.Manager")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Web:
    """A client of one driftd's web server."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, raw=None):
        """(status, headers, body bytes). body: an object sent as JSON; raw: bytes as they are."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        c.close()
        return out

    def json(self, method, path, body=None, expect=200, **kw):
        status, headers, data = self.request(method, path, body, **kw)
        check(status == expect, f"{method} {path}: {status}, not {expect}: {data[:300]!r}")
        check(headers.get("content-type", "").startswith("application/json"),
              f"{method} {path}: Content-Type {headers.get('content-type')}")
        return json.loads(data)

    def get(self, path):
        return self.json("GET", path)


def run_with(fn, **kw):
    """harness.with_daemon for fn(d, web): a started driftd serving HTTP on a free port."""
    def run(build, source):
        port = free_port()

        def started(d):
            d.start()
            fn(d, Web(port))
        with_daemon(started, http=f"address = 127.0.0.1\nport = {port}", **kw)(build, source)
    return run


def gdbus_error(d, path, method, *args):
    """(error name, message) of a failing call, as gdbus prints them."""
    r = subprocess.run(["gdbus", "call", "--session", "--dest", "org.drift1", "--object-path", path,
                        "--method", method, *args], env=d.env, capture_output=True, text=True)
    check(r.returncode != 0, f"{method} {args} succeeded: {r.stdout}")
    # "Error: GDBus.Error:org.drift1.Error.InvalidArgument: width: 5000 is out of range; …"
    line = r.stderr.strip().splitlines()[0]
    name, _, message = line.split("GDBus.Error:", 1)[1].partition(": ")
    return name, message


def page_and_api(d, web):
    """/ lists the stream; the API reads and changes it and D-Bus sees the change, and back."""
    status, headers, page = web.request("GET", "/")
    check(status == 200 and headers["content-type"].startswith("text/html"), f"/: {status} {headers}")
    page = page.decode()
    url = d.url()
    for needle in ("<td class=\"name\"><a href=\"/stream/live\">live</a></td>", "<td class=\"prompt\">w1 w2</td>",
                   "<td class=\"state\">", "<td class=\"fps\">24</td>", url):
        check(needle in page, f"/ lacks {needle!r}: {page}")
    status, headers, css = web.request("GET", "/static/style.css")
    check(status == 200 and headers["content-type"].startswith("text/css") and b"table" in css,
          f"/static/style.css: {status} {headers}")

    manager = web.get("/api")
    check(manager["Streams"] == ["live"] and manager["HttpPort"] == web.port, f"/api: {manager}")
    check(manager["Version"] == d.manager_get("Version") and manager["RtspPort"] == d.manager_get("RtspPort"),
          f"/api: {manager}")
    check(d.manager_get("HttpPort") == web.port and d.manager_get("HttpAddress") == "127.0.0.1",
          "Manager.HttpPort/HttpAddress")

    # The same object: every property of org.drift1.Stream, by the same name, with the same value.
    stream = web.get("/api/streams/live")
    r = d.busctl("introspect", "org.drift1", LIVE, S)  # its table: ".Name property s …"
    props = {l.split()[0][1:] for l in r.stdout.splitlines() if " property " in l}
    check(props and set(stream) == props,
          f"JSON keys differ from the D-Bus properties: only JSON {set(stream) - props}, only D-Bus {props - set(stream)}")
    for p in ("Name", "Url", "Prompt", "Width", "Height", "Fps", "Cache", "Model", "State", "Seed"):
        check(stream[p] == d.stream_get("live", p), f"{p}: JSON {stream[p]!r}, D-Bus {d.stream_get('live', p)!r}")
    check([s["Name"] for s in web.get("/api/streams")] == ["live"], "/api/streams does not list live")

    # Change the prompt over HTTP: answered once the generator took it, seen over D-Bus.
    changed = web.json("PATCH", "/api/streams/live", {"prompt": "w3 w4 w5"})
    check(changed["Prompt"] == "w3 w4 w5", f"PATCH answered {changed['Prompt']}")
    check(d.stream_get("live", "Prompt") == "w3 w4 w5", "D-Bus does not see the new prompt")
    changed = web.json("PATCH", "/api/streams/live", {"steps": 2, "cache": "none", "seed": 7})
    check((changed["Steps"], changed["Cache"], changed["Seed"]) == (2, "none", 7), f"PATCH: {changed}")
    check((d.stream_get("live", "Steps"), d.stream_get("live", "Cache")) == (2, "none"), "D-Bus Steps/Cache")
    # ...and the other way round.
    d.call(LIVE, S, "SetPrompt", "s", "w2 w1")
    check(web.get("/api/streams/live")["Prompt"] == "w2 w1", "the API does not see SetPrompt")
    page = web.request("GET", "/")[2].decode()
    check("<td class=\"prompt\">w2 w1</td>" in page, "the page does not show the new prompt")

    # A bad value: the D-Bus error's name and message, word for word, with 400.
    err = web.json("PATCH", "/api/streams/live", {"width": 5000}, expect=400)
    name, message = gdbus_error(d, LIVE, "org.drift1.Stream.Set", "{'width': <uint32 5000>}")
    check(err == {"error": name, "message": message} and name == "org.drift1.Error.InvalidArgument",
          f"HTTP {err} vs D-Bus {name}: {message}")
    err = web.json("PATCH", "/api/streams/live", {"prompt": "dragon"}, expect=400)
    name, message = gdbus_error(d, LIVE, "org.drift1.Stream.SetPrompt", "dragon")
    check(err == {"error": name, "message": message}, f"unknown word: HTTP {err} vs D-Bus {name}: {message}")
    err = web.json("PATCH", "/api/streams/live", {"colour": "red"}, expect=400)
    name, message = gdbus_error(d, LIVE, "org.drift1.Stream.Set", "{'colour': <'red'>}")
    check(err == {"error": name, "message": message}, f"unknown key: HTTP {err} vs D-Bus {name}: {message}")
    check(d.stream_get("live", "Width") == 64, "a refused change changed the stream")

    # Create, stop, start, remove: the D-Bus methods' counterparts.
    created = web.json("POST", "/api/streams", {"name": "second", "settings": {
        "model": d.model, "audio": False, "width": 32, "height": 32}}, expect=201)
    check(created["Name"] == "second", f"created {created}")
    wait_until(lambda: d.stream_get("second", "Running"), 20, "second running (D-Bus)")
    err = web.json("POST", "/api/streams", {"name": "second"}, expect=409)
    name, message = gdbus_error(d, "/org/drift1", "org.drift1.Manager.CreateStream", "second", "{}")
    check(err == {"error": name, "message": message} and name.endswith(".Exists"), f"{err} vs {name}")
    web.json("POST", "/api/streams/second/stop")
    wait_until(lambda: d.stream_get("second", "State") == "stopped", 10, "second stopped")
    err = web.json("POST", "/api/streams/second/stop", expect=409)
    check(err["error"] == "org.drift1.Error.Busy", f"stop a stopped stream: {err}")
    web.json("POST", "/api/streams/second/start")
    wait_until(lambda: web.get("/api/streams/second")["Running"], 20, "second running again")
    status, _, _ = web.request("DELETE", "/api/streams/second")
    check(status == 204, f"DELETE: {status}")
    check(d.manager_get("Streams") == [LIVE], "second still on D-Bus")
    err = web.json("GET", "/api/streams/second", expect=404)
    name, message = gdbus_error(d, "/org/drift1", "org.drift1.Manager.RemoveStream", "second")
    check(err == {"error": name, "message": message}, f"{err} vs {name}: {message}")
    print("page, stream API and D-Bus agree")


def jobs(d, web):
    """Submit, list, watch progress, cancel over HTTP; D-Bus sees the same jobs."""
    spec = {"model": d.model, "seconds": 2, "fps": 24, "width": 64, "height": 64, "audio": False,
            "prompt": "w1 w2"}
    status, headers, data = web.request("POST", "/api/jobs", spec)
    check(status == 201, f"POST /api/jobs: {status} {data!r}")
    job = json.loads(data)
    jid = job["Id"]
    check(headers.get("location") == f"/api/jobs/{jid}", f"Location {headers.get('location')}")
    check(job["Spec"]["seconds"] == 2 and job["Spec"]["model"] == d.model, f"Spec {job['Spec']}")
    check([j["Id"] for j in web.get("/api/jobs")] == [jid], "/api/jobs does not list the job")
    check(d.manager_get("Jobs") == [f"/org/drift1/job/{jid}"], "D-Bus does not list the job")
    seen = set()

    def finished():
        j = web.get(f"/api/jobs/{jid}")
        seen.add(round(j["Progress"], 2))
        return j["State"] in ("done", "failed", "cancelled") and j

    j = wait_until(finished, 120, "the job to finish")
    check(j["State"] == "done" and j["Progress"] == 1.0, f"job {j}")
    check(os.path.getsize(j["Output"]) > 0, f"no output {j['Output']}")
    check(d.get(f"/org/drift1/job/{jid}", "org.drift1.Job", "State") == "done", "D-Bus State")
    print(f"job done; progress seen: {sorted(seen)}")

    # A scheduled job cancelled over HTTP; D-Bus sees it cancelled; cancelling again is Busy.
    later = dict(spec, not_before=int((time.time() + 3600) * 1e6), output="later.mp4")
    job = web.json("POST", "/api/jobs", later, expect=201)
    check(job["State"] == "scheduled" and job["NotBefore"] == later["not_before"], f"{job}")
    job = web.json("POST", f"/api/jobs/{job['Id']}/cancel")
    check(job["State"] == "cancelled", f"cancel: {job}")
    path = f"/org/drift1/job/{job['Id']}"
    check(d.get(path, "org.drift1.Job", "State") == "cancelled", "D-Bus does not see the cancel")
    err = web.json("POST", f"/api/jobs/{job['Id']}/cancel", expect=409)
    name, message = gdbus_error(d, path, "org.drift1.Job.Cancel")
    check(err == {"error": name, "message": message}, f"{err} vs {name}: {message}")

    # A running job cancelled over HTTP stops within a few seconds.
    job = web.json("POST", "/api/jobs", dict(spec, seconds=600, output="long.mp4"), expect=201)
    wait_until(lambda: web.get(f"/api/jobs/{job['Id']}")["Progress"] > 0, 60, "the long job to run")
    web.json("POST", f"/api/jobs/{job['Id']}/cancel")
    wait_until(lambda: web.get(f"/api/jobs/{job['Id']}")["State"] == "cancelled", 10, "the cancel")

    # Refusals, as SubmitJob's.
    err = web.json("POST", "/api/jobs", {"seconds": -5}, expect=400)
    name, message = gdbus_error(d, "/org/drift1", "org.drift1.Manager.SubmitJob", "{'seconds': <-5.0>}")
    check(err == {"error": name, "message": message}, f"{err} vs {name}: {message}")
    err = web.json("POST", "/api/jobs", dict(spec, model="/nope.safetensors"), expect=422)
    check(err["error"] == "org.drift1.Error.ModelError" and "/nope.safetensors" in err["message"], f"{err}")
    err = web.json("GET", "/api/jobs/jnope", expect=404)
    check(err["error"] == "org.drift1.Error.NotFound", f"{err}")


def metrics(d, web):
    """/metrics parses with prometheus_client's parser; counters grow; every family is there."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        print("python3-prometheus-client missing; skipping")
        raise SystemExit(SKIP)

    def scrape():
        status, headers, data = web.request("GET", "/metrics")
        check(status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4"),
              f"/metrics: {status} {headers}")
        out = {}
        for fam in text_string_to_metric_families(data.decode()):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
            out[("type", fam.name)] = fam.type
        return out

    live = (("stream", "live"),)
    frames = "drift_stream_frames_generated_total"
    wait_until(lambda: d.stream_get("live", "FramesGenerated") > 0, 60, "the first frames")
    a = scrape()
    web.json("POST", "/api/jobs", {"model": d.model, "seconds": 600, "width": 32, "height": 32,
                                   "audio": False, "not_before": int((time.time() + 3600) * 1e6)},
             expect=201)
    time.sleep(1)

    def grown():
        m = scrape()
        return m if m[(frames, live)] > a[(frames, live)] + 5 else None

    b = wait_until(grown, 60, "frames to grow on /metrics")
    for name in (frames, "drift_stream_evaluations_run_total"):
        check(b[(name, live)] > a[(name, live)] > 0, f"{name} did not grow: {a[(name, live)]} -> {b[(name, live)]}")
    check(b[("drift_process_cpu_seconds_total", ())] > a[("drift_process_cpu_seconds_total", ())],
          "CPU seconds did not grow")
    check(b[("drift_process_resident_memory_bytes", ())] > 10e6, "RSS below 10 MB")
    for name in ("drift_stream_frames_repeated_total", "drift_stream_frames_dropped_total",
                 "drift_stream_evaluations_skipped_total", "drift_stream_steps_lowered_total",
                 "drift_stream_audio_chunks_generated_total", "drift_stream_audio_chunks_late_total"):
        check((name, live) in b, f"{name} missing")
    for fam, typ in (("drift_stream_frames_generated", "counter"), ("drift_stream_realtime_factor", "gauge"),
                     ("drift_jobs", "gauge"), ("drift_process_cpu_seconds", "counter")):
        check(b[("type", fam)] == typ, f"{fam}: type {b[('type', fam)]}")
    rtf = b[("drift_stream_realtime_factor", live)]
    check(rtf > 0, f"realtime factor {rtf}")
    check(b[("drift_stream_fps", live)] == 24 and b[("drift_stream_running", live)] == 1, "fps/running")
    check(b[("drift_stream_clients", (("protocol", "rtsp"), ("stream", "live")))] == 0, "clients")
    states = {"scheduled": 1, "queued": 0, "running": 0, "done": 0, "failed": 0, "cancelled": 0}
    for state, n in states.items():
        check(b[("drift_jobs", (("state", state),))] == n, f"drift_jobs{{state={state}}}")
    # The counters are the D-Bus properties' figures.
    f_dbus = d.stream_get("live", "FramesGenerated")
    f_http = scrape()[("drift_stream_frames_generated_total", live)]
    check(abs(f_http - f_dbus) < 200, f"FramesGenerated {f_dbus} vs metrics {f_http}")
    print(f"frames {a[('drift_stream_frames_generated_total', live)]} -> "
          f"{b[('drift_stream_frames_generated_total', live)]}, realtime factor {rtf:.2f}")


def raw_request(port, text):
    """Sends text as it is (no client normalises the path) and returns (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(text.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def hostile(d, web):
    """Unknown paths, wrong methods, oversized bodies, traversal, bad JSON, other sites."""
    err = web.json("GET", "/nope", expect=404)
    check(err["error"] == "org.drift1.Error.NotFound", f"{err}")
    web.json("GET", "/api/nope", expect=404)
    web.json("GET", "/api/streams/live/nope", expect=404)
    web.json("GET", "/api/streams//start", expect=404)
    for method, path, allowed in (("DELETE", "/api/jobs", "GET, HEAD, POST"),
                                  ("POST", "/metrics", "GET, HEAD"), ("PUT", "/", "GET, HEAD"),
                                  ("GET", "/api/streams/live/start", "POST"),
                                  ("DELETE", "/api/jobs/x", "GET, HEAD")):
        status, headers, data = web.request(method, path)
        check(status == 405 and headers.get("allow") == allowed, f"{method} {path}: {status} {headers}")
        check(json.loads(data)["error"] == "org.drift1.Error.NotSupported", f"{method} {path}: {data!r}")

    big = {"prompt": "w1 " * 30000}  # ~90 KB
    status, headers, data = web.request("PATCH", "/api/streams/live", big)
    check(status == 413 and json.loads(data)["error"] == "org.drift1.Error.LimitExceeded",
          f"oversized: {status} {data!r}")
    # Chunked, without a length: counted as it comes.
    body = json.dumps(big).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                      for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
    status, _ = raw_request(web.port, "PATCH /api/streams/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks.decode())
    check(status == 413, f"chunked oversized: {status}")
    # Expect: 100-continue: refused before the body is sent.
    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as s:
        s.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        head = s.recv(4096)
    check(head.startswith(b"HTTP/1.1 413"), f"100-continue: {head[:80]!r}")
    check(d.stream_get("live", "Prompt") == "w1 w2", "an oversized request changed the prompt")

    for path in ("/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
                 "/static/..%2f..%2fetc%2fpasswd", "/static/%2e%2e%2fdriftd.conf", "/../etc/passwd",
                 "/static//etc/passwd", "/static/style.css/../../../etc/passwd", "/%2e%2e/etc/passwd",
                 "/static/..\\..\\etc\\passwd"):
        status, body = raw_request(web.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   "Connection: close\r\n\r\n")
        check(status in (400, 404) and b"root:" not in body and b"[daemon]" not in body,
              f"GET {path}: {status} {body[:100]!r}")

    for raw, needle in ((b"{", "not JSON"), (b"[1]", "settings: a JSON array where an object is wanted"),
                        (b'{"prompt": "a", "prompt": "b"}', "duplicate"), (b"", "not JSON")):
        err = web.json("PATCH", "/api/streams/live", raw=raw, expect=400)
        check(err["error"] == "org.drift1.Error.InvalidArgument" and needle in err["message"], f"{raw!r}: {err}")
    err = web.json("POST", "/api/streams", {"name": 5}, expect=400)
    check("name: not a string" in err["message"], f"{err}")
    err = web.json("POST", "/api/streams", {"name": "x", "extra": 1}, expect=400)
    check(err["error"] == "org.drift1.Error.InvalidArgument", f"{err}")

    err = web.json("GET", "/api", headers={"Host": "evil.example"}, expect=403)
    check(err["error"] == "org.drift1.Error.AccessDenied", f"{err}")
    err = web.json("PATCH", "/api/streams/live", {"prompt": "w3"},
                   headers={"Origin": "http://evil.example"}, expect=403)
    check(d.stream_get("live", "Prompt") == "w1 w2", "another site changed the prompt")
    web.json("PATCH", "/api/streams/live", {"prompt": "w3"},
             headers={"Origin": f"http://127.0.0.1:{web.port}"})
    # No users configured: nobody logs in (docs/ACCESS.md).
    err = web.json("POST", "/api/login", expect=501)
    check(err["error"] == "org.drift1.Error.NotSupported" and "no users" in err["message"], f"{err}")
    check(d.alive(), "driftd died")
    print("hostile requests refused")


def refused(build, source):
    """[http] beyond loopback, or on a port in use: driftd does not start and says why."""
    d = Daemon(build, source, http="address = 0.0.0.0\nport = 8555")
    try:
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=30)
        log = d.log_text()
        check(rc == 1, f"exit {rc}: {log}")
        check("[http] address: 0.0.0.0 is not a loopback address" in log and "access control" in log, log)
        check(d.notify.count("READY", "1") == 0, "READY=1 with a refused configuration")
    finally:
        d.close()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    d = Daemon(build, source, http=f"port = {port}")
    try:
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=30)
        log = d.log_text()
        check(rc == 1 and f"[http] address 127.0.0.1, port {port}" in log, f"exit {rc}: {log}")
    finally:
        d.close()
        blocker.close()
    # port = 0: no server, and the rest runs.
    d = Daemon(build, source, http="address = 0.0.0.0\nport = 0")
    try:
        d.start()
        check(d.manager_get("HttpPort") == 0 and "HTTP server off" in d.log_text(), "port = 0")
    finally:
        d.close()
    print("refused beyond loopback and on a port in use")


if __name__ == "__main__":
    sys.exit(main({
        "http_api": run_with(page_and_api),
        "http_jobs": run_with(jobs, config_extra="[jobs]\nnice = 0\n"),
        "http_metrics": run_with(metrics, stream_extra="on_demand = false\n"),
        "http_hostile": run_with(hostile),
        "http_refused": refused,
    }))
