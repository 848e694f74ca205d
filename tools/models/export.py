"""Export a training checkpoint to models/NAME.safetensors + models/NAME.json (the engine's format).

  /usr/bin/python3 tools/models/export.py --ckpt out/run1/video/ckpt.pt --name drift-video --commit HASH
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import noise_flow  # noqa: E402
import video_ae  # noqa: E402
import safetensors_io  # noqa: E402
from noise import NOISE_CARRY_MAX  # noqa: E402
from checkpoint_io import load_ckpt  # noqa: E402
from vocab import AUDIO_DATA_VERSION, DATA_VERSION, VOCAB  # noqa: E402

SAMPLER_DEFAULTS = {
    "video": {"default": "euler", "steps": 3, "shift": 1.0, "guidance": 1.0, "context_t": 0.05},
    "audio": {"default": "euler", "steps": 3, "shift": 1.0, "guidance": 1.0, "context_t": 0.05},
}


def build_config(cfg, ck, commit, sampler, stereo_width=0.0, noise_level=1.0):
    kind = cfg["kind"]
    arch = {k: cfg[k] for k in ("hidden", "depth", "heads", "mlp_ratio", "window", "patch", "tokens", "in_dim",
                                "text_dim", "vocab_size", "alibi_slopes")}
    arch.update(name="drift-dit", head_dim=cfg["hidden"] // cfg["heads"], freq_dim=M.FREQ_DIM, t_scale=M.T_SCALE,
                ln_eps=M.LN_EPS, mlp_act="gelu_tanh", prediction=cfg.get("prediction", "v"))
    if cfg.get("previous_frame_input"):
        arch["previous_frame_input"] = True
    if cfg.get("previous_frame_clean"):
        arch["previous_frame_clean"] = True
    if cfg.get("previous_frame_residual"):
        arch["previous_frame_residual"] = True
    if cfg.get("refiner"):
        arch["refiner"] = {"channels": cfg["refiner"]["channels"], "layers": cfg["refiner"]["layers"],
                           "activation": "silu", "inputs": ["x0", "x_t", "previous", "t"],
                           "note": "on the latent grid (HWC, latent.channels per cell): input = concat(the "
                                   "transformer's clean frame, x_t, the frame before as the window keeps it or "
                                   "zeros, a map filled with t); refiner.N = 3x3 convolution, padding 1, SiLU "
                                   "after every one but the last; the clean frame = x0 + the last one's output"}
    out = {"format": "drift-model", "format_version": 1, "kind": kind, "arch": arch}
    if kind == "video":
        out["video"] = {"width": cfg["width"], "height": cfg["height"], "channels": cfg["channels"], "fps": cfg["fps"],
                        "layout": "HWC", "pixel_scale": "x = 2*rgb - 1"}
        if cfg.get("latent_factor", 1) > 1:
            out["latent"] = latent_section(cfg, ck["latent"])
    elif cfg.get("representation", "pcm") == "stft":
        import spectral
        out["audio"] = {"sample_rate": cfg["sample_rate"], "chunk": cfg["chunk"], "channels": 2 if stereo_width else 1,
                        "representation": "stft", "n_fft": spectral.N_FFT, "floor": spectral.FLOOR,
                        "spread": spectral.SPREAD,
                        "pixel_scale": "one token per STFT frame (hop = arch.patch): x = (ln(|X| + floor) - "
                                       "spectral.mean) / (spread * spectral.std); phases rebuilt by the "
                                       "synthesiser (tools/models/spectral.py)"}
        if stereo_width:   # the synthesiser's second channel (spectral.py: stereo); the model is mono
            out["audio"]["stereo_width"] = stereo_width
        if noise_level != 1.0:   # the noise bins' level put back (spectral.py: Synth)
            out["audio"]["noise_level"] = noise_level
    else:
        out["audio"] = {"sample_rate": cfg["sample_rate"], "chunk": cfg["chunk"], "channels": 1,
                        "representation": "pcm", "scale": cfg["audio_scale"], "pixel_scale": "pcm = x * scale"}
    out["vocab"] = list(VOCAB)
    out["sampler"] = dict(sampler, available=["euler", "dpmpp-2m", "heun"],
                          schedule="t_i = shift*s/(1+(shift-1)*s), s = 1-i/steps")
    out["noise"] = {"generator": "splitmix64-boxmuller-v1", "init_stream": 0, "context_stream": 1}
    out["params"] = sum(v.numel() for v in ck["state"].values())
    out["flops_per_eval"] = M.flops_per_eval(cfg, cfg["window"])
    if kind == "video" and "latent" in out:
        out["flops_per_decode"] = 2 * video_ae.decoder_macs(cfg["latent_height"], cfg["latent_width"])
        out["flops_per_frame"] = out["flops_per_eval"] * (sampler["steps"] + 1) + out["flops_per_decode"]
    if kind == "audio":
        out["flops_per_second_of_audio"] = round(out["flops_per_eval"] * (sampler["steps"] + 1) * cfg["sample_rate"]
                                                 / cfg["chunk"])
    out["training"] = {"data_version": AUDIO_DATA_VERSION if kind == "audio" else DATA_VERSION, "commit": commit, "steps": ck["steps"],
                       "seconds": round(ck["seconds"], 1), "hardware": ck["hardware"], "torch": ck["torch"],
                       "batch": ck["batch"], "clip_frames": ck["clip"], "lr": ck["args"]["lr"],
                       "ema": ck["args"]["ema"], "p_uncond": ck["args"]["p_uncond"], "seed": ck["args"]["seed"]}
    if len(ck.get("stages") or []) > 1:
        # a run in stages (train.py --init): the totals above, each stage's part here
        out["training"]["steps"] = sum(st["steps"] for st in ck["stages"])
        out["training"]["seconds"] = round(sum(st["seconds"] for st in ck["stages"]), 1)
        out["training"]["stages"] = [{"steps": st["steps"], "seconds": round(st["seconds"], 1), "lr": st.get("lr"),
                                      "own_rollout_share": st["rollout"]} for st in ck["stages"]]
    if ck.get("latent"):
        lt = ck["latent"]
        out["training"]["autoencoder"] = {"steps": lt["ae_steps"], "seconds": round(lt["ae_seconds"], 1),
                                          "held_out_psnr_db": round(lt["ae_psnr"], 2)}
    return out


def latent_section(cfg, lt):
    """the decoder's description; its tensors are decoder.N.weight [O, I, 3, 3] / decoder.N.bias [O], N = the
    conv's index, with the latent's normalisation folded into decoder.0 (video_ae.folded_decoder_state)."""
    return {"factor": cfg["latent_factor"], "channels": cfg["latent_channels"], "layout": "HWC",
            "clip": lt["clip"],
            "decoder": {"layers": list(video_ae.DECODER_LAYERS), "activation": "silu", "shuffle": video_ae.SHUFFLE},
            "note": "the transformer's frame is the normalised latent [H/factor, W/factor, channels], kept in "
                    "[-clip, clip]; pixels = pixel_shuffle(decoder(latent)): 'conv' = 3x3 convolution, padding 1, "
                    "SiLU after every conv but the last; 'up' = bilinear x2 (half-pixel centres)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--outdir", default=os.path.join(os.path.dirname(__file__), "..", "..", "models"))
    ap.add_argument("--commit", required=True)
    ap.add_argument("--dtype", default="F32", choices=["F32", "BF16"])
    ap.add_argument("--steps", type=int)
    ap.add_argument("--shift", type=float)
    ap.add_argument("--guidance", type=float, help="the sampler's default classifier-free guidance (1 = none)")
    ap.add_argument("--context-t", type=float)
    ap.add_argument("--guidance-t-max", type=float,
                    help="sampler.guidance_t_max: steps at noise levels above it are not guided (0.05..1; "
                         "default 1, every step)")
    ap.add_argument("--noise-carry", type=float,
                    help="sampler.noise_carry: how much of the frame before's starting noise a frame's keeps "
                         "(0..0.999; default 0, fresh noise every frame)")
    ap.add_argument("--noise-flow",
                    help="video with --noise-carry: the data's measured velocities (tools/models/noise_flow.py "
                         "measure); the head that moves the carried noise with the scene is fitted to them on the "
                         "exported weights and travels as noise_flow.weight / noise_flow.bias")
    ap.add_argument("--decoder",
                    help="latent video: a refined decoder (tools/models/video_ae.py refine) in place of the "
                         "checkpoint's; recorded in the JSON's training.decoder_refinement")
    ap.add_argument("--sampler-commit", choices=["pass", "last-step"],
                    help="how a frame joins the window (sampler.commit; default pass): a commit pass, or "
                         "the sampler's last evaluation")
    ap.add_argument("--stereo-width", type=float, default=0.0,
                    help="spectral audio: > 0 makes the file stereo, the right channel's noise phases turned "
                         "by this much (0..1; tools/models/spectral.py)")
    ap.add_argument("--noise-level", type=float, default=1.0,
                    help="spectral audio: the synthesiser's noise bins times this (0.25..4; "
                         "e^(gamma/2) = 1.3346, the level an x-predicting model loses on noise: spectral.py)")
    a = ap.parse_args()
    if not 0 <= a.stereo_width <= 1:
        ap.error(f"--stereo-width {a.stereo_width} is outside 0..1")
    if not 0.25 <= a.noise_level <= 4:
        ap.error(f"--noise-level {a.noise_level} is outside 0.25..4")
    if a.noise_carry is not None and not 0 <= a.noise_carry <= NOISE_CARRY_MAX:
        ap.error(f"--noise-carry {a.noise_carry} is outside 0..{NOISE_CARRY_MAX}")
    if a.guidance_t_max is not None and not 0.05 <= a.guidance_t_max <= 1:
        ap.error(f"--guidance-t-max {a.guidance_t_max} is outside 0.05..1")
    ck = load_ckpt(a.ckpt)
    cfg = ck["cfg"]
    if a.noise_flow and (cfg["kind"] != "video" or not a.noise_carry):
        ap.error("--noise-flow: moves the carried noise of a video model (with --noise-carry > 0)")
    sampler = dict(SAMPLER_DEFAULTS[cfg["kind"]])
    for k, v in (("steps", a.steps), ("shift", a.shift), ("context_t", a.context_t), ("commit", a.sampler_commit),
                 ("guidance", a.guidance), ("noise_carry", a.noise_carry), ("guidance_t_max", a.guidance_t_max)):
        if v is not None:
            sampler[k] = v
    conf = build_config(cfg, ck, a.commit, sampler, a.stereo_width, a.noise_level)
    base = os.path.join(a.outdir, a.name)
    tensors = dict(ck["state"])
    if ck.get("spectral"):   # the per-bin normalisation travels with the weights (always F32)
        tensors["spectral.mean"] = ck["spectral"]["mean"].float()
        tensors["spectral.std"] = ck["spectral"]["std"].float()
    if a.decoder and not ck.get("latent"):
        ap.error("--decoder: replaces a latent video model's decoder")
    if ck.get("latent"):
        tensors.update(ck["latent"]["decoder"])
    if a.decoder:
        refined = torch.load(a.decoder)
        try:
            video_ae.put_refined_decoder(tensors, refined, "the checkpoint's decoder")
        except ValueError as e:
            ap.error(f"--decoder {a.decoder}: {e}")
        conf["training"]["decoder_refinement"] = video_ae.refinement_summary(refined["info"])
    if a.noise_flow:
        net = M.DriftDiT(cfg)
        net.load_state_dict(ck["state"])
        weight, bias = noise_flow.fit(net.eval(), torch.load(a.noise_flow))
        tensors["noise_flow.weight"], tensors["noise_flow.bias"] = weight, bias
        for p in ("flames", "smoke", "rain", "clouds", "aurora"):
            v = noise_flow.velocity(weight, bias, noise_flow.conditioning(net, [p]))[0]
            print(f"noise flow of {p!r}: vy {float(v[0]):+.3f} vx {float(v[1]):+.3f} latent cells per frame")
    safetensors_io.save(base + ".safetensors", tensors, a.dtype,
                        {"format": "drift-model", "kind": cfg["kind"], "config": a.name + ".json"})
    with open(base + ".json", "w") as f:
        json.dump(conf, f, indent=1)
        f.write("\n")
    print(f"wrote {base}.safetensors ({os.path.getsize(base + '.safetensors')} bytes) and {base}.json")


if __name__ == "__main__":
    main()
