#!/usr/bin/env bash
# tools/run-live.sh BUILD_DIR: runs driftd in the foreground with the repo's configuration
# (conf/driftd.conf), the repo's models (models/) and web files (daemon/web), streaming at
# rtsp://127.0.0.1:8554/live, its player page at http://127.0.0.1:8555/stream/live (WebRTC).
# No system bus needed: driftctl reaches driftd over its private socket. Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: tools/run-live.sh BUILD_DIR}" && pwd)
driftd=$build/daemon/driftd
driftctl=$build/daemon/driftctl
video=$root/models/drift-video.safetensors
url=rtsp://127.0.0.1:8554/live
page=http://127.0.0.1:8555/

if [[ ! -x $driftd || ! -f $video ]]; then
  demo=$build/media/drift-rtsp-demo
  [[ -x $driftd ]] && why="no model at $video yet" || why="driftd is not built"
  if [[ -x $demo ]]; then
    echo "run-live: $why; serving the media layer's test pattern instead (drift-rtsp-demo)."
    echo "Watch: ffplay $url   (or: vlc $url, mpv $url)"
    exec "$demo" --address 127.0.0.1 --port 8554 --path live
  fi
  echo "run-live: $why, and no drift-rtsp-demo in $build" >&2
  exit 1
fi

cat <<MSG
driftd streams the default model with audio at

    $url

Watch it:   ${page}stream/live   in a browser (WebRTC; the page steers it too)
            ffplay $url      (or: vlc $url, mpv $url)
Streams:    $page  (JSON API under ${page}api, metrics at ${page}metrics)
Steer it:   $driftctl prompt live "fast red flames"
            $driftctl set live steps=2 cache=kv+step
            $driftctl status
Words a prompt may use: see docs/MODELS.md. Ctrl-C stops driftd.

MSG
export DRIFT_MODELS_DIR=$root/models DRIFT_WEB_DIR=$root/daemon/web
# OpenMP threads wait as libgomp does by default, as in units/driftd.service (its comment says why).
state=$build/state
mkdir -p "$state"
# Root without a system bus (a container, a CI machine) is fine: driftd says so and serves
# /run/drift/private, which driftctl tries next.
exec "$driftd" --config "$root/conf/driftd.conf" --state-dir "$state"
