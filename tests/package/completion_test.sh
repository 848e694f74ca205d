#!/usr/bin/env bash
# driftctl's bash completion (completion/driftctl.bash) with the built driftctl: commands and
# options, the keys of streams and of jobs, the values of keys with a fixed set (from `driftctl
# keys`), file names for paths. Stream names and job ids come from a running daemon: the clean
# root test completes them against the installed driftd.
#   completion_test.sh SOURCE BUILD
set -euo pipefail
src=$1 build=$2
[[ -x $build/daemon/driftctl ]] || { echo "driftctl not built; skipping"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
ln -s "$build/daemon/driftctl" "$tmp/bin/driftctl"
touch "$tmp/model-a.safetensors" "$tmp/model-b.safetensors"
failures=0

# complete LINE [WORDBREAKS]: what bash would offer with the cursor at the end of LINE.
complete() {
  (cd "$tmp" && PATH=$tmp/bin:$PATH bash -c '
    source "$1"
    [[ -n $2 ]] && COMP_WORDBREAKS=$2
    COMP_LINE=$3 COMP_POINT=${#3}
    read -r -a COMP_WORDS <<<"$3"; [[ $3 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _driftctl
    printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort' _ "$src/completion/driftctl.bash" "${2:-}" "$1")
}
expect() { # expect LINE EXPECTED [WORDBREAKS]
  local got
  got=$(complete "$1" "${3:-}" | tr '\n' ' ' | sed 's/ $//')
  if [[ $got == "$2" ]]; then
    echo "ok   '$1' -> $got"
  else
    echo "FAIL '$1' -> '$got', expected '$2'"
    failures=$((failures + 1))
  fi
}

expect "driftctl s" "set show start status stop streams"
expect "driftctl --json re" "reload remove render"
expect "driftctl --" "--help --json --socket --system --user --version"
expect "driftctl set live ca" "cache= cache_threshold="
expect "driftctl set live cache=kv+" "kv+fbcache kv+fora kv+step kv+teacache"
expect "driftctl set live cache=kv+s" "cache=kv+step" "\"'><;|&("
expect "driftctl create fire audio=" "false true"
expect "driftctl render --" "--at --local --spec"
expect "driftctl render fo" "format="
expect "driftctl render format=" "mkv mp4"
expect "driftctl set live se" "seed="
expect "driftctl set live model=model-" "model-a.safetensors model-b.safetensors"
expect "driftctl render --spec model-a" "model-a.safetensors"
expect "driftctl keys " ""
# A render is offered the table's job keys, set its stream keys (the scope column).
keys_of() {
    "$build/daemon/driftctl" keys | awk -F' [|] ' -v scope="$1" 'NR > 2 && $2 ~ scope { k = $1; sub(/^[|] `/, "", k); sub(/`$/, "", k); print k "=" }' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
expect "driftctl render " "$(keys_of job)"
expect "driftctl set live " "$(keys_of stream)"
complete "driftctl set live " | grep -x 'seconds=' > /dev/null && { echo "FAIL set offers seconds="; failures=$((failures + 1)); }
complete "driftctl render " | grep -x 'on_demand=' > /dev/null && { echo "FAIL render offers on_demand="; failures=$((failures + 1)); }
# With no daemon there are no names to offer, and completion says nothing on the terminal.
expect "driftctl --socket $tmp/none prompt " ""

((failures == 0)) || { echo "$failures failed"; exit 1; }
echo "completion: all cases passed"
