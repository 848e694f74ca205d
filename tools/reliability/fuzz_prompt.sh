#!/bin/sh
# The engine's prompt target (fuzz/fuzz_prompt.c), run like the daemon's: SECONDS (default 600)
# from its committed corpus into a scratch corpus, so that fuzz/corpus/prompt/ stays the lead's.
#   tools/reliability/fuzz_prompt.sh BUILD_DIR [SECONDS]
set -eu
build=${1:?usage: fuzz_prompt.sh BUILD_DIR [SECONDS]}
seconds=${2:-600}
root=$(cd "$(dirname "$0")/../.." && pwd)
logdir=${LOGDIR:-$root/out/reliability/fuzz}
scratch=$logdir/corpus-prompt
mkdir -p "$scratch" "$logdir/artifacts-prompt"
echo "$(date -u +%FT%TZ) start prompt ${seconds}s" >> "$logdir/runs.log"
rc=0
nice "$build/fuzz/fuzz-prompt" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix="$logdir/artifacts-prompt/" -print_final_stats=1 \
    "$scratch" "$root/fuzz/corpus/prompt" > "$logdir/prompt.log" 2>&1 || rc=$?
echo "$(date -u +%FT%TZ) end prompt rc=$rc" >> "$logdir/runs.log"
