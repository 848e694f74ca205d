/* Phase-vocoder synthesis of the audio model's STFT frames (see spectral.h and
 * tools/models/spectral.py, which this mirrors operation for operation). */
#include "spectral.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/tx.h>

#include "noise.h"

#define TWO_PI 6.283185307179586
#define TONAL_RATIO 2.0  /* a peak is tonal when its power is 2x the mean of the bins 3..10 away */
#define NOISE_GAIN 2.0f  /* frames of independent phases overlap-add to 1/4 of the power */
/* The right channel's phase turns come from another region of the noise counter than the noise
 * phases (frame * 4096 + bin stays far below it). */
#define RIGHT_STREAM ((uint64_t)1 << 62)

struct drift_spectral {
    struct drift_spectral_params p;
    int bins;
    float *mean, *std;        /* [bins] */
    float *window;            /* [n_fft] periodic Hann */
    float *phase;             /* [bins] phase of each bin in the last frame */
    float *phase_next;        /* [bins] this frame's, while the last frame's are still read */
    bool *tonal;              /* [bins] this frame's tonal bins: gain 1 and, in stereo, the left's
                                 phase; the others are noise, gain noise_gain */
    float noise_gain;         /* NOISE_GAIN * p.noise_level */
    uint64_t count;           /* frames synthesised since the start: the noise phases' counter */
    int channels;
    float *tail;              /* [n_fft] overlap-add accumulator; the first hop samples are next */
    float *tail_right;        /* [n_fft] the right channel's (stereo only) */
    float *phase_right;       /* [bins] scratch: the right channel's phases of this frame */
    float *frame;             /* [n_fft] inverse transform output (av_malloc: aligned for av_tx) */
    AVComplexFloat *spec;     /* [bins] inverse transform input */
    float *mag;               /* [bins] scratch for drift_spectral_synthesize */
    int *peaks;               /* [bins] scratch */
    AVTXContext *tx;
    av_tx_fn itx;
};

static float initial_phase(int k)
{
    double f = fmod((double)k * 0.6180339887498949, 1.0);
    return (float)(TWO_PI * f);
}

void drift_spectral_reset(struct drift_spectral *s)
{
    for (int k = 0; k < s->bins; k++)
        s->phase[k] = initial_phase(k);
    memset(s->tail, 0, (size_t)s->p.n_fft * sizeof(float));
    if (s->tail_right)
        memset(s->tail_right, 0, (size_t)s->p.n_fft * sizeof(float));
    s->count = 0;
}

int drift_spectral_new(const struct drift_spectral_params *p, const float *mean, const float *std,
                       struct drift_spectral **ret, struct drift_error *err)
{
    *ret = NULL;
    if (!p || p->n_fft < 64 || p->n_fft > 8192 || (p->n_fft & (p->n_fft - 1)))
        return drift_error_set(err, -EINVAL, "spectral: n_fft %d is not a power of two in 64..8192",
                               p ? p->n_fft : 0);
    if (p->hop * 4 != p->n_fft)
        return drift_error_set(err, -EINVAL, "spectral: hop %d must be n_fft / 4 (%d)", p->hop,
                               p->n_fft / 4);
    if (!(p->floor > 0 && p->floor < 1) || !(p->spread > 0 && p->spread < 100))
        return drift_error_set(err, -EINVAL, "spectral: floor %g or spread %g out of range",
                               p->floor, p->spread);
    int channels = p->channels ? p->channels : 1;
    if (channels < 1 || channels > 2 || !(p->width >= 0 && p->width <= 1))
        return drift_error_set(err, -EINVAL, "spectral: channels %d (1 or 2) or width %g (0..1) "
                               "out of range", p->channels, p->width);
    double noise_level = p->noise_level ? p->noise_level : 1.0;
    if (!(noise_level >= 0.25 && noise_level <= 4))
        return drift_error_set(err, -EINVAL, "spectral: noise level %g out of range (0.25..4)",
                               p->noise_level);
    int bins = p->n_fft / 2 + 1;
    for (int k = 0; k < bins; k++)
        if (!isfinite(mean[k]) || !isfinite(std[k]) || !(std[k] > 0))
            return drift_error_set(err, -EINVAL, "spectral: bin %d: mean %g, std %g (finite, std > 0)",
                                   k, mean[k], std[k]);
    struct drift_spectral *s = calloc(1, sizeof(*s));
    if (!s)
        return drift_error_set(err, -ENOMEM, "spectral: out of memory");
    s->p = *p;
    s->p.noise_level = noise_level;
    s->noise_gain = (float)(NOISE_GAIN * noise_level);
    s->bins = bins;
    s->channels = channels;
    size_t nf = (size_t)p->n_fft, nb = (size_t)bins;
    s->mean = malloc(nb * sizeof(float));
    s->std = malloc(nb * sizeof(float));
    s->window = malloc(nf * sizeof(float));
    s->phase = malloc(nb * sizeof(float));
    s->tonal = malloc(nb * sizeof(bool));
    s->phase_next = malloc(nb * sizeof(float));
    s->tail = malloc(nf * sizeof(float));
    s->mag = malloc(nb * sizeof(float));
    s->peaks = malloc(nb * sizeof(int));
    bool stereo = channels == 2;
    s->tail_right = stereo ? malloc(nf * sizeof(float)) : NULL;
    s->phase_right = stereo ? malloc(nb * sizeof(float)) : NULL;
    s->frame = av_malloc(nf * sizeof(float));
    s->spec = av_malloc(nb * sizeof(AVComplexFloat));
    float scale = 1.0f / (float)p->n_fft; /* av_tx's inverse is not normalised */
    bool have = s->mean && s->std && s->window && s->phase && s->tonal && s->phase_next && s->tail &&
                s->mag && s->peaks && s->frame && s->spec && (!stereo || (s->tail_right && s->phase_right));
    int r = have ? av_tx_init(&s->tx, &s->itx, AV_TX_FLOAT_RDFT, 1, p->n_fft, &scale, 0)
                      : AVERROR(ENOMEM);
    if (r < 0) {
        drift_spectral_free(s);
        return drift_error_set(err, r == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL,
                               "spectral: cannot set up an inverse transform of %d points", p->n_fft);
    }
    memcpy(s->mean, mean, nb * sizeof(float));
    memcpy(s->std, std, nb * sizeof(float));
    for (int n = 0; n < p->n_fft; n++)
        s->window[n] = (float)(0.5 - 0.5 * cos(TWO_PI * n / p->n_fft));
    drift_spectral_reset(s);
    *ret = s;
    return 0;
}

