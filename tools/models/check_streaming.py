"""The streaming forward (one frame against a rolling KV cache, what the engine runs) equals the training
forward (a clip under the block-causal window mask), for clips longer than the window, with the clip's
attention computed either way (the masked score matrix, or frame by frame: model.FRAMEWISE_MIN_TOKENS), and
with the frame before input given as made (previous_frame_clean).
  /usr/bin/python3 tools/models/check_streaming.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def check(name, cfg):
    net = M.DriftDiT(cfg)
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    B, L = 2, 8
    x = torch.randn(B, L, cfg["tokens"], cfg["in_dim"])
    t = torch.rand(B, L)
    text = net.text_cond(torch.tensor([[1, 2], [0, 0]]), torch.tensor([2, 0]))
    # the frame before as made (previous_frame_clean): given to the clip forward, zeros for the first frame
    made = torch.randn(B, L, cfg["tokens"], cfg["in_dim"]) if cfg.get("previous_frame_clean") else None
    prev = None if made is None else M.frames_before(made)
    with torch.no_grad():
        M.FRAMEWISE_MIN_TOKENS = 10 ** 9
        full = net(x, t, text, prev)
        M.FRAMEWISE_MIN_TOKENS = 1
        framewise = net(x, t, text, prev)
        cache, outs = [[] for _ in net.blocks], []
        for f in range(L):
            # the frame before as the clip forward gives it: the clip's frame f-1 at its own noise, or as made
            before = None if not f else x[:, f - 1] if made is None else made[:, f - 1]
            o, kv = net.forward_frame(x[:, f], t[:, f], text, cache, before)
            outs.append(o)
            for li, c in enumerate(cache):
                c.append(kv[li])
                if len(c) > cfg["window"]:
                    c.pop(0)
    err = (torch.stack(outs, 1) - full).abs().max().item()
    err_fw = (framewise - full).abs().max().item()
    print(f"{name}: streaming vs clip forward: max abs difference {err:.3g} over {L} frames, window {cfg['window']}; "
          f"the clip's attention frame by frame vs masked: {err_fw:.3g}")
    return err < 1e-4 and err_fw < 1e-4


def main():
    torch.manual_seed(0)
    ok = check("audio, pcm", M.audio_config(10, chunk=64, patch=16, hidden=32, depth=2, heads=2, window=3,
                                            text_dim=8, representation="pcm"))
    # x prediction, the frame before as an input and the refiner: every per-frame input the clip forward
    # builds from its neighbours must be what the streaming forward is given
    ok &= check("latent video, frame before, refiner",
                M.video_config(10, width=32, height=32, patch=2, hidden=32, depth=2, heads=2, window=3,
                               text_dim=8, latent_factor=4, latent_channels=4, prediction="x",
                               previous_frame_input=True, refiner={"channels": 6, "layers": 3}))
    ok &= check("latent video, frame before as made",
                M.video_config(10, width=32, height=32, patch=2, hidden=32, depth=2, heads=2, window=3,
                               text_dim=8, latent_factor=4, latent_channels=4, prediction="x",
                               previous_frame_input=True, previous_frame_clean=True))
    ok &= check("latent video, the clean frame as the frame before plus the output",
                M.video_config(10, width=32, height=32, patch=2, hidden=32, depth=2, heads=2, window=3,
                               text_dim=8, latent_factor=4, latent_channels=4, prediction="x",
                               previous_frame_input=True, previous_frame_clean=True,
                               previous_frame_residual=True))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
