#!/usr/bin/env bash
# The two set-up commands of README.md.
#   tools/dev.sh run   install what is missing, build (Release), stream the default model live
#   tools/dev.sh test  install, build the run command's Release and a test build with -Werror, run every
#                      test (the run command among them); then ASan+UBSan build, unit tests
# Idempotent; runs as root or through sudo (only apt-get needs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "${1:-}" in
  run)
    tools/install-deps.sh
    build build-release -DCMAKE_BUILD_TYPE=Release -DDRIFT_WERROR=ON
    exec tools/run-live.sh build-release
    ;;
  test)
    tools/install-deps.sh
    # The run command's own build (Release, -O3, warnings as errors): gcc warns at -O3 about things
    # it does not see at -O2, and the run_command test streams from this build.
    build build-release -DCMAKE_BUILD_TYPE=Release -DDRIFT_WERROR=ON
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDRIFT_WERROR=ON
    (cd build && ctest --output-on-failure -j "$jobs" --timeout 600)
    # Second pass: clang with ASan+UBSan, unit tests and the fuzz corpora replayed.
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DDRIFT_WERROR=ON -DDRIFT_SANITIZE=ON \
      -DDRIFT_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j "$jobs" -L 'unit|fuzz' --timeout 600)
    ;;
  *)
    echo "usage: tools/dev.sh run|test" >&2
    exit 2
    ;;
esac
