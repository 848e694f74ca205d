"""A WHEP viewer without a browser: GStreamer's webrtcbin through PyGObject (Debian's python3-gi,
gir1.2-gst-plugins-bad-1.0, gstreamer1.0-nice). It offers recvonly H.264 (constrained baseline,
packetization-mode=1) and Opus as a browser does, POSTs the offer, applies the answer and
decodes what arrives, counting decoded video frames and audio buffers."""
import http.client
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC  # noqa: E402

Gst.init(None)

VIDEO_CAPS = ("application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
              "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
              "level-asymmetry-allowed=(string)1")
AUDIO_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"


def _wait(promise):
    promise.wait()
    return promise.get_reply()


class Viewer:
    def __init__(self, video_caps=VIDEO_CAPS, audio=True):
        self.pipe = Gst.Pipeline.new("viewer")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "w")
        if self.webrtc is None:
            raise RuntimeError("no webrtcbin (gstreamer1.0-plugins-bad, gstreamer1.0-nice)")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        self.lock = threading.Lock()
        self.video_frames = 0
        self.audio_buffers = 0
        self.webrtc.connect("pad-added", self._on_pad)
        recv = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        self.webrtc.emit("add-transceiver", recv, Gst.Caps.from_string(video_caps))
        if audio:
            self.webrtc.emit("add-transceiver", recv, Gst.Caps.from_string(AUDIO_CAPS))
        self.pipe.set_state(Gst.State.PLAYING)
        self.location = None
        self.sdp = None

    def offer(self, timeout=10):
        """The SDP offer with every candidate (non-trickle), as text."""
        reply = _wait(self._call("create-offer"))
        offer = reply.get_value("offer")
        p = Gst.Promise.new()
        self.webrtc.emit("set-local-description", offer, p)
        p.wait()
        end = time.monotonic() + timeout
        while (self.webrtc.get_property("ice-gathering-state")
               != GstWebRTC.WebRTCICEGatheringState.COMPLETE):
            if time.monotonic() > end:
                raise RuntimeError("ICE gathering did not complete")
            time.sleep(0.02)
        return self.webrtc.get_property("local-description").sdp.as_text()

    def _call(self, signal):
        p = Gst.Promise.new()
        self.webrtc.emit(signal, None, p)
        return p

    def answer(self, sdp_text):
        res, msg = GstSdp.SDPMessage.new_from_text(sdp_text)
        if res != GstSdp.SDPResult.OK:
            raise RuntimeError("the answer is not SDP")
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        p = Gst.Promise.new()
        self.webrtc.emit("set-remote-description", desc, p)
        p.wait()

    def connect(self, port, path, headers=None):
        """POSTs the offer to path; returns (status, headers, body) and applies a 201's answer.
        A refused viewer may try again: its offer is made once."""
        if self.sdp is None:
            self.sdp = self.offer()
        sdp = self.sdp
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        h = {"Content-Type": "application/sdp"}
        h.update(headers or {})
        c.request("POST", path, body=sdp.encode(), headers=h)
        r = c.getresponse()
        out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        c.close()
        if out[0] == 201:
            self.location = out[1].get("location")
            self.answer(out[2].decode())
        return out

    def _on_pad(self, webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        dec = Gst.ElementFactory.make("decodebin")
        dec.connect("pad-added", self._on_decoded)
        self.pipe.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad("sink"))

    def _on_decoded(self, dec, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        video = caps.get_structure(0).get_name().startswith("video/")
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("signal-handoffs", True)
        sink.set_property("sync", False)
        sink.connect("handoff", self._on_video if video else self._on_audio)
        self.pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

    def _on_video(self, sink, buf, pad):
        with self.lock:
            self.video_frames += 1

    def _on_audio(self, sink, buf, pad):
        with self.lock:
            self.audio_buffers += 1

    def counts(self):
        with self.lock:
            return self.video_frames, self.audio_buffers

    def connection_state(self):
        return self.webrtc.get_property("connection-state")

    def close(self):
        self.pipe.set_state(Gst.State.NULL)


if __name__ == "__main__":
    # A viewer in its own process, for tests that make one vanish (kill -9: no DELETE):
    # whep_client.py PORT PATH; prints "playing" once it decoded frames, then watches until killed.
    import sys
    viewer = Viewer()
    status, _, body = viewer.connect(int(sys.argv[1]), sys.argv[2])
    if status != 201:
        sys.exit(f"POST {sys.argv[2]}: {status} {body[:300]!r}")
    end = time.monotonic() + 30
    while viewer.counts()[0] < 5:
        if time.monotonic() > end:
            sys.exit(f"no frames in 30 s: {viewer.counts()}")
        time.sleep(0.1)
    print("playing", flush=True)
    while True:
        time.sleep(60)
