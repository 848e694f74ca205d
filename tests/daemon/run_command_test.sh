#!/usr/bin/env bash
# The README's run command, tried as a user tries it: `tools/dev.sh run` from the source tree
# installs what is missing (nothing, after the test command), builds build-release (up to date
# when the test command built it; from nothing otherwise) and streams the default models; ffprobe
# must then read H.264 video and an audio stream at rtsp://127.0.0.1:8554/live, and the page at
# http://127.0.0.1:8555/ list the stream (with curl, when there is one). SIGTERM stops it.
#   run_command_test.sh SOURCE_ROOT
set -uo pipefail
root=${1:?usage: run_command_test.sh SOURCE_ROOT}
url=rtsp://127.0.0.1:8554/live
for tool in ffprobe setsid; do
  command -v "$tool" >/dev/null || { echo "no $tool; skipping"; exit 77; }
done
for port in 8554 8555; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port is already in use (a driftd of yours?); skipping"
    exit 77
  fi
done
log=$(mktemp)
setsid "$root/tools/dev.sh" run >"$log" 2>&1 &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null
}
trap stop EXIT
fail() { echo "FAIL: $*"; echo "--- tools/dev.sh run said:"; tail -40 "$log"; exit 1; }

# Building from nothing takes minutes on 2 cores; streaming starts within seconds after that.
streams=""
for _ in $(seq 900); do
  kill -0 "$pid" 2>/dev/null || fail "tools/dev.sh run exited ($(wait "$pid"; echo "status $?"))"
  if grep -q "driftd streams" "$log"; then
    streams=$(timeout 20 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_type,codec_name,width,height,sample_rate \
              -of csv=p=0 "$url" 2>&1) && [ -n "$streams" ] && break
  fi
  sleep 1
done
echo "ffprobe $url:"
echo "$streams"
echo "$streams" | grep -q "^h264,video," || fail "no H.264 video stream at $url"
echo "$streams" | grep -q ",audio" || fail "no audio stream at $url"
if command -v curl >/dev/null; then
  page=$(curl -sf http://127.0.0.1:8555/) || fail "no page at http://127.0.0.1:8555/"
  grep -q '<td class="name"><a href="/stream/live">live</a></td>' <<<"$page" ||
    fail "the page does not list live with a link to its player: $page"
  player=$(curl -sf http://127.0.0.1:8555/stream/live) || fail "no player at http://127.0.0.1:8555/stream/live"
  grep -q '<video' <<<"$player" || fail "the player page has no <video>: $player"
  echo "page: http://127.0.0.1:8555/ lists live; its player: http://127.0.0.1:8555/stream/live"
fi
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "driftd did not stop within 10 s of SIGTERM"
wait "$pid"; status=$?
[ "$status" -eq 0 ] || fail "driftd exited with status $status after SIGTERM"
trap - EXIT
echo "run command: streams H.264 video and audio, stops cleanly on SIGTERM"
