#!/bin/sh
# driftctl talks D-Bus and prints; it must not carry the engine's runtime: no oneDNN, no OpenMP
# (issue 16). Fails when the dynamic section of driftctl, or of a probe linked with driftctl's
# libraries and --no-as-needed (what the link asks for, before the linker drops unused ones),
# needs one of them, or when driftctl calls into one.
# usage: driftctl_links_test.sh PATH/TO/driftctl PATH/TO/probe
set -eu
command -v readelf >/dev/null || { echo "readelf missing"; exit 77; }
forbidden='libdnnl|libmkldnn|libgomp|libomp|libiomp'
status=0
for bin in "$@"; do
    [ -x "$bin" ] || { echo "FAIL: $bin: not built"; exit 1; }
    needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    echo "$bin needs:" $needed
    bad=$(echo "$needed" | grep -E "^($forbidden)" || true)
    if [ -n "$bad" ]; then
        echo "FAIL: $bin links" $bad
        status=1
    fi
    calls=$(readelf --dyn-syms -W "$bin" | awk '$7 == "UND" { print $8 }' |
            grep -E '^(dnnl_|GOMP_|omp_)' | head -5 || true)
    if [ -n "$calls" ]; then
        echo "FAIL: $bin calls" $calls
        status=1
    fi
done
[ $status -eq 0 ] && echo "ok: no oneDNN, no OpenMP"
exit $status
