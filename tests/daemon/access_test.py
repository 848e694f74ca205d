#!/usr/bin/python3
"""Access control (docs/ACCESS.md) against real clients: users made by `driftctl passwd`, the
web server asking for HTTP Basic or a bearer token and checking roles, ffprobe refused over RTSP
without a password and playing with one, failed logins blocking an address on both surfaces,
a reload that changes the users, and the configurations refused at start (a non-loopback
address without users, a malformed users file).

usage: access_test.py BUILD_DIR SOURCE_DIR TEST"""
import base64
import http.client
import json
import os
import re
import signal
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, main, rtsp_probe, wait_until, with_daemon  # noqa: E402
from http_test import Web, free_port  # noqa: E402

PASSWORDS = {"alice": ("admin", "alice pw"), "carl": ("control", "carl:pw"),
             "bob": ("view", "bob-pw"), "dora": ("control", "dora-pw")}


def passwd(d, name, role, password):
    """A users-file line from driftctl passwd, the password on stdin."""
    r = subprocess.run([d.driftctl, "passwd", name, role], input=password + "\n",
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"driftctl passwd {name}: {r.returncode} {r.stderr}")
    line = r.stdout.strip()
    check(re.fullmatch(rf"{name}:{role}:\$y\$[^:]+", line), f"driftctl passwd printed {line!r}")
    return line


def write_users(d, users, path=None):
    path = path or os.path.join(d.tmp, "users")
    with open(path, "w") as f:
        f.write("# drift users\n\n")
        for name in users:
            role, password = PASSWORDS[name]
            f.write(passwd(d, name, role, password) + "\n")
    return path


def with_users(d, users=("alice", "carl", "bob"), extra=""):
    """[access] users (and extra) as a drop-in of d's configuration."""
    path = write_users(d, users)
    with open(os.path.join(d.dropins, "50-access.conf"), "w") as f:
        f.write(f"[access]\nusers = {path}\n{extra}")
    return path


def basic(name, password=None):
    password = PASSWORDS[name][1] if password is None else password
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def get_from(port, source, path, headers):
    """(status, body) of a GET sent from the local address source (another client)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def rtsp_status(port, headers=""):
    """The status code of one RTSP OPTIONS request to 127.0.0.1:port."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"OPTIONS rtsp://127.0.0.1:{port}/live RTSP/1.0\r\nCSeq: 1\r\n{headers}\r\n"
                  .encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode()
    check(line.startswith("RTSP/1.0 "), f"RTSP answer {data[:200]!r}")
    return int(line.split()[1]), data.decode(errors="replace")


def rtsp_basic(name, password=None):
    return "Authorization: " + basic(name, password)["Authorization"] + "\r\n"


def started(fn, users=("alice", "carl", "bob"), **kw):
    """fn(d, web) on a driftd with users and the web server on a free port."""
    port = free_port()

    def run(d):
        with_users(d, users)
        d.start()
        fn(d, Web(port))
    return with_daemon(run, http=f"address = 127.0.0.1\nport = {port}", **kw)


