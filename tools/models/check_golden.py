"""Regenerates one golden case with the reference into a temporary directory and compares it with the
committed fixture in tests/fixtures/models/. Exit 0 = the reference still produces the fixture.

  /usr/bin/python3 tools/models/check_golden.py audio-euler

Noise files are pure arithmetic on integers and doubles (tools/models/noise.py): they must match bit for
bit. Everything that passes through PyTorch's products (text conditioning, traces, frames) may differ
in the last bits from one machine to another: the BLAS under PyTorch (netlib, OpenBLAS, MKL) sums in
its own order. Those files must match within a relative RMS error of 1e-4 (80 dB) and a largest
difference of 1e-3 in model space ([-1, 1]). Why that is enough: the fixtures are the C engine's parity
target at 40 dB (fp32) and 30 dB (bf16), two to four orders of magnitude looser in amplitude, and 1e-3
is 1/8 of one 8-bit pixel step (2/255); any change to the model, the sampler or the noise moves the
output by far more (a different seed or one sampler step changes it by ~1e-1). Measured between
netlib BLAS and OpenBLAS on one machine (video-heun): largest difference 3.2e-6, relative RMS 2.1e-6,
a 30x margin on each limit (this script prints both figures for every file).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
fixtures = os.path.join(root, "tests", "fixtures", "models")
MAX_REL_RMS = 1e-4
MAX_ABS = 1e-3


def files_of(entry):
    out = []
    for v in entry.values():
        if isinstance(v, dict):
            if "file" in v:
                out.append(v["file"])
            out += files_of(v)
    return out


def compare(name, want, got):
    """-> None when close enough, else a sentence saying how far apart."""
    if "noise" in name:
        return None if want == got else "noise differs (it must be bit-exact)"
    a = np.frombuffer(want, dtype="<f4").astype(np.float64)
    b = np.frombuffer(got, dtype="<f4").astype(np.float64)
    if a.shape != b.shape:
        return f"{a.size} values committed, {b.size} regenerated"
    if not np.all(np.isfinite(b)):
        return "regenerated values are not finite"
    diff = np.abs(a - b)
    rel = np.sqrt(np.mean(diff ** 2)) / max(np.sqrt(np.mean(a ** 2)), 1e-12)
    worst = float(diff.max()) if diff.size else 0.0
    print(f"  {name}: largest difference {worst:.2e}, relative RMS {rel:.2e}")
    if rel > MAX_REL_RMS or worst > MAX_ABS:
        return f"largest difference {worst:.2e} (limit {MAX_ABS:.0e}), relative RMS {rel:.2e} (limit {MAX_REL_RMS:.0e})"
    return None


def main():
    case = sys.argv[1]
    index = json.load(open(os.path.join(fixtures, "index.json")))
    want = files_of(index["cases"][case])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(root, "tools", "models", "reference.py"), "golden",
                        "--out", tmp, "--case", case], check=True)
        bad = []
        for f in want:
            why = compare(f, open(os.path.join(fixtures, f), "rb").read(), open(os.path.join(tmp, f), "rb").read())
            if why:
                bad.append(f"{f}: {why}")
        if bad:
            print(f"{case}: the reference no longer produces the committed fixture:\n  " + "\n  ".join(bad))
            sys.exit(1)
    print(f"{case}: {len(want)} files match the committed fixture")


if __name__ == "__main__":
    main()
