"""train.py --previous-frame-noise: the frames-before input of half the clips gets N(0, s^2), s ~ U(0, s_max) one
per clip; the first frame's input (zeros: it has no frame before) stays zero; the others are untouched; and the
option is refused without --previous-frame-clean or outside (0, 1].
  /usr/bin/python3 tools/models/check_previous_frame_noise.py
"""
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import train  # noqa: E402
from checks import expect, finish  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.manual_seed(5)
    clips, s_max = 4000, 0.4
    x0 = torch.randn(clips, 6, 64, 8)
    prev = M.frames_before(x0)
    got = train.noised_frames_before(prev, s_max)
    added = got - prev
    expect(bool((got[:, 0] == 0).all()), "the first frame's input stays zero")
    per_clip = added[:, 1:].flatten(1)
    clean = (per_clip == 0).all(1)
    share = clean.float().mean().item()
    expect(0.46 < share < 0.54, f"about half of the clips are left clean ({share:.3f})")
    s = per_clip[~clean].std(1)
    expect(bool((s < s_max * 1.05).all()), f"no clip's noise above s_max ({s.max().item():.3f})")
    expect(abs(s.mean().item() - s_max / 2) < 0.02, f"s spread over 0..s_max: mean {s.mean().item():.3f}")
    # one s per clip: its frames' spreads agree (5 x 512 values each)
    frames = added[~clean][:, 1:].flatten(2).std(2)
    rel = (frames.max(1).values / frames.min(1).values.clamp(min=1e-9))[s > 0.05]
    expect(bool((rel < 1.35).all()), f"one noise level per clip (its frames' spreads within {rel.max().item():.2f}x)")
    expect(bool(torch.equal(prev, M.frames_before(x0))), "the input tensor is not changed in place")

    for args, what in ((["--previous-frame-noise", "0.3"], "without --previous-frame-clean"),
                       (["--previous-frame", "--previous-frame-clean", "--previous-frame-noise", "1.5"], "above 1"),
                       (["--previous-frame", "--previous-frame-clean", "--previous-frame-noise", "-0.1"], "below 0")):
        r = subprocess.run([sys.executable, os.path.join(HERE, "train.py"), "--model", "video", "--out", "/nonexistent/x"]
                           + args, capture_output=True, text=True)
        expect(r.returncode == 2 and "--previous-frame-noise" in r.stderr, f"refused {what}: {r.stderr.strip().splitlines()[-1]}")
    finish("previous-frame noise: ok")


if __name__ == "__main__":
    main()
