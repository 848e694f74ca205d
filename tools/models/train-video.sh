#!/usr/bin/env bash
# Trains the default video model from nothing on this machine's CPU, resumable (run it again to go on from
# the last checkpoint; a finished stage is skipped), then exports it to models/drift-video.{safetensors,json}.
#
#   tools/models/train-video.sh [OUT_DIR] [SECONDS] [ROLLOUT_SECONDS]     (defaults: out/video, 4800, 720)
#   follow it: tail -f OUT_DIR/train.log      (autoencoder, dataset, then one line per 50 steps; loss.csv;
#   the rollout stage's in OUT_DIR/rollout/)
#
# Stages (tools/models/train.py --model video): the autoencoder (12 min, OUT/ae.pt), the training set
# rendered and encoded once (~9-18 min, OUT/data.pt), the transformer on the latents (SECONDS), then the
# transformer from those weights for ROLLOUT_SECONDS with half of the batches on its own rollouts
# (tools/models/rollout.py: the clip's context frames sampled by the model itself with the shipped sampler,
# guidance 2, the window's last-step keys, each frame's starting noise carrying 0.95 of the one before's;
# the loss on the real frame after them; since 2026-12-04 the "frame before" input is that frame as made,
# not as the window keeps it: --previous-frame-clean, models/README.md), then the decoder alone for 240 s with the latent cells' seams and
# the local detail in its loss (tools/models/video_ae.py refine, OUT/decoder.pt). About 119 minutes in all
# (the 2026-12-02 run: 114 minutes to the rollout stage's end; the refinement 4.7 minutes with its renders).
# PyTorch's fp32 products go to the system BLAS; Debian's default (netlib) runs at ~3 GFLOP/s here, so
# without OpenBLAS installed this fetches Debian's libopenblas0-pthread with apt-get download and gives it
# to the training process alone (no system change). Run nothing else heavy beside it: OpenBLAS's threads
# wait for each other, and a busy core slows every product.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/video}
seconds=${2:-4800}
rollout_seconds=${3:-720}
mkdir -p "$out"
out=$(cd "$out" && pwd)
. "$root/tools/models/openblas.sh"
start=$(date +%s)
recipe="--model video --hidden 192 --depth 6 \
  --batch 8 --clip 6 --lr 6e-4 --warmup 200 --ema 0.995 --p-ctx 0.3 --p-ln 0.3 --p-one 0.2 \
  --loss-t-min 0.4 --previous-frame --pos-init sincos --ae-seconds 720"
"${env_args[@]}" /usr/bin/python3 "$root/tools/models/train.py" $recipe \
  --seconds "$seconds" --out "$out" 2>&1 | tee -a "$out/train.log"
mkdir -p "$out/rollout"
"${env_args[@]}" /usr/bin/python3 "$root/tools/models/train.py" $recipe --lr 2e-4 --warmup 50 \
  --data-dir "$out" --init "$out/ckpt.pt" --rollout 0.5 --rollout-guidance 2 --rollout-commit last-step \
  --rollout-noise-carry 0.95 --previous-frame-clean \
  --seconds "$rollout_seconds" --out "$out/rollout" 2>&1 | tee -a "$out/train.log"
# The data's motion for the noise flow's head (tools/models/noise_flow.py: ~30 s; skipped on a rerun).
[ -f "$out/flow.pt" ] || /usr/bin/python3 "$root/tools/models/noise_flow.py" measure --out "$out/flow.pt" 2>&1 | tee -a "$out/train.log"
# The decoder refinement (tools/models/video_ae.py refine, 240 s; skipped on a rerun): the decoder alone trained
# once more on the run's encoder, with the latent-cell seams and the local detail in the loss (the 32- and
# 8-pixel grids of what the engine draws; models/README.md).
[ -f "$out/decoder.pt" ] || "${env_args[@]}" /usr/bin/python3 "$root/tools/models/video_ae.py" refine --ae "$out/ae.pt" \
  --ckpt "$out/rollout/ckpt.pt" --seconds 240 --out "$out/decoder.pt" 2>&1 | tee -a "$out/train.log"
echo "wall: $(( $(date +%s) - start ))s for this run" | tee -a "$out/train.log"
# The shipped sampler defaults: 3 Euler steps; the window keeps each frame as the last step saw it
# (sampler.commit last-step: no cache pass, adherence 68.9 % against 53.0 % with the pass at noise
# 0.4, models/README.md); context_t 0.4 stays for --commit pass; classifier-free guidance 3 (2026-12-03,
# 300-frame runs: adherence 99.1 % against 96.2 % at 2, colour words 84.9 % against 82.4 %, a prompt change
# lands within 10 frames instead of 86; 4 sharpens more but flickers and lets long runs drift). The rollout
# stage samples at guidance 2, as when it was measured. noise_carry 0.95 (2026-12-03): each frame starts
# from noise that keeps 0.95 of the frame before's, as the rollout stage trained (300-frame runs: gradient
# and frame difference both within 0.6-1.6x of the data's for 6 of 10 families against 2; models/README.md).
# noise_carry 0.99 since later on 2026-12-03 (the issue's 3000-frame evaluation: frame difference within
# 0.6-1.6x of the data's for 6 of 10 families against 5, gradient and difference both for 5 against 3,
# adherence, colour, long runs and prompt changes as at 0.95; models/README.md). The rollout stage keeps
# sampling at 0.95, as when the shipped weights were trained.
# The noise flow (2026-12-03): the carried noise moves with the scene at the velocity the data shows for the
# prompt (a head fitted here to flow.pt on the exported weights; docs/MODELS.md), so that flames rise.
/usr/bin/python3 "$root/tools/models/export.py" --ckpt "$out/rollout/ckpt.pt" --name drift-video --steps 3 --context-t 0.4 --guidance 3.0 --guidance-t-max 0.9 \
  --noise-carry 0.99 --noise-flow "$out/flow.pt" --decoder "$out/decoder.pt" --sampler-commit last-step --commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" | tee -a "$out/train.log"
