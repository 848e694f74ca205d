/* The audio model's spectral representation -> PCM (private; mirrors tools/models/spectral.py).
 *
 * A spectral audio model emits, per audio chunk, chunk/hop tokens of n_fft/2+1 values: per-bin
 * normalised log magnitudes of an STFT frame (Hann window of n_fft samples every hop samples). The
 * synthesiser turns them back into magnitudes, rebuilds phases with a phase vocoder locked to the
 * magnitude peaks (each peak advances its phase by its own frequency, found by a parabola through
 * the log magnitudes around it; every bin takes the phase of its peak's region), inverse-transforms
 * each frame with libavutil's av_tx and overlap-adds it. Streaming: each frame finalises hop samples;
 * the state (phases, overlap tail) carries over from chunk to chunk, so joins need no declick.
 * Stereo (channels 2): the left channel is the mono synthesis; the right one takes the same
 * magnitudes and the same tonal phases, and turns each noise bin's phase by width x a second
 * noise phase, so tones stay in the centre and noise spreads (rain, wind and surf have width, a
 * drone has none); samples are interleaved L, R.
 * Everything is allocated by drift_spectral_new; synthesis allocates nothing. */
#ifndef DRIFT_SPECTRAL_H
#define DRIFT_SPECTRAL_H

#include <stddef.h>

#include "drift/error.h"

struct drift_spectral_params {
    int n_fft;      /* power of two, 64..8192 */
    int hop;        /* n_fft / 4 (the overlap-add gain assumes it) */
    double floor;   /* magnitude floor of the log: ln(|X| + floor) */
    double spread;  /* model x = (ln(|X| + floor) - mean) / (spread * std) */
    int channels;   /* 1 or 2 (0 is read as 1) */
    double width;   /* 2 channels: 0..1, how far the right channel's noise phases turn (1: the two
                       channels' noise is uncorrelated) */
    double noise_level; /* 0.25..4 (0 is read as 1): the noise bins' magnitudes times this. A model
                           that predicts the mean log magnitude (x prediction, MSE) gives noise
                           bins exp(E ln|X|), e^(-gamma/2) = 0.75 of their RMS for Rayleigh
                           magnitudes; e^(gamma/2) = 1.335 puts the level back. Tonal bins keep 1. */
};

struct drift_spectral;

/* mean and std: n_fft/2+1 finite values each (std > 0), copied. *ret owned by the caller
 * (drift_spectral_free). Returns 0 or a negative errno with a message naming the fault. */
int drift_spectral_new(const struct drift_spectral_params *p, const float *mean, const float *std,
                       struct drift_spectral **ret, struct drift_error *err);
void drift_spectral_free(struct drift_spectral *s);

/* Back to the start of a stream (initial phases, empty overlap tail). */
void drift_spectral_reset(struct drift_spectral *s);

/* One token (model space, bins values) -> linear magnitudes (bins values). */
void drift_spectral_magnitudes(const struct drift_spectral *s, const float *token, float *mag);

/* One frame of linear magnitudes -> hop final samples per channel, interleaved (not clamped). */
void drift_spectral_frame(struct drift_spectral *s, const float *mag, float *pcm);

/* frames tokens (model space, [frames][bins]) -> frames * hop samples per channel, interleaved,
 * clamped to [-1, 1]. */
void drift_spectral_synthesize(struct drift_spectral *s, const float *tokens, int frames, float *pcm);

#endif
