#!/usr/bin/env bash
# scratch trial: the residual design (x̂ = frame before + f) with noise on the frame-before input in the first
# stage (train.py --previous-frame-noise), on the shipped run's autoencoder and data; then the rollout stage
# given as ROLLOUT_ARGS; exported with the shipped sampler
set -euo pipefail
root=/work/main; cd $root
. tools/models/openblas.sh
D=/work/expv/out
OUT=${OUT:-/work/expr/out/noise}
mkdir -p $OUT/rollout
recipe="--model video --hidden 192 --depth 6 \
  --batch 8 --clip 6 --lr 6e-4 --warmup 200 --ema 0.995 --p-ctx 0.3 --p-ln 0.3 --p-one 0.2 \
  --loss-t-min 0.4 --previous-frame --pos-init sincos --ae-seconds 720 --previous-frame-clean --previous-frame-residual"
"${env_args[@]}" /usr/bin/python3 tools/models/train.py $recipe --previous-frame-noise ${NOISE:-0.4} --data-dir $D \
  --seconds ${SECS:-4800} --out $OUT 2>&1 | tee -a $OUT/train.log
"${env_args[@]}" /usr/bin/python3 tools/models/train.py $recipe --lr 2e-4 --warmup 50 \
  --data-dir $D --init "$OUT/ckpt.pt" --rollout 0.5 --rollout-guidance 2 --rollout-commit last-step \
  --rollout-noise-carry 0.95 ${ROLLOUT_ARGS:-} --seconds 720 --out "$OUT/rollout" 2>&1 | tee -a $OUT/train.log
for stage in first:$OUT rollout:$OUT/rollout; do
  M=$OUT/model-${stage%%:*}; mkdir -p $M
  /usr/bin/python3 tools/models/export.py --ckpt "${stage#*:}/ckpt.pt" --outdir $M --name drift-video --steps 3 --context-t 0.4 \
    --guidance 3.0 --guidance-t-max 0.9 --noise-carry 0.99 --noise-flow /work/exp3/out/video/flow.pt \
    --sampler-commit last-step --commit trial 2>&1 | tail -2
done
echo "trial done $(date)"