def http_roles(d, web):
    check("access: 3 users from" in d.log_text(), "no access line in the log")
    status, headers, body = web.request("GET", "/api")
    check(status == 401 and headers.get("www-authenticate") == 'Basic realm="drift"',
          f"no credentials: {status} {headers}")
    check(b"org.drift1.Error.AccessDenied" in body, f"401 body {body!r}")
    for path in ("/", "/metrics", "/static/style.css", "/api/streams/live"):
        status, _, _ = web.request("GET", path)
        check(status == 401, f"GET {path} without credentials: {status}")
    status, _, _ = web.request("GET", "/api", headers=basic("alice", "wrong"))
    check(status == 401, f"a wrong password: {status}")
    web.json("GET", "/api", headers=basic("bob"))
    status, _, body = web.request("GET", "/metrics", headers=basic("bob"))
    check(status == 200 and b"drift_" in body, f"/metrics for a viewer: {status}")
    # A name in Host is fine once logins are required (no DNS rebinding past a password).
    web.json("GET", "/api", headers={**basic("bob"), "Host": f"drift.example:{web.port}"})

    err = web.json("PATCH", "/api/streams/live", {"prompt": "w3"}, expect=403, headers=basic("bob"))
    check(err["error"] == "org.drift1.Error.AccessDenied" and "user 'bob' (role view) may not "
          "Stream.Set: it needs the role control" in err["message"], f"{err}")
    check(d.stream_get("live", "Prompt") == "w1 w2", "a viewer changed the prompt")
    web.json("PATCH", "/api/streams/live", {"prompt": "w3"}, headers=basic("carl"))
    check(d.stream_get("live", "Prompt") == "w3", "control did not change the prompt")
    err = web.json("POST", "/api/reload", expect=403, headers=basic("carl"))
    check("needs the role admin" in err["message"], f"{err}")
    err = web.json("POST", "/api/streams", {"name": "two"}, expect=403, headers=basic("carl"))
    web.json("POST", "/api/reload", headers=basic("alice"))

    # Bearer tokens: from a login, as good as the password, ended by DELETE.
    login = web.json("POST", "/api/login", headers=basic("bob"))
    check(login["user"] == "bob" and login["role"] == "view" and len(login["token"]) == 64
          and login["expires_in"] == 12 * 3600, f"{login}")
    bearer = {"Authorization": "Bearer " + login["token"]}
    check(web.json("GET", "/api/streams/live", headers=bearer)["Name"] == "live", "bearer GET")
    web.json("PATCH", "/api/streams/live", {"prompt": "w1"}, expect=403, headers=bearer)
    err = web.json("POST", "/api/login", expect=400, headers=bearer)
    check("not a token" in err["message"], f"{err}")
    status, _, _ = web.request("DELETE", "/api/login", headers=bearer)
    check(status == 204, f"logout: {status}")
    status, _, _ = web.request("GET", "/api", headers=bearer)
    check(status == 401, f"a token after logout: {status}")
    log = d.log_text()
    check("http: wrong name or password for 'alice' from 127.0.0.1" in log, "failure not logged")
    check("http: unknown or expired token from 127.0.0.1" in log, "bad token not logged")

    # A reload re-reads the users file: bob gone, carl's token follows carl's new role.
    token = web.json("POST", "/api/login", headers=basic("carl"))["token"]
    PASSWORDS["carl"] = ("admin", PASSWORDS["carl"][1])
    write_users(d, ("alice", "carl"))
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.log_text().count("access: 2 users from") == 1, 30, "the reload")
    status, _, _ = web.request("GET", "/api", headers=basic("bob"))
    check(status == 401, f"bob after his removal: {status}")
    web.json("POST", "/api/reload", headers={"Authorization": "Bearer " + token})
    # A broken users file refuses the reload; the users stay what they were.
    with open(os.path.join(d.tmp, "users"), "a") as f:
        f.write("dave:boss:$y$j9T$abc$def\n")
    err = web.json("POST", "/api/reload", expect=400, headers=basic("alice"))
    check("users:5: role: 'boss' is unknown" in err["message"], f"{err}")
    web.json("GET", "/api", headers=basic("carl"))
    check(d.alive(), "driftd died")
    print("roles, tokens and reloads hold over HTTP")


def own_jobs(d, web):
    """control submits and cancels its own jobs; not another's; admin cancels any; D-Bus says
    whose a job is."""
    later = int((time.time() + 3600) * 1e6)
    spec = {"model": d.model, "seconds": 1, "width": 64, "height": 64, "audio": False,
            "not_before": later}

    def submit(name, output):
        job = web.json("POST", "/api/jobs", dict(spec, output=output), expect=201,
                       headers=basic(name))
        check(job["Owner"] == name and job["State"] == "scheduled", f"{job}")
        return job["Id"]

    web.json("POST", "/api/jobs", dict(spec, output="v.mp4"), expect=403, headers=basic("bob"))
    carls, doras = submit("carl", "c.mp4"), submit("dora", "d.mp4")
    check(d.get(f"/org/drift1/job/{carls}", "org.drift1.Job", "Owner") == "carl", "D-Bus Owner")
    err = web.json("POST", f"/api/jobs/{doras}/cancel", expect=403, headers=basic("carl"))
    check(err["error"] == "org.drift1.Error.AccessDenied" and f"user 'carl' (role control) may "
          f"cancel their own jobs only; job {doras} was submitted by 'dora'" in err["message"],
          f"{err}")
    check(web.json("GET", f"/api/jobs/{doras}", headers=basic("bob"))["State"] == "scheduled",
          "another's cancel went through")
    web.json("POST", f"/api/jobs/{doras}/cancel", expect=403, headers=basic("bob"))
    check(web.json("POST", f"/api/jobs/{carls}/cancel", headers=basic("carl"))["State"]
          == "cancelled", "carl could not cancel his own job")
    check(web.json("POST", f"/api/jobs/{doras}/cancel", headers=basic("alice"))["State"]
          == "cancelled", "admin could not cancel another's job")
    # The owner is in the job's file: it survives a restart.
    with open(os.path.join(d.tmp, "state", "jobs", f"{doras}.job")) as f:
        check("owner=dora" in f.read(), "no owner in the job file")
    print("control cancels its own jobs only; admin any")


