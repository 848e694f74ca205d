#!/usr/bin/env bash
# scratch trial: the residual model's first stage (out/res/ckpt.pt), then the shipped rollout stage with a
# real prefix of 1..4 frames per clip, so the real frame the loss asks for follows from the frames rolled out
set -euo pipefail
root=/work/main; cd $root
. tools/models/openblas.sh
D=/work/expv/out
IN=/work/expr/out/res
OUT=/work/expr/out/res/rollout-real
mkdir -p $OUT
recipe="--model video --hidden 192 --depth 6 \
  --batch 8 --clip 6 --lr 6e-4 --warmup 200 --ema 0.995 --p-ctx 0.3 --p-ln 0.3 --p-one 0.2 \
  --loss-t-min 0.4 --previous-frame --pos-init sincos --ae-seconds 720 --previous-frame-clean --previous-frame-residual"
"${env_args[@]}" /usr/bin/python3 tools/models/train.py $recipe --lr 2e-4 --warmup 50 \
  --data-dir $D --init "$IN/ckpt.pt" --rollout 0.5 --rollout-guidance 2 --rollout-commit last-step \
  --rollout-noise-carry 0.95 --rollout-real-min ${RMIN:-1} --rollout-real-max ${RMAX:-4} --rollout-real-per-clip \
  --seconds ${SECS:-720} --out "$OUT" 2>&1 | tee -a $OUT/train.log
M=/work/expr/model-res-real
mkdir -p $M
/usr/bin/python3 tools/models/export.py --ckpt "$OUT/ckpt.pt" --outdir $M --name drift-video --steps 3 --context-t 0.4 --guidance 3.0 --guidance-t-max 0.9 \
  --noise-carry 0.99 --noise-flow /work/exp3/out/video/flow.pt --sampler-commit last-step --commit trial 2>&1 | tail -3
ls $M
echo "trial done $(date)"
