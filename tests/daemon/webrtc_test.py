#!/usr/bin/python3
"""WebRTC viewers (WHEP) against a real client: GStreamer's webrtcbin without a browser
(whep_client.py) posts an offer, gets 201 with an answer and a Location, decodes the stream's
video and audio, and leaves with DELETE; the stream's Clients (D-Bus) and
drift_stream_clients{protocol="webrtc"} (/metrics) count it; a stopped stream ends its viewers;
[http] webrtc_sessions caps them (503). Hostile requests to the WHEP endpoint: bad SDP, SDP
without H.264, the wrong Content-Type, an oversized body, wrong methods, unknown sessions and
streams.

Debian's python3 with python3-gi, gir1.2-gst-plugins-bad-1.0 and gstreamer1.0-nice.
usage: webrtc_test.py BUILD_DIR SOURCE_DIR TEST"""
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, main, wait_until, with_daemon  # noqa: E402
from http_test import Web, free_port  # noqa: E402

WHEP = "/stream/live/whep"


def audio_stream(source):
    audio = os.path.join(source, "tests", "fixtures", "dit", "tiny-audio.safetensors")
    return f"audio = true\naudio_model = {audio}\n"


def run_with(fn, sessions=None, audio=True, users=False):
    def run(build, source):
        port = free_port()
        http = f"address = 127.0.0.1\nport = {port}\n"
        if sessions is not None:
            http += f"webrtc_sessions = {sessions}\n"

        def started(d):
            if users:
                from access_test import with_users
                with_users(d)
            d.start()
            fn(d, Web(port))
        extra = audio_stream(source) if audio else ""
        with_daemon(started, http=http, stream_extra=extra)(build, source)
    return run


def webrtc_clients(web, stream="live"):
    text = urllib.request.urlopen(f"http://127.0.0.1:{web.port}/metrics", timeout=10).read()
    needle = f'drift_stream_clients{{stream="{stream}",protocol="webrtc"}} '
    for line in text.decode().splitlines():
        if line.startswith(needle):
            return int(float(line[len(needle):]))
    raise AssertionError(f"/metrics has no {needle!r}")


def plays(d, web):
    from whep_client import Viewer
    v = Viewer()
    try:
        status, headers, body = v.connect(web.port, WHEP)
        check(status == 201, f"POST {WHEP}: {status} {body[:300]!r}")
        check(headers.get("content-type", "").startswith("application/sdp"),
              f"answer Content-Type {headers.get('content-type')}")
        loc = headers.get("location", "")
        check(loc.startswith(WHEP + "/") and len(loc) == len(WHEP) + 1 + 32,
              f"Location {loc!r}")
        answer = body.decode()
        check("A=RTPMAP:102 H264/90000" in answer.upper()
              and "A=RTPMAP:111 OPUS/48000" in answer.upper(),
              f"the answer lacks H.264 or Opus at the offered types:\n{answer}")
        check("a=candidate:" in answer, "the answer has no candidates (not trickle)")
        wait_until(lambda: v.counts()[0] >= 24 and v.counts()[1] >= 10, 30,
                   f"decoded frames and audio (have {v.counts()})")
        print(f"decoded {v.counts()[0]} video frames and {v.counts()[1]} audio buffers")
        check(d.stream_get("live", "Clients") == 1, "Clients is not 1 while watching")
        check(webrtc_clients(web) == 1, "drift_stream_clients{protocol=webrtc} is not 1")
        status, _, data = web.request("DELETE", loc)
        check(status == 200, f"DELETE {loc}: {status} {data!r}")
        check(webrtc_clients(web) == 0, "the session lives on after DELETE")
        wait_until(lambda: d.stream_get("live", "Clients") == 0, 5, "Clients back to 0")
        status, _, _ = web.request("DELETE", loc)
        check(status == 404, f"a second DELETE {loc}: {status}")
    finally:
        v.close()
    # A stream that stops ends its viewers.
    v = Viewer()
    try:
        status, headers, body = v.connect(web.port, WHEP)
        check(status == 201, f"second viewer: {status} {body[:300]!r}")
        wait_until(lambda: v.counts()[0] >= 5, 30, "the second viewer's frames")
        web.json("POST", "/api/streams/live/stop")
        wait_until(lambda: webrtc_clients(web) == 0, 10, "the viewer ended with the stream")
        status, _, _ = web.request("DELETE", headers["location"])
        check(status == 404, f"DELETE after the stream stopped: {status}")
        status, _, body = web.request("POST", WHEP, raw=v.offer().encode(),
                                      headers={"Content-Type": "application/sdp"})
        check(status == 409 and b"Busy" in body, f"an offer to a stopped stream: {status} {body!r}")
    finally:
        v.close()
    print("played, counted, left; the stream's stop ended its viewer")