void drift_spectral_free(struct drift_spectral *s)
{
    if (!s)
        return;
    av_tx_uninit(&s->tx);
    av_free(s->frame);
    av_free(s->spec);
    free(s->mean);
    free(s->std);
    free(s->window);
    free(s->phase);
    free(s->tonal);
    free(s->phase_next);
    free(s->tail);
    free(s->tail_right);
    free(s->phase_right);
    free(s->mag);
    free(s->peaks);
    free(s);
}

void drift_spectral_magnitudes(const struct drift_spectral *s, const float *token, float *mag)
{
    float spread = (float)s->p.spread, floor_ = (float)s->p.floor;
    for (int k = 0; k < s->bins; k++) {
        float lm = token[k] * (spread * s->std[k]) + s->mean[k];
        float m = expf(lm) - floor_;
        mag[k] = m > 0 ? m : 0;
    }
}

/* A uniform in [0, 1) from the noise hash of key: the top 53 bits of mix(key) / 2^53. */
static double hash_uniform(uint64_t key)
{
    return (double)(drift_noise_mix(key) >> 11) * (1.0 / 9007199254740992.0);
}

/* Phases and kinds of one frame's bins (into s->phase, s->tonal). Noise bins get a fresh phase from
 * a hash of (frame counter, bin) and the noise gain; a tonal peak advances its phase by its own frequency and
 * locks its main lobe (+-2 bins, cut at the lowest bins towards the neighbouring peaks) to it. */
static void frame_phases(struct drift_spectral *s, const float *mag)
{
    int bins = s->bins, n_peaks = 0;
    double advance = TWO_PI * s->p.hop / s->p.n_fft; /* radians per hop per bin of frequency */
    for (int k = 0; k < bins; k++) {
        s->phase_next[k] = (float)(TWO_PI * hash_uniform(s->count * 4096u + (uint64_t)k));
        s->tonal[k] = false;
    }
    for (int k = 1; k < bins - 1; k++)
        if (mag[k] > mag[k - 1] && mag[k] >= mag[k + 1])
            s->peaks[n_peaks++] = k;
    for (int i = 0; i < n_peaks; i++) {
        int p = s->peaks[i];
        double side = 0;
        int n_side = 0;
        for (int q = p - 10; q <= p + 10; q++)
            if ((q <= p - 3 || q >= p + 3) && q >= 0 && q < bins) {
                side += (double)mag[q] * mag[q];
                n_side++;
            }
        if ((double)mag[p] * mag[p] < TONAL_RATIO * (side / n_side))
            continue;
        double a = log((double)mag[p - 1] + s->p.floor), b = log((double)mag[p] + s->p.floor),
               c = log((double)mag[p + 1] + s->p.floor);
        double den = a - 2 * b + c, d = den < 0 ? 0.5 * (a - c) / den : 0.0;
        d = d > 0.5 ? 0.5 : d < -0.5 ? -0.5 : d;
        float ph = (float)fmod((double)s->phase[p] + advance * (p + d), TWO_PI);
        int lo = 0, hi = bins; /* the lowest bins towards the neighbouring peaks (the first one) */
        if (i > 0) {
            lo = p - 1;
            for (int k = p - 2; k > s->peaks[i - 1]; k--)
                if (mag[k] < mag[lo])
                    lo = k;
        }
        if (i + 1 < n_peaks) {
            hi = p + 1;
            for (int k = p + 2; k < s->peaks[i + 1]; k++)
                if (mag[k] < mag[hi])
                    hi = k;
        }
        for (int k = lo > p - 2 ? lo : p - 2; k < (hi < p + 3 ? hi : p + 3); k++) {
            s->phase_next[k] = ph;
            s->tonal[k] = true;
        }
    }
    float *t = s->phase; /* the new phases become the last frame's */
    s->phase = s->phase_next;
    s->phase_next = t;
    s->count++;
}

