/* The transformer's forward pass against tools/models/model.py (forward_frame) on a tiny random
 * model: text conditioning, 4 frames streamed through a window of 2 with commit passes, batch 2.
 * Also: the step caches' code paths, and a model file missing a tensor is refused by name. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dit.h"
#include "fixture.h"

struct env {
    struct drift_context *ctx;
    struct drift_safetensors *weights, *io;
    struct drift_config *config;
};

static struct drift_tensor io_tensor(struct env *e, const char *fmt, int i)
{
    char name[32];
    snprintf(name, sizeof(name), fmt, i);
    return fixture_tensor(e->io, name);
}

static void load(struct env *e, struct dit *d)
{
    struct drift_error err = { 0 };
    if (dit_load(e->ctx, e->weights, e->config, 2, d, &err) < 0)
        fail_msg("dit_load: %s", err.message);
}

static void text_conditioning_matches_reference(void **state)
{
    struct env *e = *state;
    struct dit d;
    load(e, &d);
    float text[64], null[64];
    struct drift_error err = { 0 };
    assert_int_equal(dit_text_cond(&d, (int[]){ 1, 3, 3 }, 3, text, &err), 0);
    assert_int_equal(dit_text_cond(&d, NULL, 0, null, &err), 0);
    struct drift_tensor want = fixture_tensor(e->io, "text"), got = want;
    got.data = text;
    assert_true(relative_error(&got, &want) <= tolerance_for(e->ctx));
    want = fixture_tensor(e->io, "null");
    got.data = null;
    assert_true(relative_error(&got, &want) == 0.0);
    assert_int_equal(dit_text_cond(&d, (int[]){ 12 }, 1, text, &err), -EINVAL);
    dit_free(&d);
}

/* Streams the fixture's 4 frames; returns the worst relative error of the velocities. */
static double stream_frames(struct env *e, struct dit *d, struct dit_step_cache *sc)
{
    struct drift_error err = { 0 };
    float text[64], null[64];
    dit_text_cond(d, (int[]){ 1, 3, 3 }, 3, text, &err);
    dit_text_cond(d, NULL, 0, null, &err);
    const float *texts[2] = { text, null };
    struct drift_tensor want0 = io_tensor(e, "v%d", 0), v = tensor_like(&want0);
    double worst = 0;
    for (int f = 0; f < 4; f++) {
        struct drift_tensor x = io_tensor(e, "x%d", f), t = io_tensor(e, "t%d", f),
                            want = io_tensor(e, "v%d", f), clean = io_tensor(e, "clean%d", f),
                            tctx = io_tensor(e, "tctx%d", f);
        if (dit_condition(d, t.data, texts, &err) < 0 ||
            dit_forward(d, &x, f, sc, &v, &err) < 0)
            fail_msg("frame %d: %s", f, err.message);
        double rel = relative_error(&v, &want);
        worst = rel > worst ? rel : worst;
        if (dit_condition(d, tctx.data, texts, &err) < 0 || dit_commit(d, &clean, f, &err) < 0)
            fail_msg("commit %d: %s", f, err.message);
    }
    drift_tensor_free(&v);
    return worst;
}

static void streaming_forward_matches_reference(void **state)
{
    struct env *e = *state;
    struct dit d;
    load(e, &d);
    double worst = stream_frames(e, &d, NULL);
    print_message("dit forward (%s): worst relative error %.2e\n",
                  drift_precision_name(drift_context_precision(e->ctx)), worst);
    assert_true(worst <= tolerance_for(e->ctx));
    dit_free(&d);
}