def capped(d, web):
    """webrtc_sessions = 1: a second viewer gets 503 with Retry-After; after the first leaves,
    it gets in."""
    from whep_client import Viewer
    a, b = Viewer(), Viewer()
    try:
        status, headers, _ = a.connect(web.port, WHEP)
        check(status == 201, f"first viewer: {status}")
        status, h2, body = b.connect(web.port, WHEP)
        check(status == 503 and b"LimitExceeded" in body and "retry-after" in h2,
              f"second viewer beyond the cap: {status} {h2} {body!r}")
        check(b"webrtc_sessions" in body, f"the refusal does not name the key: {body!r}")
        status, _, _ = web.request("DELETE", headers["location"])
        check(status == 200, f"DELETE: {status}")
        status, _, body = b.connect(web.port, WHEP)
        check(status == 201, f"second viewer once the first left: {status} {body!r}")
        wait_until(lambda: b.counts()[0] >= 5, 30, f"the second viewer's frames ({b.counts()})")
        # driftd stops cleanly with a viewer watching: SIGTERM ends the session with the stream.
        rc, took = d.stop()
        check(rc == 0, f"driftd exited {rc} with a WebRTC viewer")
        check("WebRTC viewer" in d.log_text() and "ends: the stream stops" in d.log_text(),
              "the viewer was not ended with the stream")
        print(f"stopped in {took:.2f} s with a viewer watching")
    finally:
        a.close()
        b.close()
    print("the cap refuses with 503 and frees with DELETE; SIGTERM ends viewers")


def hostile(d, web):
    from whep_client import Viewer
    sdp = {"Content-Type": "application/sdp"}

    def expect(method, path, status, name, raw=None, headers=None, needle=None):
        s, h, body = web.request(method, path, raw=raw, headers=headers)
        check(s == status, f"{method} {path}: {s}, not {status}: {body[:300]!r}")
        check(name.encode() in body, f"{method} {path}: no {name} in {body[:300]!r}")
        if needle:
            check(needle.encode() in body, f"{method} {path}: no {needle!r} in {body[:300]!r}")
        return h

    expect("POST", WHEP, 400, "InvalidArgument", raw=b"hello", headers=sdp, needle="not SDP")
    expect("POST", WHEP, 400, "InvalidArgument", raw=b"v=0\r\n", headers=sdp,
           needle="m-lines")
    expect("POST", WHEP, 400, "InvalidArgument", raw=b"v=0\x00\r\n", headers=sdp,
           needle="NUL")
    expect("POST", WHEP, 400, "InvalidArgument", raw=b"", headers=sdp, needle="empty")
    def video_only_offer(video_caps):
        viewer = Viewer(video_caps=video_caps, audio=False)
        try:
            return viewer.offer().encode()
        finally:
            viewer.close()

    # A real offer, but VP8 only: what it offers is named.
    offer = video_only_offer("application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000")
    expect("POST", WHEP, 400, "InvalidArgument", raw=offer, headers=sdp, needle="VP8")
    # High profile only: not what a live output sends.
    offer = video_only_offer("application/x-rtp,media=video,encoding-name=H264,payload=100,"
                             "clock-rate=90000,packetization-mode=(string)1,"
                             "profile-level-id=(string)640032")
    expect("POST", WHEP, 400, "InvalidArgument", raw=offer, headers=sdp, needle="profile high")
    expect("POST", WHEP, 415, "InvalidArgument", raw=b"v=0\r\n",
           headers={"Content-Type": "application/json"}, needle="application/sdp")
    expect("POST", WHEP, 413, "LimitExceeded", raw=b"v=0\r\n" + b"a=x\r\n" * 20000, headers=sdp)
    h = expect("GET", WHEP, 405, "NotSupported")
    check(h.get("allow") == "POST", f"Allow {h.get('allow')}")
    h = expect("PATCH", WHEP + "/0123456789abcdef0123456789abcdef", 405, "NotSupported",
               raw=b"a=candidate:1", headers={"Content-Type": "application/trickle-ice-sdpfrag"})
    check(h.get("allow") == "DELETE", f"Allow {h.get('allow')}")
    expect("DELETE", WHEP + "/0123456789abcdef0123456789abcdef", 404, "NotFound")
    expect("DELETE", WHEP + "/nope/more", 404, "NotFound")
    expect("POST", "/stream/nope/whep", 404, "NotFound", raw=b"v=0\r\n", headers=sdp,
           needle="nope")
    expect("GET", "/stream/nope", 404, "NotFound")
    expect("POST", WHEP, 403, "AccessDenied", raw=b"v=0\r\n",
           headers={"Content-Type": "application/sdp", "Origin": "http://evil.example"})
    # None of it left a session behind, and driftd still answers offers.
    check(webrtc_clients(web) == 0, "a refused offer left a session")
    v = Viewer()
    try:
        status, _, body = v.connect(web.port, WHEP)
        check(status == 201, f"an offer after the hostile ones: {status} {body[:200]!r}")
    finally:
        v.close()
    print("bad SDP, wrong types, sizes, methods, sessions and streams refused")


