#!/bin/sh
# The public API is what drift/drift.h includes: every header under engine/include/drift/ (and
# common's error.h) must be listed there, and each must compile on its own, in C and C++.
# usage: public_headers_test.sh SOURCE_ROOT CC CXX
set -eu
root=$1 cc=$2 cxx=$3
umbrella=$root/engine/include/drift/drift.h
status=0
for h in "$root"/engine/include/drift/*.h "$root"/common/include/drift/*.h; do
    name=$(basename "$h")
    [ "$name" = drift.h ] && continue
    if ! grep -q "^#include <drift/$name>" "$umbrella"; then
        echo "FAIL: drift/drift.h does not include drift/$name"
        status=1
    fi
done
for h in "$root"/engine/include/drift/*.h; do
    name=drift/$(basename "$h")
    for compiler in "$cc -x c -std=c11" "$cxx -x c++"; do
        if ! printf '#include <%s>\n' "$name" |
            $compiler -fsyntax-only -Wall -Werror -I "$root/engine/include" \
                -I "$root/common/include" -; then
            echo "FAIL: <$name> does not compile alone ($compiler)"
            status=1
        fi
    done
done
[ $status -eq 0 ] && echo "ok: drift/drift.h lists every public header; each compiles alone"
exit $status
