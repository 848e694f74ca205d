"""The audio model's spectral representation and its phase reconstruction (the C engine mirrors
synthesize(): engine/src/spectral.c).

Analysis (training data only): STFT with a periodic Hann window of N_FFT samples every HOP samples,
magnitudes divided by the window's sum / 2 (a sinusoid of amplitude A reads A at its peak), then
x = (ln(|X| + FLOOR) - mean[k]) / (SPREAD * std[k]) per bin k, clamped to [-1, 1]: one token of
BINS values per STFT frame, CHUNK / HOP tokens per audio chunk.

Synthesis: magnitudes only; phases are rebuilt frame by frame. Tonal peaks -- local maxima whose
power stands TONAL_RATIO times above the mean power of the bins 3..10 away on either side -- advance
their phase by their own frequency (a parabola through the log magnitudes of the peak and its two
neighbours), and the bins of their main lobe (the peak +-2 bins, within the region between the lowest
bins on either side) take the peak's phase (Laroche & Dolson's identity phase locking). Every other
bin is noise: it gets a fresh phase each frame from a counter-based hash (mix(frame * 2^12 + k),
noise.py's splitmix64 finaliser), so that noise does not gather into a click at every frame centre, as
it does when all bins are locked. Noise bins are scaled by NOISE_GAIN: with a Hann window at 75 %
overlap, frames of independent phases overlap-add to 1/4 of the power that coherent frames keep.
A model file may set audio.noise_level (noise_level here, default 1): the noise bins' gain times it.
An x-predicting model trained with a squared error outputs the conditional mean of ln|X|; for noise,
whose magnitudes are Rayleigh-distributed, exp(E ln|X|) is e^(-gamma/2) = 0.75 of the RMS, so noise
comes out 2.5 dB low. e^(gamma/2) = 1.3346 puts it back; tonal bins, whose magnitudes the model knows,
keep gain 1.
Frames are inverse-transformed, windowed with the same Hann window and overlap-added; the output of a
frame is final HOP samples later.

Stereo (channels 2) is the synthesiser's, not the model's: the left channel is the mono synthesis; the
right one has the same magnitudes and tonal phases, and each noise bin's phase turned by
width * 2 pi * (u - 1/2), u from mix(2^62 + frame * 2^12 + k). Two noise phases differing by a uniform
angle of width w correlate by sin(pi w) / (pi w): tones stay in the centre, noise spreads between the
speakers, so rain, wind and surf get width and a drone stays narrow.
"""
import math

import numpy as np

N_FFT = 1024
HOP = 256
BINS = N_FFT // 2 + 1
FLOOR = 1e-4
SPREAD = 4.0
TONAL_RATIO = 2.0                  # 3 dB (measured: 8 left the generated drones noisy; the judge heard 42 % drone)
NOISE_GAIN = 2.0                   # overlap-adding frames of independent phases keeps 1/4 of the power
WINDOW_GAIN = N_FFT / 4.0          # sum of the periodic Hann window / 2
OLA_GAIN = 1.5                     # sum over the hops of the squared window (hop = N_FFT / 4)
RIGHT_STREAM = 1 << 62             # the right channel's phase turns: another region of the noise counter


def hann():
    n = np.arange(N_FFT, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)


def log_magnitudes(pcm):
    """pcm [..., S] float -> ln(|STFT| + FLOOR) [..., frames, BINS], frame m over samples m*HOP..+N_FFT."""
    import torch
    x = torch.as_tensor(pcm, dtype=torch.float32)
    lead = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])
    X = torch.stft(x, N_FFT, HOP, window=torch.from_numpy(hann()), center=False, return_complex=True)
    m = X.abs().transpose(-1, -2) / WINDOW_GAIN
    return torch.log(m + FLOOR).reshape(*lead, m.shape[-2], BINS)


def to_model(logmag, mean, std):
    return ((logmag - mean) / (SPREAD * std)).clamp(-1, 1)


def initial_phase():
    """deterministic start phases per bin (a zero phase everywhere would start with a click)."""
    k = np.arange(BINS, dtype=np.float64)
    return (2 * np.pi * ((k * 0.6180339887498949) % 1.0)).astype(np.float32)