def rate_limit(d, web):
    rtsp = d.manager_get("RtspPort")
    for _ in range(2):
        status, _ = rtsp_status(rtsp, rtsp_basic("alice", "guess"))
        check(status == 401, f"RTSP with a wrong password: {status}")
    for _ in range(2):
        status, _, _ = web.request("GET", "/api", headers=basic("alice", "guess"))
        check(status == 401, f"HTTP with a wrong password: {status}")
    web.json("GET", "/api", headers=basic("alice"))  # 4 failures: still let in
    status, _, _ = web.request("GET", "/api", headers=basic("nobody", "guess"))
    check(status == 401, f"the fifth failure: {status}")
    # Blocked now, on both surfaces, right password or not.
    status, headers, body = web.request("GET", "/api", headers=basic("alice"))
    check(status == 429 and 50 <= int(headers.get("retry-after", "0")) <= 60,
          f"after 5 failures: {status} {headers}")
    check(b"org.drift1.Error.LimitExceeded" in body, f"{body!r}")
    status, _ = rtsp_status(rtsp, rtsp_basic("alice"))
    check(status == 503, f"RTSP after 5 failures: {status}")
    log = d.log_text()
    check("rtsp: wrong name or password for 'alice' from 127.0.0.1 (failure 1 of 5" in log, log[-2000:])
    check("http: wrong name or password for 'nobody' from 127.0.0.1 (5 failures from 127.0.0.1 "
          "within 60 s: refused for 60 s)" in log, log[-2000:])
    # Another address is not refused, and /metrics counts the failures.
    status, body = get_from(web.port, "127.0.0.2", "/metrics", basic("bob"))
    check(status == 200, f"from 127.0.0.2: {status}")
    text = body.decode()
    check("\ndrift_access_failed_logins_total 5\n" in text and "\ndrift_access_blocks_total 1\n"
          in text, text[-1500:])
    print("five failed logins in a minute block the address on RTSP and HTTP")


def rtsp_auth(d, web):
    rtsp = d.manager_get("RtspPort")
    url = f"rtsp://127.0.0.1:{rtsp}/live"
    status, text = rtsp_status(rtsp)
    check(status == 401 and 'WWW-Authenticate: Basic realm="drift"' in text, text)
    r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", url],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "401" in r.stderr, f"ffprobe without a password: {r.returncode} "
          f"{r.stderr}")
    check(rtsp_probe(f"rtsp://bob:wrong@127.0.0.1:{rtsp}/live") is None, "a wrong password played")
    got = rtsp_probe(f"rtsp://bob:{PASSWORDS['bob'][1]}@127.0.0.1:{rtsp}/live", timeout=60)
    check(got == ("h264", 64, 64), f"ffprobe with bob's password: {got}")
    check("rtsp: wrong name or password for 'bob' from 127.0.0.1" in d.log_text(), "not logged")
    print("RTSP: 401 without a password, plays with one")


def beyond_loopback(d, web):
    """With users, both servers may listen on every address."""
    check("RTSP server listening on 0.0.0.0" in d.log_text(), d.log_text()[-2000:])
    web.json("GET", "/api", headers=basic("bob"))
    status, _ = rtsp_status(d.manager_get("RtspPort"))
    check(status == 401, f"RTSP on 0.0.0.0 without a password: {status}")
    print("with users, RTSP and HTTP listen beyond loopback")