def vanished(d, web):
    """Viewers that go without a DELETE are ended: one killed while playing stays "connected" to
    ICE, but its RTCP reports stop (ended after 20 s of silence); one whose offer was never
    followed by ICE fails ICE (or is ended 30 s after its offer). A viewer that keeps watching
    stays, counted, and stays over a reload that leaves its stream unchanged."""
    import signal
    import subprocess
    import time
    from whep_client import Viewer
    stay, mute = Viewer(), Viewer()
    gone = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__),
                                                          "whep_client.py"), str(web.port), WHEP],
                            stdout=subprocess.PIPE, text=True)
    try:
        status, _, body = stay.connect(web.port, WHEP)
        check(status == 201, f"the viewer that stays: {status} {body[:200]!r}")
        check(gone.stdout.readline().strip() == "playing",
              "the viewer in its own process did not play")
        # An offer whose answer the viewer never applies: no ICE from its side.
        status, _, body = web.request("POST", WHEP, raw=mute.offer().encode(),
                                      headers={"Content-Type": "application/sdp"})
        check(status == 201, f"the viewer that never connects: {status} {body[:200]!r}")
        gone.kill()
        gone.wait()
        killed_at = time.monotonic()
        wait_until(lambda: webrtc_clients(web) == 1, 45, "the two viewers that went ended")
        took = time.monotonic() - killed_at
        ends = [line for line in d.log_text().splitlines() if "WebRTC viewer" in line
                and " ends: " in line]
        check(len(ends) == 2 and any("went without saying so" in line for line in ends),
              f"the log does not say why each viewer ended: {ends}")
        frames = stay.counts()[0]
        wait_until(lambda: stay.counts()[0] > frames + 24, 10, "the viewer that stays plays on")
        check(d.stream_get("live", "Clients") == 1 and webrtc_clients(web) == 1,
              "the viewer that stays is not counted")
        # A reload that changes nothing of the stream keeps its viewer.
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(2)
        frames = stay.counts()[0]
        wait_until(lambda: stay.counts()[0] > frames + 24, 10, "the viewer plays on after a reload")
        check(webrtc_clients(web) == 1, "the viewer is not counted after a reload")
        print(f"both ended within {took:.1f} s of the kill, the one that stays played on "
              "(and on over a reload):")
        print("\n".join(ends))
    finally:
        if gone.poll() is None:
            gone.kill()
        stay.close()
        mute.close()


def loaded(d, web):
    """8 browser viewers (player pages in headless Chromium) and 8 RTSP viewers (ffmpeg) for two
    minutes: every one plays at least 80 % of the time, and none is dropped (load_test.py)."""
    import tempfile
    from load_test import load
    failures, figures = load(f"http://127.0.0.1:{web.port}", d.url(), "live", 8, 8, 120,
                             tempfile.mkdtemp(dir=d.tmp), log=lambda m: print(m, flush=True))
    check(not failures, "; ".join(failures))
    print(f"16 viewers for 120 s, none short or dropped: {figures}")


def access(d, web):
    """With users: watching needs a login, and the view role may; the page too."""
    from access_test import basic
    from whep_client import Viewer
    v = Viewer()
    try:
        status, h, _ = v.connect(web.port, WHEP)
        check(status == 401 and "www-authenticate" in h, f"an offer without a login: {status}")
        status, h, body = v.connect(web.port, WHEP, headers=basic("alice", "wrong"))
        check(status == 401, f"an offer with a wrong password: {status}")
        status, h, body = v.connect(web.port, WHEP, headers=basic("bob"))
        check(status == 201, f"an offer from bob (view): {status} {body[:200]!r}")
        wait_until(lambda: v.counts()[0] >= 5, 30, f"bob's frames (have {v.counts()})")
        status, _, _ = web.request("DELETE", v.location)
        check(status == 401, f"DELETE without a login: {status}")
        status, _, _ = web.request("DELETE", v.location, headers=basic("bob"))
        check(status == 200, f"DELETE by bob: {status}")
    finally:
        v.close()
    status, _, page = web.request("GET", "/stream/live", headers=basic("bob"))
    check(status == 200 and b"/static/player.js" in page, f"the page for bob: {status}")
    status, _, _ = web.request("GET", "/stream/live")
    check(status == 401, f"the page without a login: {status}")
    status, _, body = web.request("PATCH", "/api/streams/live", raw=b'{"prompt": "w2"}',
                                  headers=basic("bob"))
    check(status == 403, f"bob (view) steering: {status} {body!r}")
    print("a login is needed to watch, and the view role may")


if __name__ == "__main__":
    sys.exit(main({
        "webrtc_whep": run_with(plays),
        "webrtc_capped": run_with(capped, sessions=1),
        "webrtc_hostile": run_with(hostile),
        "webrtc_access": run_with(access, users=True),
        "webrtc_vanished": run_with(vanished),
        "load_viewers": run_with(loaded),
    }))
