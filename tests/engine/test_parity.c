/* The engine against the PyTorch reference sampler (tools/models/reference.py golden): for every
 * golden case — each sampler, guidance, the empty prompt, video and audio — the same seed gives
 * frames at PSNR >= 40 dB (f32) / 30 dB (bf16), audio at SNR >= 40 / 30 dB. Cache policy paths:
 * "none" must give what "kv" gives (checked against the same golden frames). Video frames are
 * pixels whether the model makes them directly or decodes them from a latent (the reference's
 * output is the decoded frame): the golden shape [frames, H, W, 3] must be the model's pixel size. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <drift/generator.h>

#include "fixture.h"
#include "generator_internal.h" /* drift_generator_step: an audio chunk in model space */

#define GOLDEN_DIR FIXTURES_DIR "/models"

static float *read_f32(const char *file, size_t count)
{
    return fixture_read_f32("models", file, count);
}

static size_t shape_count(json_t *shape)
{
    size_t n = 1, i;
    json_t *d;
    json_array_foreach(shape, i, d)
        n *= (size_t)json_integer_value(d);
    return n;
}

static int64_t dim(json_t *shape, size_t i)
{
    return json_integer_value(json_array_get(shape, i));
}

/* Worst per-frame quality of one case: PSNR of 8-bit video frames against the reference's
 * model-space frames mapped the same way, or SNR of the audio model's chunks in model space (the
 * tokens the model produced, before they become PCM: the PCM path has tests of its own). */
static double run_case(const char *name, json_t *c, enum drift_precision precision,
                       enum drift_cache_policy cache)
{
    char model[1024];
    snprintf(model, sizeof(model), "%s/%s", DRIFT_SOURCE_DIR, json_string_value(json_object_get(c, "model")));
    struct drift_generator_settings s = {
        .prompt = json_string_value(json_object_get(c, "prompt")),
        .negative_prompt = json_string_value(json_object_get(c, "negative_prompt")),
        .seed = (uint64_t)json_integer_value(json_object_get(c, "seed")),
        .steps = (int)json_integer_value(json_object_get(c, "steps")),
        .sampler = json_string_value(json_object_get(c, "sampler")),
        .guidance = json_number_value(json_object_get(c, "guidance")),
        .shift = json_number_value(json_object_get(c, "shift")),
        .context_t = json_number_value(json_object_get(c, "context_t")),
        .cache = cache, .precision = precision,
    };
    /* Explicit, like every other setting of a case, so that a model's default does not change
     * what the fixture means; the older cases have no "commit": they were made with the pass. */
    const char *commit = json_string_value(json_object_get(c, "commit"));
    s.commit = DRIFT_COMMIT_PASS;
    if (commit && drift_commit_from_string(commit, &s.commit) < 0)
        fail_msg("%s: commit '%s' is not pass or last-step", name, commit);
    /* Likewise explicit: a case without "noise_carry" was made with fresh noise every frame. */
    double carry = json_number_value(json_object_get(c, "noise_carry"));
    s.noise_carry = carry > 0 ? carry : -1;
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    if (drift_generator_new(model, &s, &g, &err) < 0)
        fail_msg("%s: %s", name, err.message);
    const struct drift_model_info *info = drift_generator_info(g);
    json_t *out = json_object_get(c, "output"), *shape = json_object_get(out, "shape");
    int frames = (int)json_integer_value(json_object_get(c, "frames"));
    size_t total = shape_count(shape), per = total / (size_t)frames;
    /* Golden files written for another model (say a pixel model's, before a latent one replaced
     * it) must fail here by their shape, not as a poor PSNR. */
    if (dim(shape, 0) != frames)
        fail_msg("%s: golden output has %lld frames, the case %d", name, (long long)dim(shape, 0),
                 frames);
    if (info->kind == DRIFT_MODEL_VIDEO &&
        (json_array_size(shape) != 4 || dim(shape, 1) != info->height ||
         dim(shape, 2) != info->width || dim(shape, 3) != 3))
        fail_msg("%s: golden output is not [%d, %d, %d, 3] (the model's pixels): regenerate it "
                 "(tools/models/reference.py golden)", name, frames, info->height, info->width);
    if (info->kind == DRIFT_MODEL_AUDIO && per != g->frame_values)
        fail_msg("%s: golden chunks of %zu values, the model makes %zu: regenerate it", name, per,
                 g->frame_values);
    float *want = read_f32(json_string_value(json_object_get(out, "file")), total);
    double worst = INFINITY;
    uint8_t *rgb = malloc(per);
    for (int f = 0; f < frames; f++) {
        const float *ref = want + (size_t)f * per;
        double signal = 0, noise = 0;
        if (info->kind == DRIFT_MODEL_VIDEO) {
            if (drift_generator_next_frame(g, rgb, per, &err) < 0)
                fail_msg("%s frame %d: %s", name, f, err.message);
            for (size_t i = 0; i < per; i++) {
                double r = fmin(fmax((ref[i] + 1.0) * 127.5, 0), 255), d = rgb[i] - r;
                noise += d * d;
            }
            double q = 10 * log10(255.0 * 255.0 / fmax(noise / per, 1e-12));
            worst = fmin(worst, q);
        } else {
            if (drift_generator_step(g, &err) < 0)
                fail_msg("%s chunk %d: %s", name, f, err.message);
            for (size_t i = 0; i < per; i++) {
                double r = ref[i], x = g->x[i];
                signal += r * r;
                noise += (x - r) * (x - r);
            }
            worst = fmin(worst, 10 * log10(signal / fmax(noise, 1e-20)));
        }
    }
    free(rgb);
    free(want);
    drift_generator_free(g);
    return worst;
}