def refused_at_start(build, source):
    def refused(needles, users=None, **kw):
        d = Daemon(build, source, **kw)
        try:
            if users is not None:
                path = os.path.join(d.tmp, "users")
                with open(path, "w") as f:
                    f.write(users.replace("HASH", passwd(d, "x", "view", "pw").split(":", 2)[2]))
                with open(os.path.join(d.dropins, "50-access.conf"), "w") as f:
                    f.write(f"[access]\nusers = {path}\n")
            d.start(wait_ready=False)
            rc = d.proc.wait(timeout=30)
            log = d.log_text()
            check(rc == 1, f"exit {rc}: {log}")
            for n in needles:
                check(n.replace("TMP", d.tmp) in log, f"{n!r} not in {log}")
            check(d.notify.count("READY", "1") == 0, "READY=1 with a refused configuration")
        finally:
            d.close()

    def rtsp_anywhere(d):
        with open(os.path.join(d.dropins, "50-rtsp.conf"), "w") as f:
            f.write("[rtsp]\naddress = 0.0.0.0\n")

    d = Daemon(build, source)
    try:
        rtsp_anywhere(d)
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=30)
        log = d.log_text()
        check(rc == 1 and "[rtsp] address: 0.0.0.0 is not a loopback address" in log
              and "set [access] users" in log, f"exit {rc}: {log}")
    finally:
        d.close()
    refused(["[http] address: :: is not a loopback address", "set [access] users"],
            http="address = ::\nport = 8555")
    refused(["[access] users: TMP/users:3: role: 'boss' is unknown; allowed: view, control, admin"],
            users="# users\nx:view:HASH\ny:boss:HASH\n")
    refused(["TMP/users:2: name: 'x' appears twice"], users="x:view:HASH\nx:admin:HASH\n")
    refused(["TMP/users:1: hash: a legacy method"], users="x:view:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n")
    refused(["TMP/users: no users"], users="# nobody yet\n")
    refused(["[access] tls_certificate: /nonexistent/drift.crt with key /nonexistent/drift.key"],
            config_extra="[access]\ntls_certificate = /nonexistent/drift.crt\n"
                         "tls_key = /nonexistent/drift.key\n")
    refused(["[access] tls_key: set, but not tls_certificate"],
            config_extra="[access]\ntls_key = /k\n")
    d = Daemon(build, source)
    try:  # systemd credentials: one of the two missing
        creds = os.path.join(d.tmp, "credentials")
        os.makedirs(creds)
        open(os.path.join(creds, "tls.crt"), "w").close()
        d.env["CREDENTIALS_DIRECTORY"] = creds
        d.start(wait_ready=False)
        rc = d.proc.wait(timeout=30)
        check(rc == 1 and f"credential {creds}/tls.key: missing" in d.log_text(), d.log_text())
    finally:
        d.close()
    print("refused at start: beyond loopback without users, malformed users files")


def make_certificate(d):
    """A self-signed certificate and its key for 127.0.0.1, made by openssl: (crt, key)."""
    crt, key = os.path.join(d.tmp, "drift.crt"), os.path.join(d.tmp, "drift.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True,
                   timeout=60)
    return crt, key


def https(port, method, path, headers=None):
    """(status, body) of one HTTPS request, the self-signed certificate taken as it is."""
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                    context=ssl._create_unverified_context())
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def tls_test(build, source):
    """RTSPS and HTTPS with [access] tls_certificate/tls_key: ffprobe plays rtsps:// with a
    password, HTTPS answers, plain HTTP on that port does not."""
    if not shutil.which("openssl"):
        print("openssl missing; skipping")
        sys.exit(77)
    port = free_port()

    def run(d):
        crt, key = make_certificate(d)
        with_users(d, extra=f"tls_certificate = {crt}\ntls_key = {key}\n")
        d.start()
        check("RTSP (127.0.0.1, TLS, Basic)" in d.log_text(), d.log_text()[-2000:])
        url = d.url()
        rtsp = d.manager_get("RtspPort")
        check(url == f"rtsps://127.0.0.1:{rtsp}/live", f"Url {url}")
        status, body = https(port, "GET", "/api")
        check(status == 401, f"HTTPS without a password: {status}")
        status, body = https(port, "GET", "/api", basic("bob"))
        check(status == 200 and json.loads(body)["RtspPort"] == rtsp, f"HTTPS: {status} {body!r}")
        try:
            status, _, _ = Web(port).request("GET", "/api", headers=basic("bob"))
            check(status != 200, "plain HTTP answered on the HTTPS port")
        except (OSError, http.client.HTTPException):
            pass  # the TLS server closes the plain connection: as it should
        got = rtsp_probe(f"rtsps://bob:{PASSWORDS['bob'][1]}@127.0.0.1:{rtsp}/live", timeout=60)
        check(got == ("h264", 64, 64), f"ffprobe over RTSPS: {got}")
        check(rtsp_probe(f"rtsp://bob:{PASSWORDS['bob'][1]}@127.0.0.1:{rtsp}/live") is None,
              "plain RTSP played on the RTSPS port")
        print("RTSPS and HTTPS with a password")
    with_daemon(run, http=f"address = 127.0.0.1\nport = {port}")(build, source)


def beyond_loopback_test(build, source):
    port = free_port()

    def run(d):
        with_users(d)
        with open(os.path.join(d.dropins, "60-rtsp.conf"), "w") as f:
            f.write("[rtsp]\naddress = 0.0.0.0\n")
        d.start()
        beyond_loopback(d, Web(port))
    with_daemon(run, http=f"address = 0.0.0.0\nport = {port}")(build, source)


if __name__ == "__main__":
    sys.exit(main({
        "access_http": started(http_roles),
        "access_rate_limit": started(rate_limit),
        "access_jobs": started(own_jobs, users=("alice", "carl", "dora", "bob")),
        "access_rtsp": started(rtsp_auth),
        "access_beyond_loopback": beyond_loopback_test,
        "access_refused": refused_at_start,
        "access_tls": tls_test,
    }))
