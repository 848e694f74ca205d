#!/usr/bin/env bash
# Trains the default audio model from nothing on this machine's CPU, resumable (run it again to go on
# from the last checkpoint), then exports it to models/drift-audio.{safetensors,json}.
#
#   tools/models/train-audio.sh [OUT_DIR] [SECONDS]        (defaults: out/audio, 3300)
#   follow it: tail -f OUT_DIR/train.log      (one line per 50 steps; loss.csv beside it)
#
# PyTorch's fp32 products go to the system BLAS; Debian's default (netlib) runs at ~3 GFLOP/s here,
# so without OpenBLAS installed this fetches Debian's libopenblas0-pthread with apt-get download and
# gives it to the training process alone (no system change).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/audio}
seconds=${2:-3300}
mkdir -p "$out"
out=$(cd "$out" && pwd)
env_args=()
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
  blas=$root/out/blas/usr/lib/x86_64-linux-gnu/openblas-pthread
  if [ ! -f "$blas/libblas.so.3" ]; then
    mkdir -p "$root/out/blas"
    (cd "$root/out/blas" && apt-get download libopenblas0-pthread >/dev/null && dpkg -x libopenblas0-pthread_*.deb .)
  fi
  env_args=(env "LD_LIBRARY_PATH=$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
"${env_args[@]}" nice -n 10 /usr/bin/python3 "$root/tools/models/train.py" --model audio --hidden 128 --depth 4 \
  --batch 128 --clip 6 --lr 6e-4 --warmup 100 --ema 0.998 --p-ctx 0.25 --p-ln 0.45 \
  --seconds "$seconds" --out "$out" 2>&1 | tee -a "$out/train.log"
