# Sourced by the training scripts: sets env_args to run a command with OpenBLAS as its BLAS.
# Debian's default BLAS (netlib) runs PyTorch's fp32 products at ~3 GFLOP/s on our 2-core machines,
# OpenBLAS at ~60-120; without it installed system-wide, Debian's libopenblas0-pthread is fetched with
# apt-get download into out/blas and given to the training process alone (no system change).
env_args=(env)
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
  blas=$root/out/blas/usr/lib/x86_64-linux-gnu/openblas-pthread
  if [ ! -f "$blas/libblas.so.3" ]; then
    mkdir -p "$root/out/blas"
    (cd "$root/out/blas" && apt-get download libopenblas0-pthread >/dev/null && dpkg -x libopenblas0-pthread_*.deb .)
  fi
  env_args=(env "LD_LIBRARY_PATH=$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
