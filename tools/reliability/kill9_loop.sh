#!/bin/sh
# The kill -9 fault loop, longer than CI's: KILLS (default 50) kill -9 at random moments of
# renders, start-up and submits, each followed by a restart; at the end every job must be done,
# every output must play for its duration and no partial file may be left.
#   tools/reliability/kill9_loop.sh BUILD_DIR [KILLS] [SEED]
# Figures: out/reliability/results/kill9.json (read by tools/reliability/report.py).
set -eu
build=${1:?usage: kill9_loop.sh BUILD_DIR [KILLS] [SEED]}
root=$(cd "$(dirname "$0")/../.." && pwd)
export DRIFT_KILLS=${2:-50} DRIFT_KILL_SEED=${3:-9}
export DRIFT_RELIABILITY_OUT=${DRIFT_RELIABILITY_OUT:-$root/out/reliability/results}
exec python3 "$root/tests/reliability/reliability_test.py" "$build" "$root" kill9
