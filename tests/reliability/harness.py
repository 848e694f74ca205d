"""Test harness for the reliability tests: tests/daemon/harness.py (a private dbus-daemon, a
NOTIFY_SOCKET, a test configuration, driftd and its clients), re-exported, plus what these tests
add: resident memory, a raw RTSP client and result records for tools/reliability/report.py."""
import importlib.util
import json
import os
import socket
import time

_spec = importlib.util.spec_from_file_location(
    "drift_daemon_harness",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon", "harness.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
globals().update({k: v for k, v in vars(_base).items() if not k.startswith("__")})


def rss_kib(pid):
    """Resident memory of a process in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RawRtsp:
    """A minimal RTSP client over TCP: enough to connect, describe, set up, play and vanish in
    the ways real clients do (cleanly with TEARDOWN, or by dropping the connection)."""

    def __init__(self, url, timeout=5.0):
        rest = url[len("rtsp://"):]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.url = url
        self.sock = socket.create_connection((host, int(port or 554)), timeout=timeout)
        self.cseq = 0
        self.session = None
        self.buf = b""

    def request(self, method, url=None, headers=()):
        self.cseq += 1
        lines = [f"{method} {url or self.url} RTSP/1.0", f"CSeq: {self.cseq}",
                 "User-Agent: drift-reliability"]
        if self.session:
            lines.append(f"Session: {self.session}")
        lines += list(headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return self._response()

    def _read_more(self):
        data = self.sock.recv(65536)
        if not data:
            raise Fail("RTSP server closed the connection")
        self.buf += data

    def _response(self):
        while True:
            # Skip interleaved RTP/RTCP frames ($, channel, 16-bit length) before a reply.
            while self.buf[:1] == b"$":
                while len(self.buf) < 4:
                    self._read_more()
                n = int.from_bytes(self.buf[2:4], "big")
                while len(self.buf) < 4 + n:
                    self._read_more()
                self.buf = self.buf[4 + n:]
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0 and self.buf[:1] != b"$":
                break
            self._read_more()
        head = self.buf[:end].decode(errors="replace")
        self.buf = self.buf[end + 4:]
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", 0))
        while len(self.buf) < n:
            self._read_more()
        body, self.buf = self.buf[:n].decode(errors="replace"), self.buf[n:]
        if "session" in headers:
            self.session = headers["session"].split(";")[0]
        return status, headers, body

    def setup_play(self):
        """DESCRIBE, SETUP every track over interleaved TCP, PLAY. Returns the PLAY status."""
        st, h, sdp = self.request("DESCRIBE", headers=["Accept: application/sdp"])
        if st != 200:
            return st
        base = h.get("content-base", self.url + "/")
        controls = [l.split(":", 1)[1].strip() for l in sdp.splitlines() if l.startswith("a=control:")]
        tracks = [c for c in controls if c != "*"]
        for i, c in enumerate(tracks):
            url = c if c.startswith("rtsp://") else base.rstrip("/") + "/" + c
            st, _, _ = self.request("SETUP", url, [f"Transport: RTP/AVP/TCP;unicast;interleaved={2*i}-{2*i+1}"])
            if st != 200:
                return st
        st, _, _ = self.request("PLAY", headers=["Range: npt=0-"])
        return st

    def read_media(self, nbytes):
        got = 0
        while got < nbytes:
            data = self.sock.recv(65536)
            if not data:
                break
            got += len(data)
        return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def record(name, **figures):
    """Writes a test's figures to $DRIFT_RELIABILITY_OUT/NAME.json (for tools/reliability/report.py)
    and prints them."""
    figures["test"] = name
    figures["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print("RESULT " + json.dumps(figures, sort_keys=True))
    out = os.environ.get("DRIFT_RELIABILITY_OUT")
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
