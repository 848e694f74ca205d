#!/usr/bin/env bash
# scratch trial: train-video.sh's recipe with --previous-frame-clean --previous-frame-residual in both stages,
# on the autoencoder and data of the shipped run (/work/expv/out)
set -euo pipefail
root=/work/expr
D=/work/expv/out
OUT=/work/expr/out/res
cd $root
. tools/models/openblas.sh
recipe="--model video --hidden 192 --depth 6 \
  --batch 8 --clip 6 --lr 6e-4 --warmup 200 --ema 0.995 --p-ctx 0.3 --p-ln 0.3 --p-one 0.2 \
  --loss-t-min 0.4 --previous-frame --pos-init sincos --ae-seconds 720 --previous-frame-clean --previous-frame-residual"
mkdir -p $OUT/rollout
"${env_args[@]}" /usr/bin/python3 tools/models/train.py $recipe --data-dir $D --seconds 4800 --out $OUT 2>&1 | tee -a $OUT/train.log
"${env_args[@]}" /usr/bin/python3 tools/models/train.py $recipe --lr 2e-4 --warmup 50 \
  --data-dir $D --init "$OUT/ckpt.pt" --rollout 0.5 --rollout-guidance 2 --rollout-commit last-step \
  --rollout-noise-carry 0.95 --seconds 720 --out "$OUT/rollout" 2>&1 | tee -a $OUT/train.log
mkdir -p /work/expr/model-res
/usr/bin/python3 tools/models/export.py --ckpt "$OUT/rollout/ckpt.pt" --outdir /work/expr/model-res --name drift-video --steps 3 --context-t 0.4 --guidance 3.0 --guidance-t-max 0.9 \
  --noise-carry 0.99 --noise-flow /work/exp3/out/video/flow.pt --sampler-commit last-step --commit trial 2>&1 | tail -3
echo "trial done $(date)"
