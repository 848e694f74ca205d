#!/usr/bin/env bash
# drift-gen end to end on the tiny fixture model: PNG frames that decode to the model's size,
# the same bytes for the same seed, and clear non-zero exits for bad input.
set -euo pipefail
gen=$1 model=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 4 --out "$out/a" 2>/dev/null
"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 4 --sampler dpmpp-2m --out "$out/b" 2>/dev/null
"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 4 --out "$out/c" 2>/dev/null
[ "$(ls "$out/a" | wc -l)" -eq 4 ] || { echo "expected 4 frames"; exit 1; }
file "$out/a/frame-000003.png" | grep -q "PNG image data, 32 x 32, 8-bit/color RGB" \
  || { echo "frame is not a 32x32 RGB PNG: $(file "$out/a/frame-000003.png")"; exit 1; }
cmp -s "$out/a/frame-000003.png" "$out/c/frame-000003.png" || { echo "same seed, different bytes"; exit 1; }
! cmp -s "$out/a/frame-000003.png" "$out/b/frame-000003.png" || { echo "samplers gave identical frames"; exit 1; }

# --then FRAME:PROMPT: the frames before FRAME are those of the unchanged run, the prompt takes over
# from FRAME on, a second change acts only from its own frame, and the same changes give the same bytes.
"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 6 --out "$out/p" 2>/dev/null
"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 6 --then "2:w3 w4" --out "$out/t" 2>/dev/null
"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 6 --then "2:w3 w4" --then "4:w1 w2" \
  --out "$out/u" 2>/dev/null
"$gen" --model "$model" --prompt "w1 w2" --seed 5 --frames 6 --then "2:w3 w4" --out "$out/v" 2>/dev/null
same() { cmp -s "$out/$1/frame-00000$3.png" "$out/$2/frame-00000$3.png"; }
for i in 0 1; do same p t $i || { echo "--then 2: frame $i changed"; exit 1; }; done
for i in 2 3 4 5; do ! same p t $i || { echo "--then 2: frame $i is the old prompt's"; exit 1; }; done
for i in 0 1 2 3; do same t u $i || { echo "second --then at 4: frame $i changed"; exit 1; }; done
for i in 4 5; do ! same t u $i || { echo "second --then at 4: frame $i unchanged"; exit 1; }; done
for i in 0 1 2 3 4 5; do same t v $i || { echo "--then: same arguments, frame $i differs"; exit 1; }; done

expect_failure() { # expect_failure NEEDLE ARGS...
  local needle=$1; shift
  local msg rc=0
  msg=$("$gen" "$@" 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || { echo "expected failure for: $*"; exit 1; }
  grep -q -- "$needle" <<<"$msg" || { echo "message '$msg' lacks '$needle'"; exit 1; }
}
expect_failure "unknown word 'dragon'" --model "$model" --prompt "dragon" --out "$out/x"
expect_failure "/nonexistent.safetensors" --model /nonexistent --out "$out/x"
expect_failure "--steps '99'" --model "$model" --steps 99 --out "$out/x"
expect_failure "--cache 'fast'" --model "$model" --cache fast --out "$out/x"
expect_failure "--threshold '10.5'" --model "$model" --threshold 10.5 --out "$out/x"
expect_failure "--seed '-1'" --model "$model" --seed -1 --out "$out/x"
expect_failure "--then 'w1'" --model "$model" --then w1 --out "$out/x"
expect_failure "--then '-1:w1'" --model "$model" --then -1:w1 --out "$out/x"
expect_failure "unknown word 'dragon'" --model "$model" --frames 4 --then "1:w1 dragon" --out "$out/x"
expect_failure "the run has only 4 frames" --model "$model" --frames 4 --then 4:w1 --out "$out/x"
[ ! -e "$out/x" ] || { echo "a refused run created its output folder"; exit 1; }
"$gen" --model "$model" --seed 18446744073709551615 --cache kv+step --threshold 10 --frames 1 \
  --out "$out/d" 2>/dev/null || { echo "the largest seed, kv+step, threshold 10 refused"; exit 1; }
expect_failure "required" --model "$model"
echo "drift-gen: ok"
