"""Train a drift model (video or audio) on procedural data: rectified flow, diffusion forcing.

  /usr/bin/python3 tools/models/train.py --model video --steps 6000 --out out/video      # CPU or GPU
  /usr/bin/python3 tools/models/train.py --model audio --seconds 120 --device cuda --out out/audio

Clips of `clip` frames (video frames or audio chunks); every frame gets its own noise level
t ~ 30% U(0, 0.1) (context-like) | 55% logit-normal(0, 1) | 15% U(0, 1); x_t = (1-t) x0 + t eps,
target v = eps - x0, plain MSE. Prompts are dropped to the null embedding with p = 0.1 (for CFG).
--rollout P: a share P of the batches trains on the model's own rollouts (rollout.py): the clip's context
frames are sampled by the model itself, frame by frame, with the shipped sampler; the target stays the real
clip (--rollout-target own-motion: where the scene barely moves, the real frame moved by the rollout's drift,
rollout.own_motion_target). Used as a second stage (--init: the first stage's ckpt.pt; --data-dir: its autoencoder and data).
The run stops at --steps or --seconds, whichever comes first; the LR schedule follows progress
= max(step/steps, elapsed/seconds). Writes ckpt.pt (EMA weights, fp32, split into parts of <15 MB
when large), loss.csv, and prints one line per log interval.
"""
import argparse
import csv
import math
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio_data  # noqa: E402
import datagen_audio  # noqa: E402
from checkpoint_io import load_ckpt, save_ckpt  # noqa: E402
import datagen_video  # noqa: E402
import model as M  # noqa: E402
from noise import NOISE_CARRY_MAX  # noqa: E402
import rollout  # noqa: E402
import spectral  # noqa: E402
import video_ae  # noqa: E402
import video_data  # noqa: E402
from vocab import FAMILY_WORDS, VOCAB, tokenize  # noqa: E402


def pad_ids(prompts, device):
    ids = [tokenize(p) for p in prompts]
    M_ = max(1, max(len(i) for i in ids))
    t = torch.zeros(len(ids), M_, dtype=torch.long)
    for r, i in enumerate(ids):
        t[r, :len(i)] = torch.tensor(i, dtype=torch.long)
    return t.to(device), torch.tensor([len(i) for i in ids], device=device)


class AudioBatches(torch.utils.data.IterableDataset):
    def __init__(self, seed, batch, n_samples):
        self.seed, self.batch, self.n = seed, batch, n_samples

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info else 0
        torch.set_num_threads(1)
        rng = random.Random(self.seed * 1000003 + wid)
        while True:
            specs = [datagen_audio.random_spec(rng) for _ in range(self.batch)]
            yield datagen_audio.render(specs, self.n), [datagen_audio.spec_prompt(s) for s in specs]


def sample_t(B, L, device, p_ctx=0.30, p_ln=0.55, p_one=0.0):
    """per frame: U(0, 0.1) (context-like) with p_ctx, logit-normal(0, 1) with p_ln, exactly 1 with p_one,
    else U(0, 1)."""
    u = torch.rand(B, L, device=device)
    ctx = torch.rand(B, L, device=device) * 0.1
    ln = torch.sigmoid(torch.randn(B, L, device=device))
    un = torch.rand(B, L, device=device)
    un = torch.where(u >= 1 - p_one, torch.ones_like(un), un)
    return torch.where(u < p_ctx, ctx, torch.where(u < p_ctx + p_ln, ln, un))


def chunk_level(x, stats):
    """Per chunk [B, L]: the level of model-space log magnitudes x [B, L, T, BINS], half the log of
    the chunk's energy (nats)."""
    lm = x * (spectral.SPREAD * stats["std"].to(x.device)) + stats["mean"].to(x.device)
    return 0.5 * torch.logsumexp(2 * lm.flatten(2), dim=-1)


LOUD_NATS = 3.0   # the loud bins: within this of the chunk's loudest (26 dB)


