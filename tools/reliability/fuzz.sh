#!/bin/sh
# Runs the daemon's libFuzzer targets one after another, each for SECONDS (default 600), growing
# their corpora in fuzz/corpus/daemon_<target>/, and logs to LOGDIR (default out/reliability/fuzz).
# Build first (clang):
#   cmake -S . -B /tmp/rel-asan -DDRIFT_SANITIZE=ON -DDRIFT_FUZZ=ON -DCMAKE_C_COMPILER=clang \
#         -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug
#   cmake --build /tmp/rel-asan -j2 --target fuzz-daemon_config fuzz-daemon_spec \
#         fuzz-daemon_settings fuzz-daemon_job_file
# Then, in the background:
#   nohup tools/reliability/fuzz.sh /tmp/rel-asan 600 config spec settings job_file &
# FUZZ_FLAGS adds libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to go on after a finding.
# Afterwards minimise a grown corpus with tools/reliability/fuzz-merge.sh.
set -eu
build=${1:?usage: fuzz.sh BUILD_DIR [SECONDS] [TARGET...]}
seconds=${2:-600}
shift; [ $# -gt 0 ] && shift
targets=${*:-config spec settings job_file}
root=$(cd "$(dirname "$0")/../.." && pwd)
logdir=${LOGDIR:-$root/out/reliability/fuzz}
mkdir -p "$logdir"
for t in $targets; do
    bin=$build/fuzz/fuzz-daemon_$t
    corpus=$root/fuzz/corpus/daemon_$t
    art=$logdir/artifacts-$t/
    mkdir -p "$art"
    echo "$(date -u +%FT%TZ) start $t ${seconds}s" >> "$logdir/runs.log"
    rc=0
    # shellcheck disable=SC2086
    nice "$bin" ${FUZZ_FLAGS:-} -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -dict="$root/tools/reliability/daemon.dict" -artifact_prefix="$art" -print_final_stats=1 \
        "$corpus" > "$logdir/$t.log" 2>&1 || rc=$?
    echo "$(date -u +%FT%TZ) end $t rc=$rc" >> "$logdir/runs.log"
done
