#!/usr/bin/env bash
# Trains the default audio model from nothing on this machine's CPU, resumable (run it again to go on
# from the last checkpoint), then exports it to models/drift-audio.{safetensors,json}.
#
#   tools/models/train-audio.sh [OUT_DIR] [SECONDS] [ROLLOUT_SECONDS]     (defaults: out/audio, 2700, 600)
#   follow it: tail -f OUT_DIR/train.log      (one line per 50 steps; loss.csv beside it; the second stage's
#   in OUT_DIR/rollout/)
#
# Two stages (tools/models/train.py): SECONDS on the data, then ROLLOUT_SECONDS from its weights with a
# quarter of the batches on the model's own rollouts (tools/models/rollout.py: context chunks sampled by the
# model itself as the stream does, the loss on the real chunk after them; clips of 8 chunks, so a rollout
# from noise is 7 chunks long and the window the loss sees holds chunks made from the model's own chunks, as a
# stream's window does; the engine's and the drone's clips keep their first 3 chunks real, so that the real
# chunk after the rollout shares its pitch; models/README.md says what each changed, and what clips of 6 and
# 10 gave); a finished stage is skipped on a rerun. 2700 + 600 s with the data set's 74 s is the hour.
# PyTorch's fp32 products go to OpenBLAS (tools/models/openblas.sh says why and how).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/audio}
seconds=${2:-2700}
rollout_seconds=${3:-600}
mkdir -p "$out"
out=$(cd "$out" && pwd)
. "$root/tools/models/openblas.sh"
recipe="--model audio --hidden 128 --depth 4 \
  --batch 128 --clip 6 --lr 6e-4 --warmup 100 --ema 0.998 --p-ctx 0.25 --p-ln 0.45 --p-one 0.2 --loss-t-min 0.4 \
  --previous-frame"
"${env_args[@]}" nice -n 10 /usr/bin/python3 "$root/tools/models/train.py" $recipe \
  --seconds "$seconds" --out "$out" 2>&1 | tee -a "$out/train.log"
mkdir -p "$out/rollout"
"${env_args[@]}" nice -n 10 /usr/bin/python3 "$root/tools/models/train.py" $recipe --clip 8 --lr 2e-4 --warmup 50 \
  --data-dir "$out" --init "$out/ckpt.pt" --rollout 0.25 --rollout-commit pass --rollout-context-t 0.3 \
  --rollout-real-max 3 --rollout-real-families engine,drone \
  --seconds "$rollout_seconds" --out "$out/rollout" 2>&1 | tee -a "$out/train.log"
# The shipped sampler defaults: 3 Euler steps, the window's chunks (and the chunk before) at noise 0.3
# (models/README.md: 0.1-0.4 measured); stereo from the synthesiser, the right channel's noise phases
# turned by a whole turn (width 1); noise bins at e^(gamma/2), the level an x-predicting model loses.
/usr/bin/python3 "$root/tools/models/export.py" --ckpt "$out/rollout/ckpt.pt" --name drift-audio --steps 3 --context-t 0.3 \
  --stereo-width 1.0 --noise-level 1.3346 --commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" | tee -a "$out/train.log"