def chunk_loud_offset(x_hat, x, stats):
    """Per chunk [B, L]: the mean error (nats) of the predicted log magnitudes x_hat over the real chunk x's
    loud bins (every frame's bins within LOUD_NATS of the chunk's loudest). Its square is a level error
    that leaves the spectrum's shape alone: every loud bin gets the same gradient, where the energy's
    (chunk_level) goes almost all to the loudest few, the harmonics whose place the pitch words set."""
    scale = spectral.SPREAD * stats["std"].to(x.device)
    err = ((x_hat - x) * scale).flatten(2)
    lm = (x * scale + stats["mean"].to(x.device)).flatten(2)
    loud = (lm >= lm.amax(-1, keepdim=True) - LOUD_NATS).float()
    return (err * loud).sum(-1) / loud.sum(-1)


def cpu_has_bf16():
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def stage_of(ck):
    """a checkpoint's own training run, for the stages list of the run that starts from it"""
    return {"steps": ck["steps"], "seconds": ck["seconds"], "lr": ck["args"]["lr"],
            "rollout": ck["args"].get("rollout", 0.0)}


def noised_frames_before(prev, s_max):
    """prev [B, L, ...]: each clip's frames-before input (zeros for the first frame, which has none); half of the
    clips get N(0, s^2) added to the frames that exist, s ~ U(0, s_max) per clip, the others stay clean."""
    B = prev.shape[0]
    shape = (B,) + (1,) * (prev.dim() - 1)
    s = torch.rand(shape, device=prev.device) * s_max * (torch.rand(shape, device=prev.device) < 0.5)
    noise = torch.randn_like(prev) * s
    noise[:, 0] = 0
    return prev + noise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["video", "audio"], required=True)
    ap.add_argument("--steps", type=int, default=10 ** 9)
    ap.add_argument("--seconds", type=float, default=1e18)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--clip", type=int, default=8, help="frames per training clip (> window)")
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--p-uncond", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--save-every", type=float, default=300, help="seconds between resumable checkpoints")
    ap.add_argument("--data-clips", type=int, default=None,
                    help="clips rendered once and cached (audio: 4200 clips of --data-seconds; video: 2400)")
    ap.add_argument("--data-seconds", type=float, default=4.0)
    ap.add_argument("--data-frames", type=int, default=16, help="video: frames per cached clip")
    ap.add_argument("--ae-seconds", type=float, default=720, help="video: autoencoder training time")
    ap.add_argument("--latent", action=argparse.BooleanOptionalAction, default=True,
                    help="video: diffuse in the autoencoder's latent (else in pixels, 128x128)")
    ap.add_argument("--patch", type=int)
    ap.add_argument("--previous-frame", action=argparse.BooleanOptionalAction, default=False,
                    help="the frame (audio: chunk) before is an input of each frame (model.py: prev_embed)")
    ap.add_argument("--previous-frame-clean", action="store_true",
                    help="the frame before input is that frame as made (clean: the real frame in training, the "
                         "sampler's output in a stream), not as the window keeps it (its noise hides the detail "
                         "a still scene must keep in place)")
    ap.add_argument("--previous-frame-residual", action="store_true",
                    help="x prediction, with --previous-frame-clean: the clean frame is the frame before plus the "
                         "network's output (zero at the start), so that the untrained model copies the frame before "
                         "and learns the change (a still scene stays still without being learnt)")
    ap.add_argument("--previous-frame-noise", type=float, default=0.0,
                    help="with --previous-frame-clean: on the batches not rolled out, half of the clips get their "
                         "frames-before input noised by N(0, s^2), s drawn from 0..this per clip (model space), so "
                         "that the model learns to pull a drifted frame before back rather than copy it (GameNGen's "
                         "context noise); the model is not told s, and a stream gives it the frame as made")
    ap.add_argument("--refiner", help="video, x prediction: a convolutional head on the latent grid after the "
                    "transformer, CHANNELSxLAYERS (model.py: Refiner), e.g. 48x4")
    ap.add_argument("--heads", type=int)
    ap.add_argument("--pos-init", choices=["small", "sincos"], default="small",
                    help="pos_embed at the start: N(0, 0.02) or fixed sine-cosine positions at full scale "
                    "(model.py: sincos_positions); learnt either way")
    ap.add_argument("--p-ctx", type=float, default=0.30, help="share of frames at context-like noise")
    ap.add_argument("--p-ln", type=float, default=0.55, help="share at logit-normal noise (the rest: uniform)")
    ap.add_argument("--p-one", type=float, default=0.0, help="share at t = 1 exactly (the sampler's first step)")
    ap.add_argument("--loss-t-min", type=float, default=M.X_PRED_T_MIN,
                    help="x prediction: the loss is |x0_hat - x0|^2 / max(t, this)^2 (the velocity loss, capped)")
    ap.add_argument("--level-loss", type=float, default=0.0,
                    help="audio (STFT): weight of the squared error of each chunk's level (half its log "
                         "energy, nats) in the predicted clean chunk, beside the velocity loss, for chunks "
                         "noised to at most --level-loss-t-max")
    ap.add_argument("--level-loss-t-max", type=float, default=0.4,
                    help="above it the prediction is a mean over what the chunk may be, whose level is "
                         "below any one chunk's: the sampler's last step (t = 1/3) is below it")
    ap.add_argument("--level-target", choices=["energy", "loud-mean"], default="energy",
                    help="the level the level loss compares: the chunk's energy (chunk_level) or the mean of "
                         "its loud bins' errors (chunk_loud_offset: a common offset, the shape left alone)")
    ap.add_argument("--level-loss-rollout-only", action="store_true",
                    help="the level loss only on batches with the model's own context (--rollout): where a "
                         "stream's level drifts, leaving the batches that teach the prompt's pitch alone")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--depth", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data-dir", help="where the autoencoder and the cached data are (default: --out)")
    ap.add_argument("--init", help="start from this checkpoint's weights (a first stage's ckpt.pt), fresh optimiser")
    ap.add_argument("--rollout", type=float, default=0.0, help="share of batches with the model's own context")
    ap.add_argument("--rollout-steps", type=int, default=3, help="the sampler's steps in a rollout")
    ap.add_argument("--rollout-start", type=int, default=0,
                    help="a rolled-out frame after the first starts at this step (0: pure noise, as the stream)")
    ap.add_argument("--rollout-first-start", type=int, default=1,
                    help="the clip's first frame starts at this step, from its real frame noised to that level")
    ap.add_argument("--rollout-guidance", type=float, default=1.0)
    ap.add_argument("--rollout-commit", choices=["last-step", "pass"], default="last-step")
    ap.add_argument("--rollout-noise-carry", type=float, default=0.0,
                    help="the rollout sampler's noise_carry (0..0.999; 0: fresh noise every frame)")
    ap.add_argument("--rollout-context-loss", action=argparse.BooleanOptionalAction, default=False,
                    help="also train the generated context frames towards the real frames they replace")
    ap.add_argument("--rollout-context-t", type=float, default=0.3, help="commit pass: the context's noise level")
    ap.add_argument("--rollout-target", choices=["real", "own-motion"], default="real",
                    help="the rolled-out clip's last frame's target: the real frame, or (own-motion, with "
                         "--previous-frame-clean) the real frame moved by the rollout's drift where the scene "
                         "barely moves (rollout.own_motion_target)")
    ap.add_argument("--rollout-motion-scale", type=float, default=0.02,
                    help="own-motion: a clip whose last frame moves this much (mean |difference|, model space) "
                         "keeps e^-1 of the rollout's drift in its target")
    ap.add_argument("--rollout-motion-weight", type=float, default=1.0,
                    help="own-motion: the share of the rollout's drift a still clip's target keeps (0..1]")
    ap.add_argument("--rollout-real-min", type=int, default=0,
                    help="a rollout keeps its first R frames real, R drawn from min..max per batch (shorter rollouts)")
    ap.add_argument("--rollout-real-max", type=int, default=0)
    ap.add_argument("--rollout-real-per-clip", action="store_true",
                    help="draw R per clip instead of per batch")
    ap.add_argument("--rollout-real-families", default="",
                    help="comma-separated families: a clip whose prompt names one (or a synonym) keeps "
                         "--rollout-real-max real frames, the others --rollout-real-min (a sustained pitch "
                         "is set by the first frame)")
    a = ap.parse_args()
    if a.previous_frame_noise and not (a.previous_frame_clean and 0 < a.previous_frame_noise <= 1):
        ap.error(f"--previous-frame-noise {a.previous_frame_noise}: in (0, 1], with --previous-frame-clean")
    if a.level_loss < 0 or (a.level_loss and a.model != "audio"):
        ap.error(f"--level-loss {a.level_loss}: a weight >= 0, for the audio model")
    if a.level_target != "energy" and not a.level_loss:
        ap.error(f"--level-target {a.level_target}: needs --level-loss")
    if a.level_loss_rollout_only and not (a.level_loss and a.rollout):
        ap.error("--level-loss-rollout-only: needs --level-loss and --rollout")
    os.makedirs(a.out, exist_ok=True)
    data_dir = a.data_dir or a.out
    if not 0.0 <= a.rollout_noise_carry <= NOISE_CARRY_MAX:
        ap.error(f"--rollout-noise-carry {a.rollout_noise_carry}: outside 0..{NOISE_CARRY_MAX}")
    if not 0.0 <= a.rollout <= 1.0:
        ap.error(f"--rollout {a.rollout}: a share in [0, 1]")
    if a.rollout_target == "own-motion" and not (a.rollout and a.previous_frame_clean):
        ap.error("--rollout-target own-motion: needs --rollout and --previous-frame-clean (the frames as made)")
    if a.rollout_motion_scale <= 0:
        ap.error(f"--rollout-motion-scale {a.rollout_motion_scale}: > 0")
    if not 0 < a.rollout_motion_weight <= 1:
        ap.error(f"--rollout-motion-weight {a.rollout_motion_weight}: in (0, 1]")
    families = {f for fams in FAMILY_WORDS.values() for f in fams[0 if a.model == "video" else 1:][:1] if f}
    unknown = [f for f in a.rollout_real_families.split(",") if f and f not in families]
    if unknown:
        ap.error(f"--rollout-real-families: {', '.join(unknown)}: not one of the {a.model} model's families "
                 f"({', '.join(sorted(families))})")
    if not 0 <= a.rollout_real_min <= a.rollout_real_max <= a.clip - 2:
        ap.error(f"--rollout-real-min {a.rollout_real_min}, --rollout-real-max {a.rollout_real_max}: "
                 f"0 <= min <= max <= {a.clip - 2} (--clip {a.clip} less a generated and the real last frame)")
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    arch = {k: getattr(a, k) for k in ("hidden", "depth", "patch", "heads") if getattr(a, k)}
    if a.model == "video" and a.latent:
        arch = dict(dict(width=256, height=256, latent_factor=video_ae.FACTOR, latent_channels=video_ae.CHANNELS,
                         patch=4, prediction="x"), **arch)
    if a.previous_frame:
        arch["previous_frame_input"] = True
    if a.previous_frame_clean:
        if not a.previous_frame or a.refiner:
            ap.error("--previous-frame-clean: with --previous-frame, without --refiner")
        arch["previous_frame_clean"] = True
    if a.previous_frame_residual:
        if not a.previous_frame_clean or arch.get("prediction") != "x":
            ap.error("--previous-frame-residual: with --previous-frame-clean, for the latent video model (x prediction)")
        arch["previous_frame_residual"] = True
    if a.refiner:
        ch, layers = (int(v) for v in a.refiner.lower().split("x"))
        if a.model != "video" or not a.latent or ch < 1 or layers < 2:
            ap.error(f"--refiner {a.refiner}: a latent video model, CHANNELSxLAYERS with at least 2 layers")
        arch["refiner"] = {"channels": ch, "layers": layers}
    cfg = M.video_config(len(VOCAB), **arch) if a.model == "video" else M.audio_config(len(VOCAB), **arch)
    B = a.batch or (32 if a.model == "video" else 64)
    L = a.clip
    say = lambda m: print(m, flush=True)  # noqa: E731
    if not cuda:
        torch.set_num_threads(os.cpu_count() or 1)
    spectral_stats = latent = crops = None
    if a.model == "audio" and cfg["representation"] == "stft":
        data = audio_data.build(os.path.join(data_dir, "data.pt"), a.data_clips or 4200, a.data_seconds, a.seed + 100,
                                log=say)
        crops = audio_data.Crops(data, L, cfg["tokens"], a.seed)
        spectral_stats = {"mean": data["mean"], "std": data["std"]}
    elif a.model == "video" and cfg["latent_factor"] > 1:
        ae = video_ae.train(data_dir, a.ae_seconds, a.seed, log=say)
        data = video_data.build(os.path.join(data_dir, "data.pt"), ae, a.data_clips or 2400, a.data_frames,
                                a.seed + 100, log=say)
        crops = video_data.Crops(data, L, cfg["patch"], a.seed)
        _, dec = video_ae.load(ae)
        # the sampler keeps frames inside the data's range: |normalised latent| <= clip
        clip = max(float(((z.float() - data["mean"]) / data["std"]).abs().max()) for z in data["latents"].split(64))
        latent = {"mean": data["mean"], "std": data["std"], "clip": math.ceil(clip), "ae_steps": ae["steps"],
                  "ae_seconds": ae["seconds"],
                  "ae_psnr": ae["psnr"], "decoder": video_ae.folded_decoder_state(dec, data["mean"], data["std"])}
    if a.level_loss and spectral_stats is None:
        ap.error("--level-loss: needs the STFT representation (its per-bin mean and spread)")
    L = a.clip
    net = M.DriftDiT(cfg).to(dev)
    if a.pos_init == "sincos":
        with torch.no_grad():
            net.pos_embed.copy_(M.sincos_positions(cfg))
    init = None
    if a.init:
        init = load_ckpt(a.init)
        diff = sorted(k for k in set(cfg) | set(init["cfg"]) if cfg.get(k) != init["cfg"].get(k))
        # a refiner added to weights trained without one: its last convolution starts at zero, so the model
        # starts as the transformer alone and the stage trains the refiner from there
        adds_refiner = diff == ["refiner"] and "refiner" not in init["cfg"]
        # weights trained on the window's frame before, taught the clean one by this stage
        to_clean = diff == ["previous_frame_clean"] and "previous_frame_clean" not in init["cfg"]
        if diff and not (adds_refiner or to_clean):
            sys.exit(f"--init {a.init}: its architecture differs in {', '.join(diff)}")
        missing, unexpected = net.load_state_dict(init["state"], strict=not adds_refiner)
        if unexpected or any(not k.startswith("refiner.") for k in missing):
            sys.exit(f"--init {a.init}: its tensors do not fit ({', '.join((unexpected + missing)[:4])})")
        print(f"initialised from {a.init}: {init['steps']} steps, {init['seconds']:.0f}s"
              + (", the refiner added" if adds_refiner else ""), flush=True)
    ema = M.DriftDiT(cfg).to(dev)
    ema.load_state_dict(net.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, betas=(0.9, 0.99), weight_decay=0.01)
    # bf16 autocast where the hardware has bf16 arithmetic (CUDA, AVX512-BF16 or AMX: PyTorch runs it on
    # oneDNN); a CPU without it emulates bf16 slower than fp32, which goes to the BLAS (use OpenBLAS:
    # tools/models/train-audio.sh).
    use_bf16 = cuda or cpu_has_bf16()
    print(f"{a.model}: {M.count_params(net)} params, batch {B} x {L} frames, device {dev}, "
          f"{'bf16 autocast' if use_bf16 else 'fp32'}, {torch.get_num_threads()} threads", flush=True)

    rng = random.Random(a.seed)
    if a.model == "audio" and spectral_stats is None:
        nw = a.workers if a.workers is not None else (min(12, (os.cpu_count() or 2) - 2) if cuda else 0)
        dl = torch.utils.data.DataLoader(AudioBatches(a.seed, B, L * cfg["chunk"]), batch_size=None,
                                         num_workers=nw, prefetch_factor=4 if nw else 2)
        it = iter(dl)

    def batch():
        if crops is not None:
            x0, prompts = crops.batch(B)
            x0 = x0.to(dev)
        elif a.model == "video":
            specs = [datagen_video.random_spec(rng) for _ in range(B)]
            fr = datagen_video.render(specs, L, cfg["width"], cfg["fps"], device=dev)
            x0 = M.patchify(fr * 2 - 1, cfg["patch"])                                   # [B, L, T, P]
            prompts = [datagen_video.spec_prompt(s) for s in specs]
        else:
            wav, prompts = next(it)
            x0 = (wav.to(dev) / cfg["audio_scale"]).reshape(B, L, cfg["tokens"], cfg["in_dim"])
        return x0, prompts

    resume = os.path.join(a.out, "resume.pt")
    step, done_before = 0, 0.0
    if os.path.exists(resume):
        r = torch.load(resume)
        net.load_state_dict(r["net"])
        ema.load_state_dict(r["ema"])
        opt.load_state_dict(r["opt"])
        step, done_before = r["step"], r["seconds"]
        torch.set_rng_state(r["torch_rng"])
        rng.setstate(r["rng"])
        if crops is not None:
            crops.g.set_state(r["crops_rng"])
        print(f"resumed from {resume}: step {step}, {done_before:.0f}s", flush=True)
    log = open(os.path.join(a.out, "loss.csv"), "a" if step else "w", newline="")
    w = csv.writer(log)
    if not step:
        w.writerow(["step", "seconds", "loss", "lr"])
    t_start = time.time() - done_before
    last_save = time.time()
    run_loss, n_loss = 0.0, 0

    def save_resume():
        r = {"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
             "seconds": time.time() - t_start, "torch_rng": torch.get_rng_state(), "rng": rng.getstate()}
        if crops is not None:
            r["crops_rng"] = crops.g.get_state()
        torch.save(r, resume + ".tmp")
        os.replace(resume + ".tmp", resume)
    real_families = {f for f in a.rollout_real_families.split(",") if f}
    kind = 0 if a.model == "video" else 1
    real_words = {w for w, fams in FAMILY_WORDS.items() if fams[kind] in real_families}

    def rollout_real(prompts):
        """How many real frames each clip of a rollout batch keeps (one count, or one per clip)."""
        if real_words:
            return torch.tensor([a.rollout_real_max if real_words & set(p.split()) else a.rollout_real_min
                                 for p in prompts])
        if a.rollout_real_per_clip:
            return torch.tensor([rng.randint(a.rollout_real_min, a.rollout_real_max) for _ in prompts])
        return rng.randint(a.rollout_real_min, a.rollout_real_max)

    while True:
        el = time.time() - t_start
        prog = max(step / a.steps, el / a.seconds)
        if prog >= 1.0:
            break
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        x0, prompts = batch()
        ids, lens = pad_ids(prompts, dev)
        drop = torch.rand(B, device=dev) < a.p_uncond
        t = sample_t(B, L, dev, a.p_ctx, a.p_ln, a.p_one)
        eps = torch.randn_like(x0)
        xt = (1 - t[..., None, None]) * x0 + t[..., None, None] * eps
        frames_in_loss = None
        # each frame's "frame before" input: as made (the real clip's) or, None, as in xt
        prev = M.frames_before(x0) if cfg.get("previous_frame_clean") else None
        rolled_out = a.rollout and rng.random() < a.rollout
        if prev is not None and a.previous_frame_noise and not rolled_out:
            prev = noised_frames_before(prev, a.previous_frame_noise)
        if rolled_out:
            with torch.no_grad():
                text = net.text_cond(ids, lens, drop)
                null = net.text.null[None].expand_as(text)
            xt, t, prev = rollout.with_own_context(
                net, x0, xt, t, text, null, steps=a.rollout_steps, start=a.rollout_start, first_start=a.rollout_first_start,
                guidance=a.rollout_guidance, commit=a.rollout_commit, context_t=a.rollout_context_t,
                clip=latent["clip"] if latent else 1.0, bf16=use_bf16,
                real=rollout_real(prompts), noise_carry=a.rollout_noise_carry)
            eps = (xt - (1 - t[..., None, None]) * x0) / t[..., None, None].clamp(min=1e-6)
            if a.rollout_target == "own-motion":
                # the last frame's target follows the rollout where the scene is still; its noisy input is
                # that target noised with the same draw
                target, _ = rollout.own_motion_target(x0, prev[:, -1], a.rollout_motion_scale,
                                                          a.rollout_motion_weight)
                x0 = torch.cat([x0[:, :-1], target[:, None]], 1)
                t_last = t[:, -1, None, None]
                xt = torch.cat([xt[:, :-1], ((1 - t_last) * target + t_last * eps[:, -1])[:, None]], 1)
            if not a.rollout_context_loss:
                # the generated context frames are not the real frames they replace: asked to give the real
                # one back from such an input, the model would learn to distrust a nearly clean input, the
                # very thing the sampler's last step relies on. Only the real frame after them is trained.
                frames_in_loss = slice(L - 1, L)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            v = net(xt, t, net.text_cond(ids, lens, drop), prev)
        err = v.float() - (eps - x0)
        if cfg.get("prediction", "v") == "x" and a.loss_t_min > M.X_PRED_T_MIN:
            # v - target = (x0 - x0_hat) / t: the velocity loss weighs a frame by 1/t^2, so that nearly clean
            # (context) frames, whose output the sampler never uses, outweigh the noisy ones 400:1 and the
            # model never learns its first step from pure noise. Capped at 1/loss_t_min^2.
            err = err * (t.clamp(min=M.X_PRED_T_MIN) / t.clamp(min=a.loss_t_min))[..., None, None]
        loss = err.square().mean() if frames_in_loss is None else err[:, frames_in_loss].square().mean()
        if a.level_loss and (frames_in_loss is not None or not a.level_loss_rollout_only):
            # x0 = xt - t v. The bin-by-bin loss weighs a chunk's level (an error shared by its loud
            # bins) like any one bin's detail, and a stream's level wanders from chunk to chunk.
            x0_hat = xt - t[..., None, None] * v.float()
            if a.level_target == "loud-mean":
                lvl = chunk_loud_offset(x0_hat, x0, spectral_stats).square()
            else:
                lvl = (chunk_level(x0_hat, spectral_stats) - chunk_level(x0, spectral_stats)).square()
            lvl = lvl * (t <= a.level_loss_t_max)
            loss = loss + a.level_loss * (lvl if frames_in_loss is None else lvl[:, frames_in_loss]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        d = min(a.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(pn.detach(), alpha=1 - d)
        step += 1
        run_loss += loss.item() if (step % 10 == 0 or step < 10) else 0.0
        n_loss += 1 if (step % 10 == 0 or step < 10) else 0
        if step % a.log_every == 0 or step == 1:
            w.writerow([step, f"{time.time() - t_start:.1f}", f"{run_loss / max(1, n_loss):.5f}", f"{lr:.6f}"])
            log.flush()
            print(f"step {step} {time.time() - t_start:.0f}s loss {run_loss / max(1, n_loss):.4f} lr {lr:.2e}", flush=True)
            run_loss, n_loss = 0.0, 0
        if time.time() - last_save > a.save_every:
            save_resume()
            last_save = time.time()
    save_resume()
    el = time.time() - t_start
    hw = torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores)"
    state = {k: v.detach().float().cpu() for k, v in ema.state_dict().items()}
    paths = save_ckpt(os.path.join(a.out, "ckpt.pt"), {
        "cfg": cfg, "state": state, "steps": step, "seconds": el, "hardware": hw,
        "torch": torch.__version__, "args": vars(a), "batch": B, "clip": L, "spectral": spectral_stats, "latent": latent,
        "stages": (init.get("stages") or [stage_of(init)] if init else []) + [
            {"steps": step, "seconds": el, "lr": a.lr, "rollout": a.rollout}]})
    print(f"done: {step} steps in {el:.0f}s on {hw}; wrote {paths}", flush=True)
    log.close()
    os._exit(0)  # do not wait for data-loader workers


if __name__ == "__main__":
    main()
