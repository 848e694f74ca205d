#!/bin/bash
# drift against PyTorch and ONNX Runtime on the same model, the same inputs, the same machine, in
# the same run (issue 8). One table per model: time per denoising step with the KV-cache window
# full, frames/s at the model's default setting, speed-up against the fastest peer, % of the limit
# (FLOPs / raw oneDNN bf16 matmul peak), the goals, and where drift's time goes when one is missed.
#
#   tools/peers/bench-peers.sh [--model PATH]... [--quick] [--seconds S] [--build DIR] [--out DIR]
#                              [--sizes "64 96 ..."] [--rounds N] [--docs]
#
#   --model PATH   a model stem (PATH.safetensors + PATH.json); repeatable. Default: models/drift-video
#                  and models/drift-audio, or random-weight models of the same architecture
#                  (tools/peers/make_random_model.py) where those do not exist yet.
#   --quick        0.5 s per measurement instead of 2 s.
#   --build DIR    the CMake build folder (default build; configured and built when needed).
#   --out DIR      where results go (default DIR/peers under the build folder).
#   --sizes LIST   frame sizes of the frames/s-against-resolution plot (random-weight video models
#                  of the default architecture; default "64 96 128 192 256"; "" skips it).
#   --rounds N     measure every engine N times, round after round (default 2; 1 with --quick);
#                  the table shows each engine's least disturbed round.
#   --docs         also copy the plots to docs/perf-*.png and put the tables into docs/PERFORMANCE.md.
#
# Needs: /usr/bin/python3 with torch (Debian python3-torch) and matplotlib, node + npm (installs
# onnxruntime-node into tools/peers/node_modules with --ignore-scripts), cmake and a C compiler.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
threads=2
seconds=2
build=build
out=
docs=0
models=()
sizes="64 96 128 192 256"
rounds=
ort_version=1.30.0

command_line="tools/peers/bench-peers.sh $*"
usage() { sed -n '6,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --model) models+=("$2"); shift 2 ;;
        --quick) seconds=0.5; shift ;;
        --seconds) seconds=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --docs) docs=1; shift ;;
        -h|--help) usage ;;
        *) echo "bench-peers: unknown argument '$1'" >&2; usage ;;
    esac
done
cd "$root"
out=${out:-$build/peers}
[ -n "$rounds" ] || { [ "$seconds" = 0.5 ] && rounds=1 || rounds=2; }
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "bench-peers: --rounds must be 1..99" >&2; exit 2; }
log() { echo "bench-peers: $*" >&2; }

