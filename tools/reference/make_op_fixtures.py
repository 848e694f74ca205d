#!/usr/bin/python3
"""Writes the golden tensors the engine's op tests compare against (tests/fixtures/ops/).

Each case is one safetensors file holding the inputs and the expected output `y`, computed by
PyTorch in float64 and stored as f32. Deterministic: the same seed gives the same bytes.
Run: /usr/bin/python3 tools/reference/make_op_fixtures.py [OUT_DIR]"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import safetensors_io  # noqa: E402  (tools/models: the project's one writer)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "fixtures", "ops")


def rand(gen, *shape, scale=1.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale)


def save(name, **tensors):
    safetensors_io.save(os.path.join(OUT, name + ".safetensors"),
                        {k: v.float() for k, v in tensors.items()})


def attention_ref(q, k, v, heads, mask=None, bias=None):
    """q (B,Lq,H*D), k/v (B,Lk,H*D); mask (Lq,Lk) bool visible; bias (H,Lq,Lk)."""
    B, Lq, C = q.shape
    D = C // heads
    qh = q.view(B, Lq, heads, D).transpose(1, 2)
    kh = k.view(B, -1, heads, D).transpose(1, 2)
    vh = v.view(B, -1, heads, D).transpose(1, 2)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(D)
    if bias is not None:
        s = s + bias.unsqueeze(0)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return (s.softmax(-1) @ vh).transpose(1, 2).reshape(B, Lq, C)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261126)

    # linear at a model shape (256 tokens, 256 -> 1024 with GELU) and small odd shapes
    for act, fn in (("none", lambda t: t), ("gelu", lambda t: F.gelu(t, approximate="tanh")),
                    ("silu", F.silu)):
        x, w, b = rand(g, 2, 128, 256), rand(g, 384, 256, scale=0.06), rand(g, 384, scale=0.1)
        save("linear_" + act, x=x, w=w, b=b, y=fn(x @ w.T + b))
    x, w, b, y0 = rand(g, 7, 33), rand(g, 19, 33, scale=0.2), rand(g, 19), rand(g, 7, 19)
    save("linear_accumulate", x=x, w=w, b=b, y0=y0, y=y0 + x @ w.T + b)

    a, bt = rand(g, 6, 64, 48), rand(g, 6, 80, 48)
    save("matmul_bt", a=a, bt=bt, y=0.5 * a @ bt.transpose(-1, -2))

    x = rand(g, 3, 40, 300, scale=3.0)
    save("softmax", x=x, y=x.softmax(-1))

    x, gamma, beta = rand(g, 2, 50, 96, scale=2.0) + 0.5, rand(g, 96), rand(g, 96)
    save("layer_norm_affine", x=x, gamma=gamma, beta=beta,
         y=F.layer_norm(x, (96,), gamma, beta, eps=1e-6))
    save("layer_norm_plain", x=x, y=F.layer_norm(x, (96,), eps=1e-6))

    a, row = rand(g, 2, 30, 64), rand(g, 64)
    save("binary_add", a=a, b=row, y=a + row)
    b2 = rand(g, 2, 1, 64)
    save("binary_mul", a=a, b=b2, y=a * b2)

    x, shift, scale, gate, r = (rand(g, 2, 50, 96), rand(g, 2, 96, scale=0.3),
                                rand(g, 2, 96, scale=0.3), rand(g, 2, 96), rand(g, 2, 50, 96))
    save("modulate", x=x, shift=shift, scale=scale,
         y=x * (1 + scale[:, None]) + shift[:, None])
    save("layer_norm_modulate", x=x, shift=shift, scale=scale,
         y=F.layer_norm(x, (96,), eps=1e-6) * (1 + scale[:, None]) + shift[:, None])
    save("gated_add", x=x, gate=gate, r=r, y=x + gate[:, None] * r)

    x, w, b = rand(g, 2, 8, 40), rand(g, 16, 8, 3, scale=0.3), rand(g, 16)
    save("conv1d", x=x, w=w, b=b, y=F.conv1d(x, w, b, stride=1, padding=1))
    x, w, b = rand(g, 1, 3, 32, 32), rand(g, 24, 3, 4, 4, scale=0.3), rand(g, 24)
    save("conv2d_patch", x=x, w=w, b=b, y=F.conv2d(x, w, b, stride=4, padding=0))
    x = rand(g, 1, 3, 16, 16)
    save("resize", x=x, y=F.interpolate(x, size=(40, 24), mode="bilinear", align_corners=False))

    heads, D, T = 4, 32, 16
    q, k, v = (rand(g, 2, 3 * T, heads * D) for _ in range(3))
    save("attention_full", q=q, k=k, v=v, y=attention_ref(q, k, v, heads))
    L = 3 * T
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    save("attention_causal", q=q, k=k, v=v, y=attention_ref(q, k, v, heads, mask=causal))
    blocks = torch.arange(L) // T
    block_causal = blocks[None, :] <= blocks[:, None]
    slopes = torch.tensor([2.0 ** (-(i + 1)) for i in range(heads)], dtype=torch.float64)
    age = (blocks[:, None] - blocks[None, :]).double()
    bias = -slopes[:, None, None] * age[None]
    save("attention_block_causal", q=q, k=k, v=v, slopes=slopes,
         y=attention_ref(q, k, v, heads, mask=block_causal, bias=bias))

    # Rolling KV cache: 7 blocks streamed through a window of 3 past blocks, ALiBi by age.
    # Block n attends to blocks max(0, n-3)..n; expected output per block in y.
    n_blocks, window = 7, 3
    q, k, v = (rand(g, 2, n_blocks * T, heads * D) for _ in range(3))
    outs = []
    for n in range(n_blocks):
        first = max(0, n - window)
        ks, vs = k[:, first * T:(n + 1) * T], v[:, first * T:(n + 1) * T]
        kb = torch.arange(first, n + 1).repeat_interleave(T)
        b = -slopes[:, None, None] * (n - kb).double()[None, None, :]
        outs.append(attention_ref(q[:, n * T:(n + 1) * T], ks, vs, heads, bias=b.expand(heads, T, -1)))
    save("attention_kv_cache", q=q, k=k, v=v, slopes=slopes, y=torch.cat(outs, 1))


if __name__ == "__main__":
    main()
