"""The decoder refinement's parts (video_ae.py refine / apply): the seam term sees steps across latent-cell
boundaries and nothing else, the texture term sees lost detail, exported decoders load and save exactly,
the run's encoder is normalised as the transformer's latents are, and `apply` writes a refined decoder into
a model's two files or refuses one that does not fit, naming it; the autoencoder's other designs (the
design study's, video_ae_study.py) have the shapes and cost their factor gives, and the recipe's is unchanged;
the jitter diagnostic (video_ae.py jitter) sees latent noise move a still scene.
  /usr/bin/python3 tools/models/check_decoder_refine.py
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import expect, finish  # noqa: E402
from checkpoint_io import save_ckpt  # noqa: E402
import safetensors_io  # noqa: E402
import video_ae as A  # noqa: E402

def main():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    # 1. the seam term: zero for the data itself; steps on the cell boundaries count in full, the same
    #    steps half a cell away do not
    expect(float(A.cell_l1(x, x)) == 0.0, "seam term of the data itself is 0")
    col = torch.arange(32)
    on = x + 0.5 * (col // A.FACTOR)                         # steps between pixels 7|8, 15|16, 23|24
    off = x + 0.5 * ((col + A.FACTOR // 2) // A.FACTOR)      # steps between 3|4, 11|12, ...
    expect(abs(float(A.cell_l1(on, x)) - 0.5) < 1e-6, f"a step of 0.5 on every column boundary: {float(A.cell_l1(on, x)):.4f}")
    expect(float(A.cell_l1(off, x)) < 1e-6, f"the same step inside the cells: {float(A.cell_l1(off, x)):.2e}")
    # 2. the texture term: zero for the data, positive for a blurred copy, blind to a shift of the detail
    blur = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    expect(float(A.texture_l1(x, x)) == 0.0, "texture term of the data itself is 0")
    expect(float(A.texture_l1(blur, x)) > 0.05, f"texture term of a blurred copy: {float(A.texture_l1(blur, x)):.3f}")
    shifted = torch.roll(x, 1, dims=3)
    expect(float(A.texture_l1(shifted, x)) < 0.5 * float(A.texture_l1(blur, x)),
           f"detail moved by a pixel costs less than detail lost: {float(A.texture_l1(shifted, x)):.3f}")
    # 3. exported decoder state <-> Decoder, exactly; the normalised encoder
    dec = A.Decoder()
    state = A.decoder_state(dec)
    back = A.decoder_state(A.decoder_from_state(state))
    expect(all(torch.equal(state[k], back[k]) for k in state), f"decoder state round trip ({len(state)} tensors)")
    enc = A.Encoder().eval()
    mean, std = torch.randn(A.CHANNELS, generator=g), torch.rand(A.CHANNELS, generator=g) + 0.5
    ne = A.NormalisedEncoder(enc, mean, std)
    img = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    with torch.no_grad():
        want = (enc(img) - mean[None, :, None, None]) / std[None, :, None, None]
        expect(torch.allclose(ne(img), want, atol=1e-6), "the run's encoder, normalised as the transformer's latents")
    # 4. apply: a fitting decoder goes into both files; one that does not fit is refused by name
    with tempfile.TemporaryDirectory() as tmp:
        stem = os.path.join(tmp, "m")
        other = {"blocks.0.w": torch.ones(3)}
        safetensors_io.save(stem + ".safetensors", dict(other, **state), "F32", {"config": "m.json"})
        with open(stem + ".json", "w") as f:
            json.dump({"kind": "video", "training": {"steps": 1}}, f)
        new = {k: v + 1 for k, v in state.items()}
        info = {"recipe": A.REFINE_RECIPE, "steps": 3, "seconds": 1.0, "before": {"psnr": 30.0},
                "after": {"psnr": 31.0}, "source": {"encoder": "the run's"}}
        torch.save({"decoder": new, "info": info}, os.path.join(tmp, "ok.pt"))
        bad = dict(new, **{"decoder.0.weight": torch.zeros(1, 1, 3, 3)})
        torch.save({"decoder": bad, "info": info}, os.path.join(tmp, "bad.pt"))
        run = lambda dec_file: subprocess.run([sys.executable, os.path.join(HERE, "video_ae.py"), "apply", "--model",  # noqa: E731
                                               stem, "--decoder", dec_file], capture_output=True, text=True)
        r = run(os.path.join(tmp, "bad.pt"))
        expect(r.returncode != 0 and "decoder.0.weight does not fit" in r.stderr, f"a decoder that does not fit: {r.stderr.strip()}")
        sd, _ = safetensors_io.load(stem + ".safetensors")
        expect(torch.equal(sd["decoder.0.weight"], state["decoder.0.weight"]), "the refused decoder left the model as it was")
        r = run(os.path.join(tmp, "ok.pt"))
        sd, meta = safetensors_io.load(stem + ".safetensors")
        conf = json.load(open(stem + ".json"))
        expect(r.returncode == 0 and all(torch.equal(sd[k], new[k]) for k in new) and torch.equal(sd["blocks.0.w"], other["blocks.0.w"])
               and meta.get("config") == "m.json", "apply wrote the decoder and kept the other tensors and the metadata")
        rec = conf["training"].get("decoder_refinement", {})
        expect(rec.get("steps") == 3 and rec.get("cells") == A.REFINE_RECIPE["cells"] and conf["training"]["steps"] == 1,
               f"the JSON records the refinement: {rec}")
    # 4b. refine --ckpt reads the run's checkpoint as train.py writes it, whole or in parts (over 15 MB: the
    #     recipe's, whose parts torch.load alone cannot open), and refuses one without a latent
    with tempfile.TemporaryDirectory() as tmp:
        lt = {"mean": torch.randn(8), "std": torch.rand(8) + 0.5, "decoder": {"decoder.0.weight": torch.randn(4, 8, 3, 3)}}
        whole, split = os.path.join(tmp, "whole.pt"), os.path.join(tmp, "split.pt")
        expect(save_ckpt(whole, {"latent": lt}) == [whole], "a small checkpoint is one file")
        parts = save_ckpt(split, {"latent": lt, "state": {"w": torch.randn(64, 64)}}, part_bytes=4096)
        expect(len(parts) > 1 and not os.path.exists(split), f"a large one is written in parts: {len(parts)}")
        for path in (whole, split):
            got = A.checkpoint_latent(path)
            expect(torch.equal(got["mean"], lt["mean"]) and torch.equal(got["decoder"]["decoder.0.weight"],
                                                                          lt["decoder"]["decoder.0.weight"]),
                   f"the latent of {os.path.basename(path)} read back exactly")
        save_ckpt(whole, {"state": {}})
        for path, want in ((whole, "not a latent video model"), (os.path.join(tmp, "none.pt"), "none.pt: no such checkpoint")):
            try:
                A.checkpoint_latent(path)
                refused = ""
            except (OSError, ValueError) as err:
                refused = str(err)
            expect(want in refused, f"refused, naming why: {refused}")
    # 5. designs: the recipe's layers; a factor-4 pair keeps 4x fewer pixels a side; wrong widths refused
    expect(A.decoder_layers(8) == ["conv", "conv", "conv", "up", "conv", "conv", "up", "conv", "conv"],
           "the recipe's decoder layers (drift-video.json's latent.decoder.layers)")
    e4, d4 = A.Encoder(4, 4, 16), A.Decoder(4, 4, [16, 16, 16, 8, 12])
    with torch.no_grad():
        z4 = e4(img)
        back = d4(z4)
    expect(tuple(z4.shape) == (1, 4, 16, 16) and tuple(back.shape) == (1, 3, 64, 64),
           f"factor 4: 64x64 -> {tuple(z4.shape)} -> {tuple(back.shape)}")
    expect(A.decoder_macs(16, 16, 4, 4, [16, 16, 16, 8, 12]) == 9 * 256 * (4 * 16 + 2 * 16 * 16) + 9 * 1024 * (16 * 8 + 8 * 12),
           "factor 4's multiply-adds: three convolutions at 16x16, two at 32x32")
    try:
        A.Decoder(4, 4, [16, 16, 12])
        refused = ""
    except ValueError as err:
        refused = str(err)
    expect("5 convolutions" in refused, f"widths that do not fit the layers refused: {refused}")
    # 6. the jitter diagnostic: latent noise makes a still scene (aurora) move more than it does without
    torch.manual_seed(6)
    jit = A.latent_jitter(A.Encoder().eval(), A.Decoder().eval(), ["aurora"], frames=3, levels=(0.0, 0.5),
                          log=lambda m: None)
    r0, r1 = jit["aurora"]["ratios"]
    expect(jit["aurora"]["data_diff"] > 0 and r1 > 2 * r0 + 1e-3,
           f"jitter: aurora's frame difference with latent noise 0.5 ({r1:.3g}x) above the round trip's ({r0:.3g}x)")
    finish("all decoder refinement checks passed")


if __name__ == "__main__":
    main()
