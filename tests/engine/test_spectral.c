/* The audio synthesiser (engine/src/spectral.c) against the reference's (tools/models/spectral.py)
 * on the golden stream of tests/fixtures/models (index.json "spectral"), its tonal accuracy on an
 * exact sinusoid, its state handling and its argument checks. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <libavutil/mem.h>
#include <libavutil/tx.h>

#include "fixture.h"
#include "spectral.h"

#define MODELS FIXTURES_DIR "/models/"

static float *read_f32(const char *file, size_t count)
{
    return fixture_read_f32("models", file, count);
}

struct golden {
    struct drift_spectral_params p;
    int frames, bins;
    double stereo_width;
    float *mean, *std, *tokens, *mags, *pcm, *pcm_stereo;
};

static void golden_load(struct golden *g)
{
    json_error_t jerr;
    json_t *index = json_load_file(MODELS "index.json", 0, &jerr);
    if (!index)
        fail_msg("golden index: %s", jerr.text);
    json_t *s = json_object_get(index, "spectral");
    assert_non_null(s);
    g->p = (struct drift_spectral_params){
        .n_fft = (int)json_integer_value(json_object_get(s, "n_fft")),
        .hop = (int)json_integer_value(json_object_get(s, "hop")),
        .floor = json_number_value(json_object_get(s, "floor")),
        .spread = json_number_value(json_object_get(s, "spread")),
    };
    g->frames = (int)json_integer_value(json_object_get(s, "frames"));
    g->bins = g->p.n_fft / 2 + 1;
    size_t fb = (size_t)g->frames * g->bins;
    g->mean = read_f32("spectral.mean.f32", (size_t)g->bins);
    g->std = read_f32("spectral.std.f32", (size_t)g->bins);
    g->tokens = read_f32("spectral.tokens.f32", fb);
    g->mags = read_f32("spectral.magnitudes.f32", fb);
    g->pcm = read_f32("spectral.pcm.f32", (size_t)g->frames * g->p.hop);
    g->stereo_width = json_number_value(json_object_get(s, "stereo_width"));
    g->pcm_stereo = read_f32("spectral.pcm-stereo.f32", (size_t)g->frames * g->p.hop * 2);
    json_decref(index);
}

static void golden_free(struct golden *g)
{
    free(g->mean);
    free(g->std);
    free(g->tokens);
    free(g->mags);
    free(g->pcm);
    free(g->pcm_stereo);
}

static struct drift_spectral *synth_new(const struct golden *g)
{
    struct drift_spectral *s = NULL;
    struct drift_error err = { 0 };
    if (drift_spectral_new(&g->p, g->mean, g->std, &s, &err) < 0)
        fail_msg("drift_spectral_new: %s", err.message);
    return s;
}

static void magnitudes_match_the_reference(void **state)
{
    (void)state;
    struct golden g;
    golden_load(&g);
    struct drift_spectral *s = synth_new(&g);
    float *m = malloc((size_t)g.bins * sizeof(float));
    double worst = 0;
    for (int f = 0; f < g.frames; f++) {
        drift_spectral_magnitudes(s, g.tokens + (size_t)f * g.bins, m);
        for (int k = 0; k < g.bins; k++) {
            double want = g.mags[(size_t)f * g.bins + k];
            worst = fmax(worst, fabs(m[k] - want) / (fabs(want) + 1e-6));
        }
    }
    print_message("magnitudes: worst relative error %.2e\n", worst);
    assert_true(worst < 1e-4);
    free(m);
    drift_spectral_free(s);
    golden_free(&g);
}

/* SNR in dB of got against want over n samples. */
static double snr(const float *got, const float *want, size_t n)
{
    double sig = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        sig += (double)want[i] * want[i];
        noise += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    }
    return 10 * log10(sig / fmax(noise, 1e-30));
}

static void pcm_matches_the_reference(void **state)
{
    (void)state;
    struct golden g;
    golden_load(&g);
    struct drift_spectral *s = synth_new(&g);
    float *pcm = malloc((size_t)g.frames * g.p.hop * sizeof(float));
    for (int f = 0; f < g.frames; f++) /* the reference's magnitudes: the same peaks on both sides */
        drift_spectral_frame(s, g.mags + (size_t)f * g.bins, pcm + (size_t)f * g.p.hop);
    double q = snr(pcm, g.pcm, (size_t)g.frames * g.p.hop);
    print_message("pcm: %.1f dB SNR against the reference\n", q);
    assert_true(q >= 60.0);
    /* From the start again: the same samples (no state survives a reset). */
    float *again = malloc((size_t)g.frames * g.p.hop * sizeof(float));
    drift_spectral_reset(s);
    for (int f = 0; f < g.frames; f++)
        drift_spectral_frame(s, g.mags + (size_t)f * g.bins, again + (size_t)f * g.p.hop);
    assert_memory_equal(pcm, again, (size_t)g.frames * g.p.hop * sizeof(float));
    free(again);
    free(pcm);
    drift_spectral_free(s);
    golden_free(&g);
}

