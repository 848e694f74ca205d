#!/usr/bin/python3
"""The PyTorch side of the peer benchmark (tools/peers/bench-peers.sh).

    torch_peer.py --model STEM --out DIR [--threads 2] [--seconds S] [--skip-onnx]

Loads STEM.safetensors + STEM.json into the reference DriftDiT (tools/models/model.py), builds one
set of inputs from a fixed seed (`window` clean past frames committed at the context noise level,
then one noisy frame x at t = 0.6, batch 1, the null prompt, no guidance), and writes them for the
other peers:
  DIR/inputs.safetensors   past (W,T,P), x (T,P), t, t_ctx, text (D), v_ref (T,P): PyTorch fp32's
                           velocity for x, the output every peer is checked against
  DIR/ort/*.bin + manifest.json   the same inputs as raw float32, with the window's keys/values
  DIR/model.onnx           the one-frame evaluation with past keys/values as inputs (ONNX Runtime)
Then times one evaluation (forward_frame against the full window) in fp32 and in bf16 autocast,
at batch 1 (the step column) and, when the model's default guidance needs it, batch 2 (frames/s).
Prints one JSON object per line on stdout."""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import model as M  # noqa: E402
import safetensors_io  # noqa: E402


def load(stem):
    with open(stem + ".json") as f:
        config = json.load(f)
    cfg = dict(config["arch"])
    # the kind and its section ("video": {width, ...}) may sit beside "arch" instead of inside it
    kind = cfg.setdefault("kind", config.get("kind"))
    for k, v in config.get(kind, {}).items():
        cfg.setdefault(k, v)
    # The frame before (arch.previous_frame_input) is embedded once per frame, before the steps (the
    # engine folds it into the position embedding: engine/src/dit.c), so it is not part of the step timed
    # here either.
    cfg["previous_frame_input"] = False
    net = M.DriftDiT(cfg).eval()
    weights, _ = safetensors_io.load(stem + ".safetensors")
    # spectral.mean/std (spectral audio models) belong to the synthesiser, decoder.* (latent video models)
    # to the decoder that runs once per frame after the steps, and noise_flow.* (the noise flow's head) to
    # the frame's starting noise: none is the network step timed here
    weights = {k: v.float() for k, v in weights.items()
               if not k.startswith(("spectral.", "decoder.", "prev_embed.", "noise_flow."))}
    net.load_state_dict(weights, strict=True)
    return net, config, cfg


def median_seconds(fn, seconds, min_runs=5):
    for _ in range(2):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), len(samples), min(samples)


def blas_in_use():
    """The BLAS library this process mapped for fp32 products (netlib reference or OpenBLAS)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line}
    real = sorted({os.path.realpath(p) for p in libs})
    names = [os.path.basename(p) for p in real]
    if any("openblas" in n for n in names):
        return "OpenBLAS (" + ", ".join(n for n in names if "openblas" in n) + ")"
    return "netlib reference BLAS" if any("libblas" in n for n in names) else "none found"


def rel_err(out, ref):
    """max |out - ref| / max |ref|: relative to the output's scale, not per element."""
    return float((out.float() - ref).abs().max() / ref.abs().max().clamp(min=1e-30))


