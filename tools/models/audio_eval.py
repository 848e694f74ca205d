"""The audio model judged on what the C engine produces (drift-gen WAV output), against fresh
procedural data. Run through tools/models/evaluate.py audio; writes models/card/results.json
("audio_engine") and models/card/audio-spectrograms.png.

Figures:
- adherence: the audio judge (trained only on fresh procedural audio, evaluate.py classifiers) labels
  every 2048-sample chunk of 4 s clips generated for each family word, several seeds;
- tuning: for drone, chimes and engine with each pitch word (low, none, high), the strongest spectral
  peak above 30 Hz of whole generated clips against the data's for the same prompt: the medians in
  semitones. Each family draws its pitch from a range of about 10 semitones, so a median of few clips
  wanders by chance alone: 16 data clips against 48 others differ by more than a semitone about half
  the time for low drone and high chimes (measured, 400 draws), so a model as good as the data would
  have passed those prompts by a coin toss. tune_seeds generated clips (default 128) against
  TUNE_DATA_CLIPS data clips (384) bring the chance part to about 0.4 semitones, and the same
  comparison of 128 other data clips against those 384 ("data_self_semitones", what a model that
  draws exactly the data's pitches would score) is reported beside it, with the interquartile ranges;
- joins: mean |second difference| at chunk joins over inside chunks (1 = no clicks);
- stereo (a stereo model): the correlation of the left and right channels per family (1 = mono);
  every other figure judges the left channel, which is the mono synthesis;
- chunk-rate artefact: the envelope's spectrum at the chunk rate (24000/2048 = 11.7 Hz) over its
  neighbourhood (the median of 2..30 Hz), in dB, generated and data;
- long runs: 3000 chunks per family; adherence over the last 500, and the share of those chunks whose
  level (RMS) and spectral centroid lie inside the data's range for the same prompt.
"""
import math
import os
import random
import subprocess
import tempfile
import time
import wave

import numpy as np
import torch

import datagen_audio
from vocab import AUDIO_FAMILIES

SR = 24000
CHUNK = 2048
TONAL = ("drone", "chimes", "engine")
PITCH_WORDS = ("low", None, "high")


def read_wav(path):
    """-> (pcm [samples, channels] float, rate)"""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() in (1, 2), path
        rate, ch = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32767.0
    return pcm.reshape(-1, ch), rate


def drift_gen(binary, model, prompt, seed, seconds, tmp, pairs=None):
    """drift-gen's audio: the left channel (a stereo model's left channel is its mono synthesis,
    spectral.py); a stereo file's (left, right) is appended to pairs when given."""
    out = os.path.join(tmp, f"g{abs(hash((prompt, seed, seconds)))}")
    subprocess.run([binary, "--model", model, "--prompt", prompt, "--seed", str(seed), "--seconds", str(seconds),
                    "--out", out], check=True, capture_output=True)
    pcm, rate = read_wav(os.path.join(out, "audio.wav"))
    assert rate == SR, f"drift-gen wrote {rate} Hz, expected {SR}"
    if pcm.shape[1] == 2 and pairs is not None:
        pairs.append((pcm[:, 0].copy(), pcm[:, 1].copy()))
    return pcm[:, 0].copy()


def channel_correlation(pairs):
    """correlation of left and right over (left, right) clips, skipping the first window."""
    lr = sum(float(np.dot(l[1024:], r[1024:])) for l, r in pairs)
    ll = sum(float(np.dot(l[1024:], l[1024:])) for l, _ in pairs)
    rr = sum(float(np.dot(r[1024:], r[1024:])) for _, r in pairs)
    return lr / math.sqrt(ll * rr + 1e-30)


def data_clip(fam, pitch, seed, seconds):
    spec = {"family": fam, "word": fam, "pitch": pitch, "level": None, "seed": seed}
    return datagen_audio.gen_one(spec, int(seconds * SR)).numpy()


def chunks_of(pcm):
    n = len(pcm) // CHUNK
    return torch.from_numpy(np.ascontiguousarray(pcm[:n * CHUNK].reshape(n, CHUNK)))