/* A stationary tone between two bins (437.3 Hz at 24 kHz; bins are 23.4 Hz apart): magnitudes
 * taken from the exact STFT of the tone, synthesised for 64 frames; the output's frequency, from
 * its zero crossings, must be within 0.3% (a twentieth of a semitone), its amplitude within 5%. */
static void a_tone_comes_back_in_tune(void **state)
{
    (void)state;
    enum { N = 1024, HOP = 256, BINS = N / 2 + 1, FRAMES = 64 };
    const double rate = 24000, freq = 437.3, amp = 0.3;
    float *frame = av_malloc(N * sizeof(float));
    /* zeroed: the forward RDFT (libavutil 57.28) leaves the Nyquist bin's imaginary part unwritten */
    AVComplexFloat *spec = av_mallocz(BINS * sizeof(AVComplexFloat));
    AVTXContext *tx = NULL;
    av_tx_fn fwd;
    float scale = 1.0f;
    assert_int_equal(av_tx_init(&tx, &fwd, AV_TX_FLOAT_RDFT, 0, N, &scale, 0), 0);
    for (int n = 0; n < N; n++)
        frame[n] = (float)(amp * sin(2 * M_PI * freq * n / rate) * (0.5 - 0.5 * cos(2 * M_PI * n / N)));
    fwd(tx, spec, frame, sizeof(float));
    float mag[BINS], mean[BINS], std[BINS];
    for (int k = 0; k < BINS; k++) {
        mag[k] = hypotf(spec[k].re, spec[k].im) / (N / 4.0f);
        mean[k] = 0;
        std[k] = 1;
    }
    struct drift_spectral_params p = { .n_fft = N, .hop = HOP, .floor = 1e-4, .spread = 4 };
    struct drift_spectral *s = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), 0);
    static float pcm[FRAMES * HOP];
    for (int f = 0; f < FRAMES; f++)
        drift_spectral_frame(s, mag, pcm + f * HOP);
    /* skip the fade-in of the first window; count rising zero crossings with interpolation */
    int first = -1, count = 0;
    double t_first = 0, t_last = 0, peak = 0;
    for (int i = N; i < FRAMES * HOP; i++) {
        peak = fmax(peak, fabs(pcm[i]));
        if (pcm[i - 1] < 0 && pcm[i] >= 0) {
            double t = i - 1 + pcm[i - 1] / (pcm[i - 1] - pcm[i]);
            if (first < 0) {
                first = i;
                t_first = t;
            } else {
                count++;
                t_last = t;
            }
        }
    }
    double measured = count * rate / (t_last - t_first);
    print_message("tone %.1f Hz -> %.2f Hz, amplitude %.3f -> %.3f\n", freq, measured, amp, peak);
    assert_true(count > 100);
    assert_true(fabs(measured / freq - 1) < 0.003);
    assert_true(fabs(peak / amp - 1) < 0.05);
    drift_spectral_free(s);
    av_tx_uninit(&tx);
    av_free(frame);
    av_free(spec);
}

/* Noise must not gather at the frame centres (every hop): phase-locking noise bins to their peaks
 * made a click every 10.7 ms (the second difference at hop boundaries was 3x that between them).
 * The golden's rain frames (16..31), 8 times over. */
static void noise_is_spread_evenly_over_each_hop(void **state)
{
    (void)state;
    struct golden g;
    golden_load(&g);
    struct drift_spectral *s = synth_new(&g);
    enum { ROUNDS = 8, FIRST = 16, COUNT = 16 };
    int hop = g.p.hop;
    float *pcm = malloc((size_t)ROUNDS * COUNT * hop * sizeof(float));
    for (int r = 0; r < ROUNDS; r++)
        for (int f = 0; f < COUNT; f++)
            drift_spectral_frame(s, g.mags + (size_t)(FIRST + f) * g.bins,
                                 pcm + (size_t)(r * COUNT + f) * hop);
    double edge = 0, middle = 0;
    int n_edge = 0, n_middle = 0;
    for (int i = 4 * hop; i < ROUNDS * COUNT * hop - 1; i++) {
        double d2 = fabs(pcm[i + 1] - 2.0 * pcm[i] + pcm[i - 1]);
        int at = i % hop, from_edge = at < hop / 2 ? at : hop - at;
        if (from_edge < hop / 16) {
            edge += d2;
            n_edge++;
        } else if (abs(at - hop / 2) < hop / 16) {
            middle += d2;
            n_middle++;
        }
    }
    double ratio = (edge / n_edge) / (middle / n_middle);
    print_message("rain: second difference at hop boundaries / mid-hop = %.3f\n", ratio);
    assert_true(ratio < 1.25 && ratio > 0.8);
    free(pcm);
    drift_spectral_free(s);
    golden_free(&g);
}

