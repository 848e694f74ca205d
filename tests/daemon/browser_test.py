#!/usr/bin/python3
"""The player page in a real browser: headless Chromium (Debian's chromium) driven through the
DevTools protocol opens /stream/live, plays it over WebRTC (the <video>'s currentTime advances and
it decoded frames; an audio track came), steers the prompt from the page's form (seen over
D-Bus as the stream's Prompt), and leaves a screenshot in the build tree
(tests/daemon/browser/stream_live.png).

The DevTools client is a few lines over python3-websocket (Debian): it needs one request and a
reply at a time, which puppeteer would bring with node_modules and a second language.
usage: browser_test.py BUILD_DIR SOURCE_DIR TEST"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Fail, check, main, wait_until, with_daemon  # noqa: E402
from http_test import free_port  # noqa: E402
from webrtc_test import audio_stream  # noqa: E402


class Tab:
    """One page of a Chromium, steered over its DevTools WebSocket."""

    def __init__(self, url):
        import websocket
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise Fail(f"{method}: {msg['error']}")
                return msg["result"]

    def eval(self, expression):
        r = self.send("Runtime.evaluate", expression=expression, awaitPromise=True,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise Fail(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def close(self):
        self.ws.close()


class Chromium(Tab):
    """A headless Chromium; itself its first page (Tab), new_tab() opens more."""

    def __init__(self, tmp):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
        self.log = open(os.path.join(tmp, "chromium.log"), "w")
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--mute-audio",
             f"--user-data-dir={self.profile}", f"--remote-debugging-port={self.port}",
             "--remote-allow-origins=*", "--autoplay-policy=no-user-gesture-required",
             # Host candidates as addresses, not mDNS names that driftd's libnice cannot resolve.
             "--disable-features=WebRtcHideLocalIpsWithMdns",
             "--window-size=1000,900", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.tabs = []
        try:
            super().__init__(wait_until(self._page_url, 30, "Chromium's DevTools endpoint"))
        except Exception:
            self._stop()
            raise

    def _page_url(self):
        try:
            pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list",
                                                     timeout=2))
        except OSError:
            return None
        return next((p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page"), None)

    def new_tab(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank",
                                     method="PUT")
        tab = Tab(json.load(urllib.request.urlopen(req, timeout=10))["webSocketDebuggerUrl"])
        self.tabs.append(tab)
        return tab

    def _stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def close(self):
        for t in self.tabs:
            t.close()
        super().close()
        self._stop()


# null until the player page has replaced the blank tab (navigation is asynchronous) and its parser
# has reached the status line, which comes after the <video> (an evaluation between the two threw)
VIDEO = """(() => {
  const v = document.getElementById("video"), st = document.getElementById("status");
  if (!v || !st) return null;
  const s = v.srcObject;
  return {time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames,
          audio: s ? s.getAudioTracks().length : 0, video: s ? s.getVideoTracks().length : 0,
          status: st.textContent};
})()"""


def plays_and_steers(build, source):
    check(shutil.which("chromium"), "no chromium: tools/install-deps.sh installs it")
    port = free_port()
    out_dir = os.path.join(build, "tests", "daemon", "browser")
    os.makedirs(out_dir, exist_ok=True)

    def run(d):
        d.start()
        c = Chromium(d.tmp)
        try:
            c.send("Page.enable")
            c.send("Page.navigate", url=f"http://127.0.0.1:{port}/stream/live")
            try:
                wait_until(lambda: (c.eval(VIDEO) or {}).get("frames", 0) > 0, 40,
                           "decoded frames in the page's <video>")
            except Fail as e:
                raise Fail(f"{e}; the page: {c.eval(VIDEO)}")
            first = c.eval(VIDEO)
            time.sleep(2)
            later = c.eval(VIDEO)
            print(f"page: {first} -> {later}")
            check(later["time"] > first["time"] + 1,
                  f"currentTime does not advance: {first['time']} -> {later['time']}")
            check(later["frames"] > first["frames"], "no more frames decoded")
            check(later["audio"] == 1 and later["video"] == 1,
                  f"tracks: {later['video']} video, {later['audio']} audio")
            check(d.stream_get("live", "Clients") == 1, "Clients is not 1 with the page open")
            # The figures are shown.
            wait_until(lambda: c.eval("document.getElementById('f-clients').textContent") == "1",
                       5, "the page showing one client")
            # Steer from the page: the form's PATCH reaches the generator.
            c.eval("""(() => { document.getElementById("in-prompt").value = "w2 w1";
                       document.getElementById("apply").click(); })()""")
            try:
                wait_until(lambda: d.stream_get("live", "Prompt") == "w2 w1", 15,
                           "the page's prompt over D-Bus")
            except Fail as e:
                said = c.eval("document.getElementById('steer-result').textContent")
                raise Fail(f"{e}; the page says: {said!r}")
            wait_until(lambda: c.eval("document.getElementById('steer-result').textContent")
                       == "applied", 10, "the page saying applied")
            wait_until(lambda: c.eval("document.getElementById('prompt-now').textContent")
                       == "w2 w1", 5, "the page showing the new prompt")
            shot = c.send("Page.captureScreenshot", format="png")
            path = os.path.join(out_dir, "stream_live.png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            print(f"screenshot: {path}")
            # Leaving the page ends the session (pagehide DELETEs it).
            c.send("Page.navigate", url="about:blank")
            wait_until(lambda: d.stream_get("live", "Clients") == 0, 10,
                       "the session ended when the page went")
        finally:
            c.close()

    with_daemon(run, http=f"address = 127.0.0.1\nport = {port}\n",
                stream_extra=audio_stream(source))(build, source)
    print("Chromium played the stream over WebRTC and steered it")


if __name__ == "__main__":
    sys.exit(main({"browser_player": plays_and_steers}))
