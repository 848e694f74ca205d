"""The audio level losses of train.py (--level-loss): chunk_level is half the log of a chunk's energy, so a
uniform offset of c nats on every bin moves it by c; chunk_loud_offset (--level-target loud-mean) is the mean
error over the real chunk's loud bins, so it reads the same c, ignores an error in a quiet bin, and reads
0 for a change of the loud bins' shape that keeps their mean, which the energy's level does not.
  /usr/bin/python3 tools/models/check_level_loss.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spectral  # noqa: E402
import train  # noqa: E402
from checks import expect, finish  # noqa: E402


def main():
    torch.manual_seed(3)
    bins = spectral.BINS
    stats = {"std": torch.rand(bins) * 0.5 + 0.5, "mean": torch.randn(bins) - 4}
    scale = spectral.SPREAD * stats["std"]
    x = torch.rand(2, 3, 8, bins) * 0.3 - 0.8          # a quiet floor
    for line in (10, 20):                                # two lines at -1 nats, far above the floor
        x[..., line] = (-1.0 - stats["mean"][line]) / scale[line]
    close = dict(atol=1e-5, rtol=0)

    expect(bool(torch.allclose(train.chunk_loud_offset(x, x, stats), torch.zeros(2, 3), **close)),
           "no error: the loud bins' offset is 0")
    c = 0.25
    shifted = x + c / scale
    expect(bool(torch.allclose(train.chunk_level(shifted, stats) - train.chunk_level(x, stats),
                               torch.full((2, 3), c), atol=1e-4, rtol=0)),
           f"a uniform offset of {c} nats moves the energy's level by {c}")
    expect(bool(torch.allclose(train.chunk_loud_offset(shifted, x, stats), torch.full((2, 3), c), **close)),
           f"and reads {c} as the loud bins' offset")

    lm = (x * scale + stats["mean"]).flatten(2)
    loud = lm >= lm.amax(-1, keepdim=True) - train.LOUD_NATS
    quiet_bin = int((~loud[0, 0]).nonzero()[0])   # a bin of chunk (0, 0) below the loud set
    y = x.clone().flatten(2)
    y[0, 0, quiet_bin] += 0.5
    off = train.chunk_loud_offset(y.view_as(x), x, stats)
    expect(bool(torch.allclose(off, torch.zeros(2, 3), **close)), "an error in a quiet bin is not a level error")

    y = x.clone()
    y[0, 0, :, 10] += 0.3 / scale[10]             # the loudest line up, the other one down as much
    y[0, 0, :, 20] -= 0.3 / scale[20]
    off = train.chunk_loud_offset(y, x, stats)
    moved = (train.chunk_level(y, stats) - train.chunk_level(x, stats))[0, 0]
    expect(abs(float(off[0, 0])) < 1e-5 and abs(float(moved)) > 0.02,
           f"a change of shape that keeps the loud bins' mean: offset {float(off[0, 0]):.6f}, energy's level "
           f"moved {float(moved):+.3f}")
    finish("level losses: ok")


if __name__ == "__main__":
    main()