/* All frames of the golden stream through a synthesiser of `channels`, `width` and
 * `noise_level`; the result (frames * hop * channels, interleaved) is the caller's. */
static float *synth_all_level(const struct golden *g, int channels, double width, double noise_level)
{
    struct drift_spectral_params p = g->p;
    p.channels = channels;
    p.width = width;
    p.noise_level = noise_level;
    struct drift_spectral *s = NULL;
    struct drift_error err = { 0 };
    if (drift_spectral_new(&p, g->mean, g->std, &s, &err) < 0)
        fail_msg("drift_spectral_new: %s", err.message);
    size_t per_frame = (size_t)g->p.hop * channels;
    float *pcm = malloc((size_t)g->frames * per_frame * sizeof(float));
    for (int f = 0; f < g->frames; f++)
        drift_spectral_frame(s, g->mags + (size_t)f * g->bins, pcm + (size_t)f * per_frame);
    drift_spectral_free(s);
    return pcm;
}

static float *synth_all(const struct golden *g, int channels, double width)
{
    return synth_all_level(g, channels, width, 1.0);
}

/* Correlation of the two channels over frames [first, first + count) of an interleaved stream. */
static double channel_correlation(const float *pcm, int hop, int first, int count)
{
    double lr = 0, ll = 0, rr = 0;
    for (size_t i = (size_t)first * hop; i < (size_t)(first + count) * hop; i++) {
        double l = pcm[2 * i], r = pcm[2 * i + 1];
        lr += l * r;
        ll += l * l;
        rr += r * r;
    }
    return lr / sqrt(ll * rr + 1e-30);
}

/* Stereo: the reference's interleaved stream; the left channel is the mono synthesis sample for
 * sample; tones stay in the centre (the high chimes' channels correlate at 0.98) and noise spreads
 * (rain's at 0.70 with w = 0.75: its noise bins alone would correlate at sin(pi w) / (pi w) = 0.30,
 * but a noise spectrum's local maxima often pass as tonal peaks and stay locked); width 0 gives two
 * equal channels. */
static void stereo_keeps_tones_centred_and_spreads_noise(void **state)
{
    (void)state;
    struct golden g;
    golden_load(&g);
    size_t n = (size_t)g.frames * g.p.hop;
    float *mono = synth_all(&g, 1, 0), *stereo = synth_all(&g, 2, g.stereo_width);
    double q = snr(stereo, g.pcm_stereo, 2 * n);
    print_message("stereo pcm: %.1f dB SNR against the reference (width %.2f)\n", q, g.stereo_width);
    assert_true(q >= 60.0);
    for (size_t i = 0; i < n; i++)
        if (stereo[2 * i] != mono[i])
            fail_msg("sample %zu: left %g, mono %g", i, stereo[2 * i], mono[i]);
    /* the first 4 frames are the overlap-add's fade-in */
    double drone = channel_correlation(stereo, g.p.hop, 4, 12),
           rain = channel_correlation(stereo, g.p.hop, 20, 12),
           chimes = channel_correlation(stereo, g.p.hop, 36, 12);
    print_message("left/right correlation: low drone %.3f, rain %.3f, high chimes %.3f\n", drone,
                  rain, chimes);
    assert_true(chimes > 0.95);
    assert_true(rain < 0.8 && rain > 0.0);
    assert_true(drone > rain);
    float *narrow = synth_all(&g, 2, 0);
    for (size_t i = 0; i < n; i++)
        if (narrow[2 * i] != narrow[2 * i + 1])
            fail_msg("width 0, sample %zu: left %g, right %g", i, narrow[2 * i], narrow[2 * i + 1]);
    free(narrow);
    free(stereo);
    free(mono);
    golden_free(&g);
}

static void silence_stays_silent(void **state)
{
    (void)state;
    enum { N = 256, BINS = N / 2 + 1 };
    float mean[BINS], std[BINS], token[BINS], pcm[N / 4];
    for (int k = 0; k < BINS; k++) {
        mean[k] = logf(1e-4f); /* ln(0 + floor): token 0 is magnitude 0 */
        std[k] = 1;
        token[k] = 0;
    }
    struct drift_spectral_params p = { .n_fft = N, .hop = N / 4, .floor = 1e-4, .spread = 4 };
    struct drift_spectral *s = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), 0);
    for (int f = 0; f < 8; f++) {
        drift_spectral_synthesize(s, token, 1, pcm);
        for (int i = 0; i < N / 4; i++)
            assert_true(fabsf(pcm[i]) < 1e-6f);
    }
    drift_spectral_free(s);
}

