#!/usr/bin/python3
"""Golden outputs for the engine's transformer forward pass, independent of training: a tiny
DriftDiT (tools/models/model.py) with random weights streams 4 frames through a window of 2,
batch 2 (a prompt and the null prompt), each frame an evaluation at a noise level followed by a
commit pass of a clean frame at the context noise level. Writes tests/fixtures/dit/.
Deterministic: the same seed gives the same bytes."""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import model as M  # noqa: E402
import safetensors_io  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "tests", "fixtures", "dit")


def write_config(path, cfg, latent=None, sampler=None):
    """The engine's config format (tools/models/export.py, docs/MODELS.md), sampler defaults
    left out so that the engine's own defaults are used; `latent`: a latent video model's
    "latent" section; `sampler`: sampler keys to set (the rest left to the engine's defaults)."""
    arch = {k: cfg[k] for k in ("hidden", "depth", "heads", "mlp_ratio", "window", "patch", "tokens",
                                "in_dim", "text_dim", "vocab_size", "alibi_slopes")}
    if cfg.get("prediction", "v") != "v":
        arch["prediction"] = cfg["prediction"]
    if cfg.get("previous_frame_input"):
        arch["previous_frame_input"] = True
    if cfg.get("previous_frame_clean"):
        arch["previous_frame_clean"] = True
    if cfg.get("previous_frame_residual"):
        arch["previous_frame_residual"] = True
    if cfg.get("refiner"):
        arch["refiner"] = dict(cfg["refiner"])
    conf = {"format": "drift-model", "format_version": 1, "kind": cfg["kind"], "arch": arch,
            "vocab": ["w%d" % i for i in range(cfg["vocab_size"])]}
    if cfg["kind"] == "video":
        conf["video"] = {"width": cfg["width"], "height": cfg["height"], "channels": cfg["channels"],
                         "fps": cfg["fps"]}
        if cfg.get("latent_factor", 1) > 1:
            conf["latent"] = latent
    elif cfg["representation"] == "stft":
        import spectral
        conf["audio"] = {"sample_rate": cfg["sample_rate"], "chunk": cfg["chunk"], "channels": 1,
                         "representation": "stft", "n_fft": spectral.N_FFT, "floor": spectral.FLOOR,
                         "spread": spectral.SPREAD}
    else:
        conf["audio"] = {"sample_rate": cfg["sample_rate"], "chunk": cfg["chunk"], "channels": 1,
                         "scale": cfg["audio_scale"]}
    if sampler:
        conf["sampler"] = dict(sampler)
    with open(path, "w") as f:
        json.dump(conf, f, indent=1, sort_keys=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)
    cfg = M.video_config(12, width=32, height=32, patch=8, hidden=64, depth=2, heads=4, window=2,
                         text_dim=16)
    net = M.DriftDiT(cfg).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():  # zero-initialised layers get weights too
            if p.abs().sum() == 0:
                p.copy_(torch.randn_like(p) * 0.05)
    weights = {k: v for k, v in net.state_dict().items()}
    safetensors_io.save(os.path.join(OUT, "tiny.safetensors"), weights)
    write_config(os.path.join(OUT, "tiny.json"), cfg)

    g = torch.Generator().manual_seed(11)
    T, P = cfg["tokens"], cfg["in_dim"]
    ids = torch.tensor([[1, 3, 3]])
    with torch.no_grad():
        text = net.text_cond(ids, torch.tensor([3]))[0]
        null = net.text.null
        texts = torch.stack([text, null])
        cache = [[] for _ in range(cfg["depth"])]
        io = {"text": text, "null": null}
        for f in range(4):
            x = torch.randn(1, T, P, generator=g).expand(2, T, P).contiguous()
            t = torch.tensor([0.7 - 0.1 * f] * 2)
            v, _ = net.forward_frame(x, t, texts, cache)
            clean = torch.randn(1, T, P, generator=g).expand(2, T, P).contiguous() * 0.5
            t_ctx = torch.tensor([0.05, 0.05])
            _, kv = net.forward_frame(clean, t_ctx, texts, cache)
            for li in range(cfg["depth"]):
                cache[li] = (cache[li] + [kv[li]])[-cfg["window"]:]
            io.update({f"x{f}": x, f"t{f}": t, f"v{f}": v, f"clean{f}": clean, f"tctx{f}": t_ctx})
    safetensors_io.save(os.path.join(OUT, "tiny_io.safetensors"), io)

    # A tiny audio model of the same family: 256-sample chunks of 32-sample patches.
    torch.manual_seed(8)
    acfg = M.audio_config(12, chunk=256, patch=32, hidden=32, depth=1, heads=2, window=2,
                          text_dim=8, representation="pcm")
    anet = M.DriftDiT(acfg).eval()
    with torch.no_grad():
        for name, p in anet.named_parameters():
            if p.abs().sum() == 0:
                p.copy_(torch.randn_like(p) * 0.05)
    safetensors_io.save(os.path.join(OUT, "tiny-audio.safetensors"), anet.state_dict())
    write_config(os.path.join(OUT, "tiny-audio.json"), acfg)

    # A tiny spectral audio model: 512-sample chunks = 2 STFT frames of 513 magnitudes, with a
    # plausible per-bin normalisation (tools/models/spectral.py).
    import spectral
    torch.manual_seed(9)
    scfg = M.audio_config(12, chunk=512, hidden=32, depth=1, heads=2, window=2, text_dim=8,
                          representation="stft")
    snet = M.DriftDiT(scfg).eval()
    with torch.no_grad():
        for name, p in snet.named_parameters():
            if p.abs().sum() == 0:
                p.copy_(torch.randn_like(p) * 0.05)
    weights = dict(snet.state_dict())
    weights["spectral.mean"] = -7.0 + torch.linspace(2.0, -2.0, spectral.BINS)
    weights["spectral.std"] = torch.full((spectral.BINS,), 1.5)
    safetensors_io.save(os.path.join(OUT, "tiny-spectral.safetensors"), weights)
    write_config(os.path.join(OUT, "tiny-spectral.json"), scfg)

    latent_model()
    latent_model("tiny-latent-clean", clean=True)
    latent_model("tiny-latent-residual", clean=True, residual=True)