static void step_cache_reuses_only_below_threshold(void **state)
{
    struct env *e = *state;
    struct dit d;
    load(e, &d);
    struct drift_error err = { 0 };
    float text[64];
    dit_text_cond(&d, NULL, 0, text, &err);
    const float *texts[2] = { text, text };
    struct drift_tensor x = io_tensor(e, "x%d", 0), want = io_tensor(e, "v%d", 0);
    struct drift_tensor v1 = tensor_like(&want), v2 = tensor_like(&want);
    enum dit_step_mode modes[] = { DIT_STEP_TEACACHE, DIT_STEP_FIRST_BLOCK, DIT_STEP_FORA };
    for (size_t m = 0; m < 3; m++) {
        struct dit_step_cache sc = { .mode = modes[m], .threshold = 0.5, .force = true };
        dit_step_cache_reset(&d, &sc);
        float t1[2] = { 0.5f, 0.5f }, t2[2] = { 0.5001f, 0.5001f };
        assert_int_equal(dit_condition(&d, t1, texts, &err), 0);
        assert_int_equal(dit_forward(&d, &x, 0, &sc, &v1, &err), 0);
        assert_false(sc.skipped); /* forced: computed */
        sc.force = false;
        assert_int_equal(dit_condition(&d, t2, texts, &err), 0);
        assert_int_equal(dit_forward(&d, &x, 0, &sc, &v2, &err), 0);
        assert_true(sc.skipped); /* nearly the same input: reused */
        assert_true(relative_error(&v2, &v1) < 1e-2);
        sc.threshold = 0.0; /* nothing is small enough */
        assert_int_equal(dit_forward(&d, &x, 0, &sc, &v2, &err), 0);
        assert_int_equal(sc.skipped, modes[m] == DIT_STEP_FORA); /* FORA ignores thresholds */
    }
    drift_tensor_free(&v1);
    drift_tensor_free(&v2);
    dit_free(&d);
}

static void model_missing_a_tensor_is_refused_by_name(void **state)
{
    struct env *e = *state;
    const char *json = "{\"arch\":{\"hidden\":64,\"depth\":3,\"heads\":4,\"mlp_ratio\":4,"
                       "\"window\":2,\"text_dim\":16,\"vocab_size\":12,\"tokens\":16,"
                       "\"in_dim\":192,\"alibi_slopes\":[1,0.5,0.25,0.125]}}";
    struct drift_config *c = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_config_parse(json, strlen(json), "deeper.json", &c, &err), 0);
    struct dit d;
    assert_int_equal(dit_load(e->ctx, e->weights, c, 2, &d, &err), -ENOENT);
    assert_non_null(strstr(err.message, "'blocks.2.adaLN.weight' is missing"));
    drift_config_free(c);
    const char *bad = "{\"arch\":{\"hidden\":64,\"depth\":2,\"heads\":3,\"mlp_ratio\":4,"
                      "\"window\":2,\"text_dim\":16,\"vocab_size\":12,\"tokens\":16,"
                      "\"in_dim\":192,\"alibi_slopes\":[1,0.5,0.25]}}";
    assert_int_equal(drift_config_parse(bad, strlen(bad), "heads.json", &c, &err), 0);
    assert_int_equal(dit_load(e->ctx, e->weights, c, 2, &d, &err), -EINVAL);
    assert_non_null(strstr(err.message, "hidden 64 is not a multiple of heads 3"));
    drift_config_free(c);
}

static int setup(void **state, enum drift_precision precision)
{
    struct env *e = calloc(1, sizeof(*e));
    struct drift_error err = { 0 };
    e->ctx = context_for(precision);
    if (!e->ctx)
        return -1;
    if (drift_safetensors_open(FIXTURES_DIR "/dit/tiny.safetensors", &e->weights, &err) < 0 ||
        drift_safetensors_open(FIXTURES_DIR "/dit/tiny_io.safetensors", &e->io, &err) < 0 ||
        drift_config_open(FIXTURES_DIR "/dit/tiny.json", &e->config, &err) < 0) {
        print_error("%s\n", err.message);
        return -1;
    }
    *state = e;
    return 0;
}

static int setup_f32(void **state) { return setup(state, DRIFT_PRECISION_F32); }
static int setup_bf16(void **state) { return setup(state, DRIFT_PRECISION_BF16); }

static int teardown(void **state)
{
    struct env *e = *state;
    drift_safetensors_close(e->weights);
    drift_safetensors_close(e->io);
    drift_config_free(e->config);
    drift_context_free(e->ctx);
    free(e);
    return 0;
}

int main(void)
{
    unsetenv("DRIFT_PRECISION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_conditioning_matches_reference),
        cmocka_unit_test(streaming_forward_matches_reference),
        cmocka_unit_test(step_cache_reuses_only_below_threshold),
        cmocka_unit_test(model_missing_a_tensor_is_refused_by_name),
    };
    int failed = cmocka_run_group_tests_name("dit_f32", tests, setup_f32, teardown);
    struct drift_context *probe = context_for(DRIFT_PRECISION_BF16);
    if (probe) {
        drift_context_free(probe);
        failed += cmocka_run_group_tests_name("dit_bf16", tests, setup_bf16, teardown);
    }
    return failed;
}