static void bad_parameters_are_refused_by_name(void **state)
{
    (void)state;
    enum { BINS = 513 };
    static float mean[BINS], std[BINS];
    for (int k = 0; k < BINS; k++)
        std[k] = 1;
    struct drift_spectral *s = NULL;
    struct drift_error err = { 0 };
    struct drift_spectral_params p = { .n_fft = 1000, .hop = 250, .floor = 1e-4, .spread = 4 };
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "n_fft 1000"));
    p = (struct drift_spectral_params){ .n_fft = 1024, .hop = 512, .floor = 1e-4, .spread = 4 };
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "hop 512"));
    p.hop = 256;
    p.floor = 0;
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "floor"));
    p.floor = 1e-4;
    std[7] = 0;
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "bin 7"));
    std[7] = 1;
    mean[9] = NAN;
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "bin 9"));
    mean[9] = 0;
    p.channels = 3;
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "channels 3"));
    p.channels = 2;
    p.width = 1.5;
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "width 1.5"));
    p.width = 1;
    p.noise_level = 5;
    assert_int_equal(drift_spectral_new(&p, mean, std, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "noise level 5"));
    assert_null(s);
}

/* Energy of pcm[from, to) and of the difference of two streams there. */
static double energy(const float *a, const float *b, size_t from, size_t to)
{
    double e = 0;
    for (size_t i = from; i < to; i++) {
        double d = b ? (double)a[i] - b[i] : a[i];
        e += d * d;
    }
    return e;
}

/* audio.noise_level scales the noise bins and nothing else: the phases do not depend on it, so
 * the output is tones + level x noise, exactly linear in the level; the high chimes (tonal) hardly
 * change while rain (noise) grows with it; and at level 0.5, where the noise bins' gain equals the
 * tonal bins' 1, the right channel still turns the noise bins (rain: 0.84 with width 1, noise at a
 * quarter of its power; 1.0 if they were taken for tones, as a test of the gain would). */
static void noise_level_scales_the_noise_bins_only(void **state)
{
    (void)state;
    struct golden g;
    golden_load(&g);
    size_t n = (size_t)g.frames * g.p.hop, hop = (size_t)g.p.hop;
    float *one = synth_all_level(&g, 1, 0, 1.0), *half = synth_all_level(&g, 1, 0, 1.5),
          *two = synth_all_level(&g, 1, 0, 2.0);
    /* two - one = 2 (half - one), to float rounding */
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = ((double)two[i] - one[i]) - 2.0 * ((double)half[i] - one[i]);
        worst = fmax(worst, fabs(d));
        scale = fmax(scale, fabs((double)two[i] - one[i]));
    }
    print_message("noise level: linearity error %.2e of %.2e\n", worst, scale);
    assert_true(scale > 0.01);
    assert_true(worst < 1e-5 * scale + 1e-6);
    double rain_growth = energy(two, NULL, 20 * hop, 32 * hop) / energy(one, NULL, 20 * hop, 32 * hop),
           chimes_change = energy(two, one, 36 * hop, 48 * hop) / energy(one, NULL, 36 * hop, 48 * hop);
    print_message("level 2: rain's energy x%.2f; the chimes' change %.3f of their energy\n",
                  rain_growth, chimes_change);
    assert_true(rain_growth > 2.0 && rain_growth <= 4.0 + 1e-6);
    assert_true(chimes_change < 0.1);
    float *stereo = synth_all_level(&g, 2, 1.0, 0.5);
    double rain = channel_correlation(stereo, g.p.hop, 20, 12),
           chimes = channel_correlation(stereo, g.p.hop, 36, 12);
    print_message("level 0.5, width 1: left/right correlation rain %.3f, high chimes %.3f\n", rain,
                  chimes);
    assert_true(rain < 0.9); /* 1 if its noise bins were taken for tones */
    assert_true(chimes > 0.95);
    free(stereo);
    free(two);
    free(half);
    free(one);
    golden_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(magnitudes_match_the_reference),
        cmocka_unit_test(pcm_matches_the_reference),
        cmocka_unit_test(a_tone_comes_back_in_tune),
        cmocka_unit_test(noise_is_spread_evenly_over_each_hop),
        cmocka_unit_test(stereo_keeps_tones_centred_and_spreads_noise),
        cmocka_unit_test(noise_level_scales_the_noise_bins_only),
        cmocka_unit_test(silence_stays_silent),
        cmocka_unit_test(bad_parameters_are_refused_by_name),
    };
    return cmocka_run_group_tests_name("spectral", tests, NULL, NULL);
}