def strongest_peak(pcm):
    spec = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    f = np.fft.rfftfreq(len(pcm), 1 / SR)
    spec[f < 30] = 0
    k = int(np.argmax(spec))
    if 0 < k < len(spec) - 1:   # parabolic interpolation on the log magnitude
        a, b, c = np.log(spec[k - 1:k + 2] + 1e-12)
        d = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
        return (k + d) * SR / len(pcm)
    return f[k]


def join_ratio(clips):
    num, den = [], []
    for pcm in clips:
        d2 = np.abs(pcm[2:] - 2 * pcm[1:-1] + pcm[:-2])
        pos = np.arange(1, len(pcm) - 1) % CHUNK
        at = (pos == 0) | (pos == CHUNK - 1)
        num.append(d2[at].mean())
        den.append(d2[~at].mean())
    return float(np.mean(num) / np.mean(den))


def chunk_rate_peak_db(pcm):
    hop = 128
    n = len(pcm) // hop
    env = np.sqrt((pcm[:n * hop].reshape(n, hop) ** 2).mean(1))
    env = env - env.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(n)))
    f = np.fft.rfftfreq(n, hop / SR)
    rate = SR / CHUNK
    at = spec[np.abs(f - rate) <= 0.3].max()
    band = spec[(f >= 2) & (f <= 30) & (np.abs(f - rate) > 1.0)]
    return float(20 * np.log10(at / (np.median(band) + 1e-12) + 1e-12))


def centroid(ch):
    mag = np.abs(np.fft.rfft(ch * np.hanning(ch.shape[-1]), axis=-1))
    f = np.fft.rfftfreq(ch.shape[-1], 1 / SR)
    return (mag * f).sum(-1) / (mag.sum(-1) + 1e-12)