# The golden cases of the latent model: (name, prompt, negative prompt, seed, sampler, steps, guidance,
# shift, context_t, frames). tests/engine/test_latent_model.c runs the same settings.
LATENT_CASES = (("euler", "w1 w3", "", 5, "euler", 3, 1.0, 1.0, 0.05, 4),
                ("heun-cfg", "w2", "w7", 9, "heun", 2, 2.5, 2.0, 0.1, 3))


def latent_model(name="tiny-latent", clean=False, residual=False):
    """A tiny latent video model (docs/MODELS.md, latent): the transformer makes an 8x8 latent of
    4 channels in 2x2 patches (16 tokens of 16 values, x prediction, the frame before as an input, clip 0.5: the
    sampled latents reach past it, so the clamp matters), a refiner of 3 convolutions 13->6->6->4 on the
    8x8 grid (model.py: Refiner) or, `clean` ("tiny-latent-clean"), instead of the refiner the frame before
    input as that frame was made (arch.previous_frame_clean), and `residual` ("tiny-latent-residual") that frame
    added to the output (arch.previous_frame_residual); a random decoder
    (conv 3x3 4->8, up, conv 3x3 8->8, conv 1x1 8->12, pixel shuffle 2) makes 32x32 pixels.
    Goldens from the reference sampler (tools/models/reference.py: Stream, decode), per case the
    decoded frames [F, 32, 32, 3] and the latents [F, 8, 8, 4]; and the decoder alone on a random
    latent ("decoder.latent" -> "decoder.pixels")."""
    sys.path.insert(0, os.path.join(HERE, "..", "models"))
    import reference as R
    torch.manual_seed(12 if residual else 11 if clean else 10)
    cfg = M.video_config(12, width=32, height=32, patch=2, hidden=32, depth=2, heads=2, window=2,
                         text_dim=8, latent_factor=4, latent_channels=4, prediction="x", previous_frame_input=True,
                         **({"previous_frame_clean": True} if clean else {"refiner": {"channels": 6, "layers": 3}}),
                         **({"previous_frame_residual": True} if residual else {}))
    net = M.DriftDiT(cfg).eval()
    with torch.no_grad():
        for _, p in net.named_parameters():
            if p.abs().sum() == 0:
                p.copy_(torch.randn_like(p) * 0.05)
    weights = dict(net.state_dict())
    # Kernel sizes 3 and 1 (padding K/2); weights twice PyTorch's default scale, so that pixels
    # span about [-1, 1] and some fall outside (the byte conversion clamps them).
    for i, (o, c, k) in enumerate(((8, 4, 3), (8, 8, 3), (12, 8, 1))):
        conv = torch.nn.Conv2d(c, o, k)
        weights[f"decoder.{i}.weight"] = conv.weight.detach() * 2
        weights[f"decoder.{i}.bias"] = conv.bias.detach() * 2
    latent = {"factor": 4, "channels": 4, "layout": "HWC", "clip": 0.5,
              "decoder": {"layers": ["conv", "up", "conv", "conv"], "activation": "silu", "shuffle": 2}}
    safetensors_io.save(os.path.join(OUT, name + ".safetensors"), weights)
    # the clean model's window keeps the last step's input (t = 1/3 and more), far from the frame as made
    sampler_keys = {"commit": "last-step"} if clean else {}
    if residual:   # and its first step unguided: the heun-cfg case evaluates t = 1 without the null prompt
        sampler_keys["guidance_t_max"] = 0.75
    write_config(os.path.join(OUT, name + ".json"), cfg, latent, sampler_keys)

    net, conf = R.load(os.path.join(OUT, name + ".json"))
    conf["sampler"] = dict({"default": "euler", "steps": 3, "guidance": 1.0, "shift": 1.0, "context_t": 0.05},
                           **sampler_keys)
    R.tokenize = lambda prompt: [int(w[1:]) for w in prompt.split()]   # the fixture's words w0..w11
    golden = {}
    for case, prompt, neg, seed, sampler, steps, g, shift, tc, frames in LATENT_CASES:
        st = R.Stream(net, conf, prompt, seed, sampler, steps, g, shift, tc, neg)
        outs, lats = [], []
        for _ in range(frames):
            outs.append(st.next())
            lats.append(st.latent)
        golden[case + ".frames"] = torch.stack(outs)
        golden[case + ".latents"] = torch.stack(lats)
    z = torch.randn(8, 8, 4, generator=torch.Generator().manual_seed(12)) * 1.5
    golden["decoder.latent"] = z
    with torch.no_grad():
        golden["decoder.pixels"] = R.decode(conf, z)
    for k, v in sorted(golden.items()):
        print(f"{k}: {list(v.shape)} range [{v.min():.2f}, {v.max():.2f}] std {v.std():.3f}")
    safetensors_io.save(os.path.join(OUT, name + "_golden.safetensors"), golden)


if __name__ == "__main__":
    main()
