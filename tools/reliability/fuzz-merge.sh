#!/bin/sh
# Minimises the grown corpora of the daemon's fuzz targets: the hand-written seeds (names that are
# not SHA-1s) stay, and of the inputs libFuzzer added only those that add coverage over the seeds
# are kept (-merge=1).
#   tools/reliability/fuzz-merge.sh BUILD_DIR [TARGET...]
set -eu
build=${1:?usage: fuzz-merge.sh BUILD_DIR [TARGET...]}
shift
targets=${*:-config spec settings job_file}
root=$(cd "$(dirname "$0")/../.." && pwd)
for t in $targets; do
    corpus=$root/fuzz/corpus/daemon_$t
    tmp=$(mktemp -d)
    mkdir "$tmp/keep" "$tmp/grown"
    for f in "$corpus"/*; do
        case $(basename "$f") in
            ????????????????????????????????????????) mv "$f" "$tmp/grown/" ;;
            *) cp "$f" "$tmp/keep/" ;;
        esac
    done
    "$build/fuzz/fuzz-daemon_$t" -merge=1 "$tmp/keep" "$tmp/grown" > "$tmp/merge.log" 2>&1 || {
        cat "$tmp/merge.log"; exit 1; }
    for f in "$tmp/keep"/*; do
        [ -e "$corpus/$(basename "$f")" ] || cp "$f" "$corpus/"
    done
    echo "$t: $(ls "$tmp/grown" | wc -l) grown -> $(ls "$corpus" | wc -l) files ($(du -sh "$corpus" | cut -f1))"
    rm -rf "$tmp"
done