def spectrogram_figure(path, gen, data):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fams = list(gen)
    fig, axes = plt.subplots(len(fams), 2, figsize=(10, 1.6 * len(fams)), sharex=True)
    for i, fam in enumerate(fams):
        for j, (pcm, title) in enumerate(((data[fam], "training data"), (gen[fam], "drift-gen (C engine)"))):
            ax = axes[i, j]
            ax.specgram(pcm, NFFT=1024, Fs=SR, noverlap=768, cmap="magma", vmin=-120, vmax=-20)
            ax.set_ylim(0, 8000)
            ax.set_yticks([0, 4000, 8000])
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_title(title, fontsize=8)
            if j == 0:
                ax.set_ylabel(fam, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


TUNE_DATA_CLIPS = 384


def evaluate(binary, model, judge, seeds, seconds, long_chunks, card, tune_seeds=128, log=print):
    res = {"model": os.path.relpath(model), "drift_gen": os.path.relpath(binary)}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        # adherence and joins
        clips, per, stereo = {}, {}, {fam: [] for fam in AUDIO_FAMILIES}
        for fi, fam in enumerate(AUDIO_FAMILIES):
            clips[fam] = [drift_gen(binary, model, fam, 8100 + s, seconds, tmp, stereo[fam]) for s in range(seeds)]
            with torch.no_grad():
                pred = torch.cat([judge(judge_features(chunks_of(c))).argmax(1) for c in clips[fam]])
            per[fam] = round(float((pred == fi).float().mean()), 3)
        res["adherence"] = round(float(np.mean(list(per.values()))), 4)
        res["adherence_per_family"] = per
        log(f"adherence {res['adherence']:.3f} ({seeds} seeds x {seconds:g} s per family, chunks of {CHUNK}): {per}")
        allclips = [c for v in clips.values() for c in v]
        res["join_ratio"] = round(join_ratio(allclips), 3)
        if all(stereo.values()):
            res["stereo_correlation"] = {fam: round(channel_correlation(stereo[fam]), 3) for fam in AUDIO_FAMILIES}
            log(f"left/right correlation (1: mono, 0: uncorrelated): {res['stereo_correlation']}")
        rng = random.Random(9090)
        data = {fam: [data_clip(fam, None, rng.getrandbits(40), seconds) for _ in range(seeds)] for fam in AUDIO_FAMILIES}
        res["join_ratio_data"] = round(join_ratio([c for v in data.values() for c in v]), 3)
        log(f"joins: second difference at chunk joins / inside = {res['join_ratio']:.3f} (data {res['join_ratio_data']:.3f})")
        # chunk-rate artefact
        gen_db = {fam: round(float(np.mean([chunk_rate_peak_db(c) for c in clips[fam]])), 1) for fam in AUDIO_FAMILIES}
        dat_db = {fam: round(float(np.mean([chunk_rate_peak_db(c) for c in data[fam]])), 1) for fam in AUDIO_FAMILIES}
        res["chunk_rate_envelope_db"] = {"generated": gen_db, "data": dat_db}
        log(f"envelope at the chunk rate over its neighbourhood, dB: generated {gen_db}; data {dat_db}")
        # tuning
        tune = {}
        for fam in TONAL:
            for pw in PITCH_WORDS:
                prompt = f"{pw} {fam}" if pw else fam
                g = [strongest_peak(drift_gen(binary, model, prompt, 8200 + s, seconds, tmp)) for s in range(tune_seeds)]
                d = [strongest_peak(data_clip(fam, pw, rng.getrandbits(40), seconds))
                     for _ in range(TUNE_DATA_CLIPS + tune_seeds)]
                d, d_self = d[:TUNE_DATA_CLIPS], d[TUNE_DATA_CLIPS:]
                gm, dm = float(np.median(g)), float(np.median(d))
                tune[prompt] = {"generated_hz": round(gm, 1), "data_hz": round(dm, 1),
                                "data_self_semitones": round(12 * math.log2(float(np.median(d_self)) / dm), 2),
                                "generated_iqr_hz": [round(float(q), 1) for q in np.percentile(g, [25, 75])],
                                "data_iqr_hz": [round(float(q), 1) for q in np.percentile(d, [25, 75])],
                                "data_range_hz": [round(min(d), 1), round(max(d), 1)], "clips": [len(g), len(d)],
                                "semitones": round(12 * math.log2(gm / dm), 2)}
        res["tuning"] = tune
        res["tuning_within_semitone"] = sum(1 for v in tune.values() if abs(v["semitones"]) <= 1.0)
        res["tuning_data_self_within_semitone"] = sum(1 for v in tune.values() if abs(v["data_self_semitones"]) <= 1.0)
        log("strongest peak, generated vs data (median): " + "; ".join(
            f"{p} {v['generated_hz']:.0f}/{v['data_hz']:.0f} Hz ({v['semitones']:+.2f} st; data against data "
            f"{v['data_self_semitones']:+.2f})" for p, v in tune.items()))
        # spectrograms
        if card:
            spectrogram_figure(os.path.join(card, "audio-spectrograms.png"),
                               {f: clips[f][0] for f in AUDIO_FAMILIES}, {f: data[f][0] for f in AUDIO_FAMILIES})
        # long runs
        if long_chunks:
            long = {}
            secs = long_chunks * CHUNK / SR
            for fi, fam in enumerate(AUDIO_FAMILIES):
                pcm = drift_gen(binary, model, fam, 8300, secs, tmp)
                ch = chunks_of(pcm)
                last = ch[-500:]
                with torch.no_grad():
                    ok = float((judge(judge_features(last)).argmax(1) == fi).float().mean())
                d = chunks_of(np.concatenate([data_clip(fam, None, rng.getrandbits(40), 2.0) for _ in range(24)]))
                rms, drms = last.pow(2).mean(1).sqrt().numpy(), d.pow(2).mean(1).sqrt().numpy()
                cen, dcen = centroid(last.numpy()), centroid(d.numpy())
                inside = ((rms >= drms.min()) & (rms <= drms.max()) & (cen >= dcen.min()) & (cen <= dcen.max())).mean()
                long[fam] = {"chunks": int(ch.shape[0]), "adherence_last_500": round(ok, 3),
                             "level_and_centroid_inside_data": round(float(inside), 3),
                             "rms_last_500": round(float(rms.mean()), 4), "rms_data": round(float(drms.mean()), 4)}
                log(f"long run {fam}: {ch.shape[0]} chunks, adherence over the last 500 {ok:.3f}, "
                    f"level and centroid inside the data's range {inside:.3f}")
            res["long_runs"] = long
    res["seconds"] = round(time.time() - t0, 1)
    return res


def judge_features(ch):
    import evaluate
    return evaluate.audio_features(ch)