# ---- what it needs --------------------------------------------------------------------------
"$py" -c 'import torch, matplotlib' 2>/dev/null ||
    { log "needs /usr/bin/python3 with torch and matplotlib (apt install python3-torch python3-matplotlib)"; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null ||
    { log "needs node and npm (apt install nodejs npm)"; exit 1; }
if [ "$(node -p "try { require('$here/node_modules/onnxruntime-node/package.json').version } catch (e) { '' }")" != "$ort_version" ]; then
    log "installing onnxruntime-node@$ort_version into tools/peers/node_modules"
    (cd "$here" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

# Debian's torch does fp32 products through libblas.so.3, which is netlib's reference BLAS unless
# OpenBLAS is installed. A PyTorch user would have OpenBLAS: unpack Debian's (apt-get download, no
# system change) and give it to the PyTorch peer alone through LD_LIBRARY_PATH.
torch_env=()
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
    blas_dir=$root/$build/peers-deps/usr/lib/x86_64-linux-gnu/openblas-pthread
    if [ ! -f "$blas_dir/libblas.so.3" ]; then
        log "fetching Debian's libopenblas0-pthread for the PyTorch fp32 peer"
        mkdir -p "$build/peers-deps"
        (cd "$build/peers-deps" && apt-get download libopenblas0-pthread >/dev/null 2>&1 &&
            dpkg -x libopenblas0-pthread_*.deb .) || log "could not fetch OpenBLAS: PyTorch fp32 keeps the system BLAS"
    fi
    [ -f "$blas_dir/libblas.so.3" ] && torch_env=(env "LD_LIBRARY_PATH=$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi

# ---- drift ----------------------------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
    log "configuring $build"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
log "building drift-bench in $build"
cmake --build "$build" --target drift-bench -j "$(nproc)" >&2
peers=("$build/bench/drift-bench" peers)

# ---- the models -----------------------------------------------------------------------------
mkdir -p "$out"
if [ ${#models[@]} -eq 0 ]; then
    for kind in video audio; do
        if [ -f "models/drift-$kind.safetensors" ] && [ -f "models/drift-$kind.json" ]; then
            models+=("models/drift-$kind")
        else
            log "models/drift-$kind not found: using a random-weight model of the same architecture"
            "$py" "$here/make_random_model.py" "$kind" "$out/random/drift-$kind"
            models+=("$out/random/drift-$kind")
        fi
    done
fi

# ---- the run --------------------------------------------------------------------------------
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
load() { cut -d' ' -f1-3 /proc/loadavg; }
started=$(date -u '+%Y-%m-%d %H:%M'); load_before=$(load)
order=() names=()
for m in "${models[@]}"; do
    stem=${m%.safetensors}; stem=${stem%.json}
    name=$(basename "$stem")
    rm -rf "${out:?}/$name"; mkdir -p "$out/$name"
    order+=("\"$name\""); names+=("\"$name\": \"$stem\"")
done
# Rounds: every engine is measured once per round, the rounds one after the other, so that a
# disturbance (other work, the host) that comes and goes hits all of them alike; the table takes
# each engine's least disturbed round (report.py).
for round in $(seq 1 "$rounds"); do
    for m in "${models[@]}"; do
        stem=${m%.safetensors}; stem=${stem%.json}
        name=$(basename "$stem")
        dir="$out/$name"
        log "$name, round $round/$rounds: PyTorch (fp32, bf16 autocast)$([ "$round" = 1 ] && echo ' and the ONNX export')"
        export_args=()
        [ "$round" = 1 ] || export_args=(--skip-onnx)
        "${torch_env[@]}" "$py" "$here/torch_peer.py" --model "$stem" --out "$dir" --threads "$threads" \
            --seconds "$seconds" "${export_args[@]}" >> "$dir/torch.jsonl" 2>> "$dir/torch.log" ||
            { log "torch_peer failed: see $dir/torch.log"; tail -5 "$dir/torch.log" >&2; }
        if [ -f "$dir/ort/manifest.json" ]; then
            log "$name, round $round/$rounds: ONNX Runtime"
            node "$here/ort_peer.js" "$dir" --threads "$threads" --seconds "$seconds" \
                >> "$dir/ort.jsonl" 2>> "$dir/ort.log" || { log "ort_peer failed: see $dir/ort.log"; tail -5 "$dir/ort.log" >&2; }
        fi
        log "$name, round $round/$rounds: drift (bf16, f32, int8$([ "$round" = 1 ] && echo ', and the sweep for the plot'))"
        inputs=() sweep=()
        [ -f "$dir/inputs.safetensors" ] && inputs=(--inputs "$dir/inputs.safetensors")
        [ "$round" = 1 ] && sweep=(--sweep)
        "${peers[@]}" --model "$stem" "${inputs[@]}" --seconds "$seconds" "${sweep[@]}" >> "$dir/drift.txt" ||
            { log "drift-bench peers failed for $name"; }
    done
done
rm -f "$out/resolution.txt"
for size in $sizes; do
    stem=$out/random/video-$size
    [ -f "$stem.safetensors" ] || "$py" "$here/make_random_model.py" video "$stem" "$size"
    log "frames/s at ${size}x$size (random weights)"
    "${peers[@]}" --model "$stem" --seconds "$seconds" --fps-only >> "$out/resolution.txt" ||
        log "drift-bench peers --fps-only failed at $size"
done
finished=$(date -u '+%H:%M'); load_after=$(load)
busy=$(awk -v l="${load_before%% *}" 'BEGIN { print (l > 0.7) ? "true" : "false" }')
isa=$(sed -n 's/.*ISA \([^,]*\),.*/\1/p' "$out"/*/drift.txt 2>/dev/null | head -1)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
old_ifs=$IFS; IFS=,
cat > "$out/run.json" <<EOF
{"command": "$command_line", "started": "$started", "finished": "$finished", "load_before": "$load_before", "load_after": "$load_after",
 "busy": $busy, "rounds": $rounds, "isa": "$isa", "cpu": "$cpu", "cores": $(nproc), "order": [${order[*]}], "models": {${names[*]}}}
EOF
IFS=$old_ifs

docs_args=()
[ "$docs" = 1 ] && docs_args=(--docs docs)
"$py" "$here/report.py" "$out" "${docs_args[@]}"