/* One channel of one frame: the complex spectrum of mag with these phases (gain 1 for tonal
 * bins, noise_gain for the others),
 * inverse-transformed, windowed and added to tail. */
static void overlap_add(struct drift_spectral *s, const float *mag, const float *phase, float *tail)
{
    int n = s->p.n_fft, bins = s->bins;
    float gain = (float)n / 4.0f; /* the periodic Hann window's sum / 2 */
    for (int k = 0; k < bins; k++) {
        float bin_gain = s->tonal[k] ? 1.0f : s->noise_gain;
        /* (-1)^k moves the phase reference from the frame's centre to its start */
        double m = (double)(mag[k] * bin_gain * gain) * ((k & 1) ? -1.0 : 1.0), ph = phase[k];
        s->spec[k].re = (float)(m * cos(ph));
        s->spec[k].im = (k == 0 || k == bins - 1) ? 0.0f : (float)(m * sin(ph));
    }
    s->itx(s->tx, s->frame, s->spec, sizeof(AVComplexFloat));
    const float ola = 1.5f; /* sum of the squared Hann window over hops of n_fft / 4 */
    for (int i = 0; i < n; i++)
        tail[i] += s->frame[i] * s->window[i] / ola;
}

/* The right channel's phases: tonal bins as the left's, noise bins turned by
 * width * 2 pi * (u - 1/2), u from the noise hash of (RIGHT_STREAM + frame * 4096 + bin). */
static void right_phases(struct drift_spectral *s)
{
    uint64_t frame = s->count - 1; /* frame_phases has counted this frame */
    for (int k = 0; k < s->bins; k++) {
        if (s->tonal[k]) {
            s->phase_right[k] = s->phase[k];
            continue;
        }
        double u = hash_uniform(RIGHT_STREAM + frame * 4096u + (uint64_t)k);
        s->phase_right[k] = (float)((double)s->phase[k] + s->p.width * TWO_PI * (u - 0.5));
    }
}

/* Hands out the first hop samples of an overlap-add tail (every channels-th value of pcm) and
 * moves the tail on by a hop. */
static void take_hop(struct drift_spectral *s, float *tail, float *pcm)
{
    int n = s->p.n_fft, hop = s->p.hop;
    for (int i = 0; i < hop; i++)
        pcm[(size_t)i * s->channels] = tail[i];
    memmove(tail, tail + hop, (size_t)(n - hop) * sizeof(float));
    memset(tail + n - hop, 0, (size_t)hop * sizeof(float));
}

void drift_spectral_frame(struct drift_spectral *s, const float *mag, float *pcm)
{
    frame_phases(s, mag);
    overlap_add(s, mag, s->phase, s->tail);
    take_hop(s, s->tail, pcm);
    if (s->channels == 2) {
        right_phases(s);
        overlap_add(s, mag, s->phase_right, s->tail_right);
        take_hop(s, s->tail_right, pcm + 1);
    }
}

void drift_spectral_synthesize(struct drift_spectral *s, const float *tokens, int frames, float *pcm)
{
    for (int f = 0; f < frames; f++) {
        drift_spectral_magnitudes(s, tokens + (size_t)f * s->bins, s->mag);
        float *out = pcm + (size_t)f * s->p.hop * s->channels;
        drift_spectral_frame(s, s->mag, out);
        for (int i = 0; i < s->p.hop * s->channels; i++)
            out[i] = out[i] > 1.0f ? 1.0f : out[i] < -1.0f ? -1.0f : out[i];
    }
}