class Synth:
    """x (model space) -> PCM, streaming. State: the phase of every bin and the overlap-add tail."""

    def __init__(self, mean, std, channels=1, width=0.0, noise_level=1.0):
        assert channels in (1, 2) and 0 <= width <= 1 and 0.25 <= noise_level <= 4
        self.channels, self.width = channels, width
        self.noise_gain = np.float32(NOISE_GAIN * noise_level)
        self.tail_right = np.zeros(N_FFT, np.float32)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.phase = initial_phase()
        self.tail = np.zeros(N_FFT, np.float32)
        self.win = hann()
        self.count = 0                 # frames synthesised since the start

    def magnitudes(self, x):
        lm = np.asarray(x, np.float32) * (np.float32(SPREAD) * self.std) + self.mean
        return np.maximum(np.exp(lm) - np.float32(FLOOR), 0).astype(np.float32)

    def uniform(self, base):
        """[BINS] uniforms in [0, 1) of this frame: (mix(base + frame * 4096 + k) >> 11) / 2^53."""
        import noise
        z = noise.mix(np.uint64(base) + np.uint64(self.count) * np.uint64(4096) + np.arange(BINS, dtype=np.uint64))
        return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)

    def noise_phases(self):
        """this frame's noise phases [BINS]: 2 pi * (mix(frame * 4096 + k) >> 11) / 2^53."""
        return (2 * np.pi * self.uniform(0)).astype(np.float32)

    def frame_phases(self, mag):
        """advance self.phase for one frame of magnitudes [BINS]; returns the frame's phases and the
        per-bin gains (1 for tonal bins, NOISE_GAIN * noise_level for noise)."""
        out = self.noise_phases()
        tonal = np.zeros(BINS, bool)
        power = mag.astype(np.float64) ** 2
        peaks = [k for k in range(1, BINS - 1) if mag[k] > mag[k - 1] and mag[k] >= mag[k + 1]]
        lm = np.log(mag.astype(np.float64) + FLOOR)
        for i, p in enumerate(peaks):
            side = [q for q in range(p - 10, p + 11) if abs(q - p) >= 3 and 0 <= q < BINS]
            if power[p] < TONAL_RATIO * power[side].mean():
                continue
            a, b, c = lm[p - 1], lm[p], lm[p + 1]
            den = a - 2 * b + c
            d = 0.5 * (a - c) / den if den < 0 else 0.0
            d = min(0.5, max(-0.5, d))
            ph = float(self.phase[p]) + 2 * np.pi * HOP * (p + d) / N_FFT
            ph = np.float32(math.fmod(ph, 2 * np.pi))
            # the main lobe, cut at the lowest bins between this peak and its neighbours
            lo = p - 1 - int(np.argmin(mag[peaks[i - 1] + 1:p][::-1])) if i > 0 else 0
            hi = p + 1 + int(np.argmin(mag[p + 1:peaks[i + 1]])) if i + 1 < len(peaks) else BINS
            out[max(lo, p - 2):min(hi, p + 3)] = ph
            tonal[max(lo, p - 2):min(hi, p + 3)] = True
        self.phase = out
        gain = np.where(tonal, np.float32(1), self.noise_gain).astype(np.float32)
        if self.channels == 2:   # before the count moves on: the right turns belong to this frame
            turn = self.width * (2 * np.pi) * (self.uniform(RIGHT_STREAM) - 0.5)
            self.phase_right = np.where(tonal, out, out.astype(np.float64) + turn).astype(np.float32)
        self.count += 1
        return out, gain

    def frame(self, x):
        """one token (model space, [BINS]) -> HOP final samples."""
        return self.frame_from_magnitudes(self.magnitudes(x))

    def frame_from_magnitudes(self, mag):
        """one frame of linear magnitudes [BINS] -> HOP final samples ([HOP, 2] in stereo)."""
        ph, gain = self.frame_phases(mag)
        self.tail, left = self._overlap_add(mag, gain, ph, self.tail)
        if self.channels == 1:
            return left
        self.tail_right, right = self._overlap_add(mag, gain, self.phase_right, self.tail_right)
        return np.stack([left, right], 1)

    def _overlap_add(self, mag, gain, ph, tail):
        sign = np.where(np.arange(BINS) % 2 == 0, 1.0, -1.0)      # frame centre -> frame start
        spec = (mag * gain * np.float32(WINDOW_GAIN)) * sign * np.exp(1j * ph.astype(np.float64))
        spec[0] = spec[0].real
        spec[-1] = spec[-1].real
        y = np.fft.irfft(spec, N_FFT).astype(np.float32) * self.win / np.float32(OLA_GAIN)
        tail = tail + y
        return np.concatenate([tail[HOP:], np.zeros(HOP, np.float32)]), tail[:HOP].copy()

    def chunk(self, tokens):
        """tokens [CHUNK/HOP, BINS] -> PCM [CHUNK] ([CHUNK, 2] in stereo), clamped to [-1, 1]."""
        return np.clip(np.concatenate([self.frame(t) for t in tokens]), -1, 1)
