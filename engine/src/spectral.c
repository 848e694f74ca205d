/* Phase-vocoder synthesis of the audio model's STFT frames (see spectral.h and
 * tools/models/spectral.py, which this mirrors operation for operation). */
#include "spectral.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/tx.h>

#define TWO_PI 6.283185307179586

struct drift_spectral {
    struct drift_spectral_params p;
    int bins;
    float *mean, *std;        /* [bins] */
    float *window;            /* [n_fft] periodic Hann */
    float *phase;             /* [bins] phase of each bin in the last frame */
    float *tail;              /* [n_fft] overlap-add accumulator; the first hop samples are next */
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
    int bins = p->n_fft / 2 + 1;
    for (int k = 0; k < bins; k++)
        if (!isfinite(mean[k]) || !isfinite(std[k]) || !(std[k] > 0))
            return drift_error_set(err, -EINVAL, "spectral: bin %d: mean %g, std %g (finite, std > 0)",
                                   k, mean[k], std[k]);
    struct drift_spectral *s = calloc(1, sizeof(*s));
    if (!s)
        return drift_error_set(err, -ENOMEM, "spectral: out of memory");
    s->p = *p;
    s->bins = bins;
    size_t nf = (size_t)p->n_fft, nb = (size_t)bins;
    s->mean = malloc(nb * sizeof(float));
    s->std = malloc(nb * sizeof(float));
    s->window = malloc(nf * sizeof(float));
    s->phase = malloc(nb * sizeof(float));
    s->tail = malloc(nf * sizeof(float));
    s->mag = malloc(nb * sizeof(float));
    s->peaks = malloc(nb * sizeof(int));
    s->frame = av_malloc(nf * sizeof(float));
    s->spec = av_malloc(nb * sizeof(AVComplexFloat));
    float scale = 1.0f / (float)p->n_fft; /* av_tx's inverse is not normalised */
    int r = (s->mean && s->std && s->window && s->phase && s->tail && s->mag && s->peaks && s->frame &&
             s->spec) ? av_tx_init(&s->tx, &s->itx, AV_TX_FLOAT_RDFT, 1, p->n_fft, &scale, 0)
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
    free(s->tail);
    free(s->mag);
    free(s->peaks);
    free(s);
}

int drift_spectral_bins(const struct drift_spectral *s)
{
    return s->bins;
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

/* Phases of one frame (into s->phase): identity phase locking around the magnitude peaks. */
static void frame_phases(struct drift_spectral *s, const float *mag)
{
    int bins = s->bins, n_peaks = 0;
    double advance = TWO_PI * s->p.hop / s->p.n_fft; /* radians per hop per bin of frequency */
    for (int k = 1; k < bins - 1; k++)
        if (mag[k] > mag[k - 1] && mag[k] >= mag[k + 1])
            s->peaks[n_peaks++] = k;
    if (n_peaks == 0) { /* silence: every bin advances at its own centre frequency */
        float a = (float)advance;
        for (int k = 0; k < bins; k++)
            s->phase[k] = fmodf(s->phase[k] + a * (float)k, (float)TWO_PI);
        return;
    }
    int start = 0;
    for (int i = 0; i < n_peaks; i++) {
        int p = s->peaks[i];
        double a = log((double)mag[p - 1] + s->p.floor), b = log((double)mag[p] + s->p.floor),
               c = log((double)mag[p + 1] + s->p.floor);
        double den = a - 2 * b + c, d = den < 0 ? 0.5 * (a - c) / den : 0.0;
        d = d > 0.5 ? 0.5 : d < -0.5 ? -0.5 : d;
        float ph = (float)fmod((double)s->phase[p] + advance * (p + d), TWO_PI);
        int end = bins;
        if (i + 1 < n_peaks) { /* the next region starts at the lowest bin between the peaks */
            int q = s->peaks[i + 1], low = p + 1;
            for (int k = p + 2; k < q; k++)
                if (mag[k] < mag[low])
                    low = k;
            end = low;
        }
        for (int k = start; k < end; k++)
            s->phase[k] = ph;
        start = end;
    }
}

void drift_spectral_frame(struct drift_spectral *s, const float *mag, float *pcm)
{
    int n = s->p.n_fft, hop = s->p.hop, bins = s->bins;
    frame_phases(s, mag);
    float gain = (float)n / 4.0f; /* the periodic Hann window's sum / 2 */
    for (int k = 0; k < bins; k++) {
        /* (-1)^k moves the phase reference from the frame's centre to its start */
        double m = (double)(mag[k] * gain) * ((k & 1) ? -1.0 : 1.0), ph = s->phase[k];
        s->spec[k].re = (float)(m * cos(ph));
        s->spec[k].im = (k == 0 || k == bins - 1) ? 0.0f : (float)(m * sin(ph));
    }
    s->itx(s->tx, s->frame, s->spec, sizeof(AVComplexFloat));
    const float ola = 1.5f; /* sum of the squared Hann window over hops of n_fft / 4 */
    for (int i = 0; i < n; i++)
        s->tail[i] += s->frame[i] * s->window[i] / ola;
    memcpy(pcm, s->tail, (size_t)hop * sizeof(float));
    memmove(s->tail, s->tail + hop, (size_t)(n - hop) * sizeof(float));
    memset(s->tail + n - hop, 0, (size_t)hop * sizeof(float));
}

void drift_spectral_synthesize(struct drift_spectral *s, const float *tokens, int frames, float *pcm)
{
    for (int f = 0; f < frames; f++) {
        drift_spectral_magnitudes(s, tokens + (size_t)f * s->bins, s->mag);
        float *out = pcm + (size_t)f * s->p.hop;
        drift_spectral_frame(s, s->mag, out);
        for (int i = 0; i < s->p.hop; i++)
            out[i] = out[i] > 1.0f ? 1.0f : out[i] < -1.0f ? -1.0f : out[i];
    }
}
