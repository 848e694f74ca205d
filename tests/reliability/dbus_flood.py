#!/usr/bin/python3
"""Floods driftd over the session bus with Gio (Debian's python3-gi): READS property reads of the
live stream and the manager, then PROMPTS SetPrompt calls, INFLIGHT calls outstanding at once.
Prints one JSON line: {"seconds": …, "errors": …, "first_error": …}.

usage: dbus_flood.py READS PROMPTS [INFLIGHT]"""
import json
import sys
import time

from gi.repository import Gio, GLib

reads, prompts = int(sys.argv[1]), int(sys.argv[2])
inflight = int(sys.argv[3]) if len(sys.argv) > 3 else 32
bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
loop = GLib.MainLoop()
props = [("/org/drift1/stream/live", "org.drift1.Stream", p)
         for p in ("Prompt", "FramesGenerated", "RealtimeFactor", "Clients", "Running", "Url")]
props += [("/org/drift1", "org.drift1.Manager", p) for p in ("Version", "Streams", "Jobs")]
words = ["w1", "w2", "w3", "w4", "w5"]
calls = [("Get", i) for i in range(reads)] + [("SetPrompt", i) for i in range(prompts)]
state = {"next": 0, "pending": 0, "errors": 0, "first_error": None}


def done(conn, res, _):
    try:
        conn.call_finish(res)
    except GLib.Error as e:
        state["errors"] += 1
        state["first_error"] = state["first_error"] or e.message
    state["pending"] -= 1
    pump()


def pump():
    while state["pending"] < inflight and state["next"] < len(calls):
        kind, i = calls[state["next"]]
        state["next"] += 1
        state["pending"] += 1
        if kind == "Get":
            path, iface, prop = props[i % len(props)]
            bus.call("org.drift1", path, "org.freedesktop.DBus.Properties", "Get",
                     GLib.Variant("(ss)", (iface, prop)), None, Gio.DBusCallFlags.NONE, 30000,
                     None, done, None)
        else:
            text = " ".join(words[(i + k) % len(words)] for k in range(1 + i % 3))
            bus.call("org.drift1", "/org/drift1/stream/live", "org.drift1.Stream", "SetPrompt",
                     GLib.Variant("(s)", (text,)), None, Gio.DBusCallFlags.NONE, 30000, None,
                     done, None)
    if state["pending"] == 0 and state["next"] >= len(calls):
        loop.quit()


t0 = time.monotonic()
GLib.idle_add(lambda: (pump(), False)[1])
loop.run()
print(json.dumps({"seconds": round(time.monotonic() - t0, 2), "errors": state["errors"],
                  "first_error": state["first_error"]}))