static void check_precision(enum drift_precision precision, double bar)
{
    json_error_t jerr;
    json_t *index = json_load_file(GOLDEN_DIR "/index.json", 0, &jerr);
    if (!index)
        fail_msg("golden index: %s", jerr.text);
    const char *name;
    json_t *c;
    int cases = 0;
    json_object_foreach(json_object_get(index, "cases"), name, c) {
        double q = run_case(name, c, precision, DRIFT_CACHE_KV);
        print_message("%-16s %-4s %6.1f dB\n", name, precision == DRIFT_PRECISION_F32 ? "f32" : "bf16", q);
        if (!(q >= bar))
            fail_msg("%s (%s): %.1f dB, the bar is %.0f dB", name,
                     precision == DRIFT_PRECISION_F32 ? "f32" : "bf16", q, bar);
        cases++;
    }
    assert_true(cases >= 8);
    json_decref(index);
}

static void f32_matches_the_reference_at_40_db(void **state)
{
    check_precision(DRIFT_PRECISION_F32, 40.0);
}

static void bf16_matches_the_reference_at_30_db(void **state)
{
    struct drift_context_options opt = { .precision = DRIFT_PRECISION_BF16 };
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    if (drift_context_new(&opt, &ctx, &err) < 0) { /* oneDNN's bf16 needs AVX-512 or AMX */
        print_message("bf16 parity not measured here: %s\n", err.message);
        skip();
    }
    drift_context_free(ctx);
    check_precision(DRIFT_PRECISION_BF16, 30.0);
}

static void recomputing_the_window_matches_the_reference_too(void **state)
{
    json_error_t jerr;
    json_t *index = json_load_file(GOLDEN_DIR "/index.json", 0, &jerr);
    if (!index)
        fail_msg("golden index: %s", jerr.text);
    json_t *c = json_object_get(json_object_get(index, "cases"), "video-euler");
    assert_non_null(c);
    double q = run_case("video-euler", c, DRIFT_PRECISION_F32, DRIFT_CACHE_NONE);
    print_message("video-euler none f32 %6.1f dB\n", q);
    assert_true(q >= 40.0);
    json_decref(index);
}

int main(void)
{
    unsetenv("DRIFT_PRECISION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f32_matches_the_reference_at_40_db),
        cmocka_unit_test(bf16_matches_the_reference_at_30_db),
        cmocka_unit_test(recomputing_the_window_matches_the_reference_too),
    };
    return cmocka_run_group_tests_name("parity", tests, NULL, NULL);
}
