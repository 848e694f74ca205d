// The player page /stream/NAME: plays NAME through WHEP (RFC 9725) in the <video>, shows its
// figures from GET /api/streams/NAME once a second, and steers it with PATCH. Nothing fetched
// from anywhere else; no library.
"use strict";

const name = decodeURIComponent(location.pathname.split("/")[2] || "");
const api = "/api/streams/" + encodeURIComponent(name);
const whep = "/stream/" + encodeURIComponent(name) + "/whep";
const $ = (id) => document.getElementById(id);
let session = null; // the Location of our WHEP session, to DELETE when leaving

document.title = "drift: " + name;
$("name").textContent = name;
$("whep-url").textContent = whep;

function say(text) {
  $("status").textContent = text;
}

// Non-trickle: the offer goes out with every candidate, as driftd answers (docs/WEB.md).
function gathered(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const done = () => {
      if (pc.iceGatheringState === "complete") resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // what we have by then is enough on a LAN
  });
}

async function errorText(r) {
  try {
    const e = await r.json();
    return e.message || e.error || r.statusText;
  } catch (_) {
    return r.statusText;
  }
}

async function play() {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (ev) => {
    stream.addTrack(ev.track);
    $("video").srcObject = stream;
  };
  pc.onconnectionstatechange = () => {
    say("WebRTC: " + pc.connectionState);
    if (pc.connectionState === "failed") setTimeout(() => location.reload(), 5000);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const r = await fetch(whep, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
    credentials: "same-origin",
  });
  if (r.status !== 201) {
    say("cannot watch: " + r.status + " " + (await errorText(r)));
    pc.close();
    return;
  }
  session = r.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
  say("WebRTC: connecting");
}

function leave() {
  if (session) fetch(session, { method: "DELETE", keepalive: true, credentials: "same-origin" });
  session = null;
}
window.addEventListener("pagehide", leave);

let filled = false;
// What the stream has, as far as this page knows: only what differs from it is sent.
let sent = {};

async function poll() {
  try {
    const r = await fetch(api, { credentials: "same-origin" });
    if (!r.ok) throw new Error(await errorText(r));
    const s = await r.json();
    $("prompt-now").textContent = s.Prompt;
    $("f-state").textContent = s.Idle ? "idle" : s.State;
    $("f-fps").textContent = s.Fps;
    $("f-rtf").textContent = Number(s.RealtimeFactor).toFixed(2);
    $("f-clients").textContent = s.Clients;
    $("f-degraded").textContent = s.Degraded ? "yes" : "no";
    $("f-steps").textContent = s.EffectiveSteps;
    if (!filled) { // the form starts from what runs, and is the user's after that
      $("in-prompt").value = s.Prompt;
      $("in-steps").value = s.Steps;
      $("in-guidance").value = s.Guidance;
      $("in-cache").value = s.Cache;
      sent = { prompt: s.Prompt, steps: s.Steps, guidance: s.Guidance, cache: s.Cache };
      filled = true;
    }
  } catch (e) {
    $("f-state").textContent = "? (" + e.message + ")";
  }
}

$("steer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {};
  const prompt = $("in-prompt").value;
  const steps = parseInt($("in-steps").value, 10);
  const guidance = parseFloat($("in-guidance").value);
  const cache = $("in-cache").value;
  if (prompt !== sent.prompt) body.prompt = prompt;
  if (!Number.isNaN(steps) && steps !== sent.steps) body.steps = steps;
  if (!Number.isNaN(guidance) && guidance !== sent.guidance) body.guidance = guidance;
  if (cache && cache !== sent.cache) body.cache = cache;
  if (Object.keys(body).length === 0) {
    $("steer-result").textContent = "nothing changed";
    return;
  }
  $("steer-result").textContent = "…";
  const r = await fetch(api, {
    method: "PATCH",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (r.ok) {
    Object.assign(sent, body);
    $("steer-result").textContent = "applied";
    poll();
  } else {
    $("steer-result").textContent = r.status + ": " + (await errorText(r));
  }
});

poll();
setInterval(poll, 1000);
play().catch((e) => say("cannot watch: " + e.message));