class OneFrame(torch.nn.Module):
    """DriftDiT.forward_frame with the window's keys and values as two tensors
    (L, B, H, W*T, dh), oldest frame first, so that an exported graph takes them as inputs.
    Returns the velocity and this frame's keys and values (L, B, H, T, dh)."""

    def __init__(self, net, window):
        super().__init__()
        self.net, self.window = net, window
        self.scale = 1.0 / math.sqrt(net.cfg["hidden"] // net.cfg["heads"])
        T = net.cfg["tokens"]
        age = torch.tensor([float(window - j) for j in range(window + 1)]).repeat_interleave(T)
        self.register_buffer("ones", torch.ones(net.cfg["hidden"]))
        self.register_buffer("zeros", torch.zeros(net.cfg["hidden"]))
        self.register_buffer("bias", -net.slopes[:, None, None] * age[None, None, :])   # [H, 1, (W+1)T]

    def norm(self, h):
        # LayerNorm without affine, written with a unit scale: torch 1.13 exports a scale-less
        # LayerNormalization that the ONNX checker rejects.
        return F.layer_norm(h, self.ones.shape, self.ones, self.zeros, eps=M.LN_EPS)

    def forward(self, x, t, text, past_k, past_v):
        net = self.net
        D, T, H = net.cfg["hidden"], net.cfg["tokens"], net.cfg["heads"]
        c = net.cond(t, text)
        h = net.patch_embed(x) + net.pos_embed
        new_k, new_v = [], []
        for li, blk in enumerate(net.blocks):
            s1, sc1, g1, s2, sc2, g2 = [m[:, None] for m in blk.mods(c)]
            a = self.norm(h) * (1 + sc1) + s1
            q, k, v = blk.attn.qkv(a).reshape(-1, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
            new_k.append(k)
            new_v.append(v)
            ks = torch.cat([past_k[li], k], 2)
            vs = torch.cat([past_v[li], v], 2)
            s = q @ ks.transpose(-1, -2) * self.scale + self.bias
            o = (torch.softmax(s, -1) @ vs).transpose(1, 2).reshape(-1, T, D)
            h = h + g1 * blk.attn.proj(o)
            a = self.norm(h) * (1 + sc2) + s2
            h = h + g2 * blk.mlp.fc2(F.gelu(blk.mlp.fc1(a), approximate="tanh"))
        sh, sc = [m[:, None] for m in net.final.adaLN(c).chunk(2, -1)]
        out = net.final.linear(self.norm(h) * (1 + sc) + sh)
        # an x-predicting model's output is the clean frame; the step's result is the velocity
        return M.to_velocity(net.cfg, x, t, out), torch.stack(new_k), torch.stack(new_v)


def build_window(net, past, t_ctx, text):
    """Commits each clean past frame (batch 1) the way the engine does: an evaluation at the
    context noise level whose keys/values join the cache."""
    cache = [[] for _ in net.blocks]
    for j in range(past.shape[0]):
        _, kv = net.forward_frame(past[j:j + 1], t_ctx, text, cache)
        for li in range(len(cache)):
            cache[li].append(kv[li])
    return cache


def expand_cache(cache, B):
    return [[(k.expand(B, *k.shape[1:]), v.expand(B, *v.shape[1:])) for k, v in layer] for layer in cache]


def write_raw(dirname, name, tensor, manifest):
    t = tensor.detach().float().contiguous()
    t.numpy().tofile(os.path.join(dirname, name + ".bin"))
    manifest[name] = {"shape": list(t.shape), "file": name + ".bin"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--skip-onnx", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(os.path.join(a.out, "ort"), exist_ok=True)
    net, config, cfg = load(a.model)
    sampler = config.get("sampler", {})
    W, T, P, D = cfg["window"], cfg["tokens"], cfg["in_dim"], cfg["hidden"]
    steps, guidance = int(sampler.get("steps", 4)), float(sampler.get("guidance", 1.0))
    batch_fps = 1 if guidance == 1.0 else 2
    emit = lambda **kw: print(json.dumps(kw), flush=True)  # noqa: E731
    emit(kind="meta", model=cfg["kind"], flops=M.flops_per_eval(cfg, W), window=W, tokens=T, hidden=D,
         depth=cfg["depth"], steps=steps, guidance=guidance, batch_fps=batch_fps,
         torch=torch.__version__, params=M.count_params(net), note=config.get("note", ""),
         blas=blas_in_use())

    g = torch.Generator().manual_seed(2026)
    past = torch.randn(W, T, P, generator=g) * 0.5
    x = torch.randn(1, T, P, generator=g)
    t = torch.tensor([0.6])
    t_ctx = torch.tensor([float(sampler.get("context_t", 0.0))])
    with torch.inference_mode():
        text = net.text.null.detach()[None].clone()                      # the empty prompt
        cache = build_window(net, past, t_ctx, text)
        v_ref, _ = net.forward_frame(x, t, text, cache)
    safetensors_io.save(os.path.join(a.out, "inputs.safetensors"),
                        {"past": past, "x": x[0], "t": t, "t_ctx": t_ctx, "text": text[0], "v_ref": v_ref[0]})

    def timed(name, autocast, B):
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else torch.autocast("cpu", enabled=False)
        with torch.inference_mode(), ctx:
            c = build_window(net, past, t_ctx, text) if autocast else cache   # bf16 keys when autocast
            c = expand_cache(c, B)
            xb, tb, textb = x.expand(B, T, P), t.expand(B), text.expand(B, D)
            out = net.forward_frame(xb, tb, textb, c)[0]
            err = rel_err(out[0], v_ref[0])
            sec, runs, best = median_seconds(lambda: net.forward_frame(xb, tb, textb, c), a.seconds)
        return sec, runs, err, best

    for name, autocast in (("torch fp32", False), ("torch bf16", True)):
        sec, runs, err, best = timed(name, autocast, 1)
        sec_b = timed(name, autocast, batch_fps)[0] if batch_fps > 1 else sec
        # frames/s at the default setting: `steps` evaluations + the commit evaluation per frame
        emit(kind="peer", name=name, step_ms=sec * 1e3, best_ms=best * 1e3, runs=runs, err=err,
             fps=1.0 / ((steps + 1) * sec_b), batch_fps=batch_fps)

    if a.skip_onnx:
        return
    wrap = OneFrame(net, W).eval()
    with torch.inference_mode():
        pk = torch.stack([torch.cat([k for k, _ in layer], 2) for layer in cache])   # (L,1,H,W*T,dh)
        pv = torch.stack([torch.cat([v for _, v in layer], 2) for layer in cache])
        v_wrap = wrap(x, t, text, pk, pv)[0]
    wrap_err = rel_err(v_wrap[0], v_ref[0])
    emit(kind="check", name="onnx wrapper vs forward_frame", err=wrap_err)
    if wrap_err > 1e-4:   # a peer that computes something else must not be timed
        sys.exit(f"torch_peer: the ONNX wrapper differs from forward_frame by {wrap_err:.2e} (relative): "
                 f"it no longer computes the model's step (arch {sorted(cfg)})")
    onnx_path = os.path.join(a.out, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(wrap, (x, t, text, pk, pv), onnx_path, opset_version=17,
                          input_names=["x", "t", "text", "past_k", "past_v"],
                          output_names=["v", "new_k", "new_v"],
                          dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "text": {0: "batch"},
                                        "past_k": {1: "batch"}, "past_v": {1: "batch"},
                                        "v": {0: "batch"}, "new_k": {1: "batch"}, "new_v": {1: "batch"}})
    manifest = {"onnx": "model.onnx", "inputs": {}, "batch_fps": batch_fps, "steps": steps}
    ort = os.path.join(a.out, "ort")
    for name, tensor in (("x", x), ("t", t), ("text", text), ("past_k", pk), ("past_v", pv)):
        write_raw(ort, name, tensor, manifest["inputs"])
    ref = {}
    write_raw(ort, "v_ref", v_ref, ref)
    manifest["v_ref"] = ref["v_ref"]
    with open(os.path.join(ort, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    emit(kind="onnx", path=onnx_path, bytes=os.path.getsize(onnx_path))


if __name__ == "__main__":
    main()
