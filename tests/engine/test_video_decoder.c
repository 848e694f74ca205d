/* The latent video decoder alone (engine/src/video_decoder.c) on the tiny latent fixture
 * (tests/fixtures/dit/tiny-latent: conv 3x3, bilinear x2, conv 3x3, conv 1x1, pixel shuffle 2):
 * a random latent decodes to the pixels tools/models/reference.py decode() gives, within the
 * precision's tolerance, and decoding again allocates and builds nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <drift/drift.h>

#include "fixture.h"
#include "video_decoder.h"

#define MODEL FIXTURES_DIR "/dit/tiny-latent"

static void decode_and_compare(enum drift_precision precision)
{
    struct drift_context *ctx = context_for(precision);
    if (!ctx) {
        print_message("decoder: precision %d not available here\n", (int)precision);
        skip();
    }
    struct drift_error err = { 0 };
    struct drift_config *config = NULL;
    struct drift_safetensors *weights = NULL, *golden = NULL;
    if (drift_config_open(MODEL ".json", &config, &err) < 0 ||
        drift_safetensors_open(MODEL ".safetensors", &weights, &err) < 0 ||
        drift_safetensors_open(MODEL "_golden.safetensors", &golden, &err) < 0)
        fail_msg("fixture: %s", err.message);
    struct drift_video_decoder_config cfg;
    assert_int_equal(drift_video_decoder_read_config(config, 32, 32, &cfg, &err), 0);
    assert_int_equal(cfg.factor, 4);
    assert_int_equal(cfg.channels, 4);
    assert_int_equal(cfg.grid_w, 8);
    assert_int_equal(cfg.grid_h, 8);
    assert_int_equal(cfg.convs, 3);
    assert_int_equal(cfg.ups, 1);
    assert_int_equal(cfg.shuffle, 2);
    struct drift_video_decoder *d = NULL;
    if (drift_video_decoder_new(ctx, weights, &cfg, &d, &err) < 0)
        fail_msg("decoder: %s", err.message);
    drift_safetensors_close(weights); /* the decoder keeps its own copies */
    struct drift_tensor latent = fixture_tensor(golden, "decoder.latent"),
                        want = fixture_tensor(golden, "decoder.pixels");
    assert_int_equal(drift_tensor_numel(&latent), 8 * 8 * 4);
    assert_int_equal(drift_tensor_numel(&want), 32 * 32 * 3);
    const float *pixels = NULL;
    struct drift_counters before = { 0 };
    for (int round = 0; round < 3; round++) {
        if (round == 1)
            before = *drift_context_counters(ctx);
        if (drift_video_decoder_run(d, latent.data, &pixels, &err) < 0)
            fail_msg("decode: %s", err.message);
    }
    struct drift_tensor got;
    assert_int_equal(drift_tensor_view(&got, DRIFT_F32, (void *)pixels, want.ndim, want.shape), 0);
    double rel = relative_error(&got, &want);
    print_message("decoder (%s): relative error %.2e\n",
                  drift_context_compute_dtype(ctx) == DRIFT_BF16 ? "bf16" : "f32", rel);
    assert_true(rel <= tolerance_for(ctx));
    const struct drift_counters *after = drift_context_counters(ctx);
    assert_int_equal(after->allocations, before.allocations);
    assert_int_equal(after->primitives_created, before.primitives_created);
    assert_true(after->seconds[DRIFT_OP_CONV] > before.seconds[DRIFT_OP_CONV]);
    drift_video_decoder_free(d);
    drift_safetensors_close(golden);
    drift_config_free(config);
    drift_context_free(ctx);
}

static void decodes_like_the_reference_f32(void **state)
{
    (void)state;
    decode_and_compare(DRIFT_PRECISION_F32);
}

static void decodes_like_the_reference_bf16(void **state)
{
    (void)state;
    decode_and_compare(DRIFT_PRECISION_BF16);
}

/* A pixel model has no latent section: its "latent" is the picture itself. */
static void a_pixel_model_reads_as_its_own_latent(void **state)
{
    (void)state;
    struct drift_error err = { 0 };
    struct drift_config *config = NULL;
    if (drift_config_open(FIXTURES_DIR "/dit/tiny.json", &config, &err) < 0)
        fail_msg("fixture: %s", err.message);
    struct drift_video_decoder_config cfg;
    assert_int_equal(drift_video_decoder_read_config(config, 32, 32, &cfg, &err), 0);
    assert_int_equal(cfg.factor, 1);
    assert_int_equal(cfg.channels, 3);
    assert_int_equal(cfg.grid_w, 32);
    assert_int_equal(cfg.layer_count, 0);
    assert_true(cfg.clip == 1.0);
    drift_config_free(config);
}

int main(void)
{
    unsetenv("DRIFT_PRECISION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_like_the_reference_f32),
        cmocka_unit_test(decodes_like_the_reference_bf16),
        cmocka_unit_test(a_pixel_model_reads_as_its_own_latent),
    };
    return cmocka_run_group_tests_name("video decoder", tests, NULL, NULL);
}
