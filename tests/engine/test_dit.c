/* The transformer's forward pass against tools/models/model.py (forward_frame) on a tiny random
 * model: text conditioning, 4 frames streamed through a window of 2 with commit passes, batch 2.
 * Also: the step caches' code paths, the conditioning memo (reused for the same noise level and
 * text only, exactly), the first row evaluated alone (and kept out of the window), and a model file
 * missing a tensor is refused by name. */
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

/* The fixture's prompt (word ids 1 3 3) and the empty one: the two rows' text vectors. */
static void prompt_and_null(struct dit *d, float text[64], float null[64], const float *texts[2])
{
    struct drift_error err = { 0 };
    if (dit_text_cond(d, (int[]){ 1, 3, 3 }, 3, text, &err) < 0 ||
        dit_text_cond(d, NULL, 0, null, &err) < 0)
        fail_msg("dit_text_cond: %s", err.message);
    texts[0] = text;
    texts[1] = null;
}

/* Streams the fixture's 4 frames; returns the worst relative error of the velocities. */
static double stream_frames(struct env *e, struct dit *d, struct dit_step_cache *sc)
{
    struct drift_error err = { 0 };
    float text[64], null[64];
    const float *texts[2];
    prompt_and_null(d, text, null, texts);
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

/* One evaluation at (t, texts) on x; returns the FLOPs the context counted for it. */
static double evaluate(struct dit *d, const float *t, const float *const *texts,
                       const struct drift_tensor *x, struct dit_step_cache *sc,
                       struct drift_tensor *v)
{
    struct drift_error err = { 0 };
    double before = drift_context_counters(d->ctx)->flops;
    if (dit_condition(d, t, texts, &err) < 0 || dit_forward(d, x, 0, sc, v, &err) < 0)
        fail_msg("evaluation: %s", err.message);
    return drift_context_counters(d->ctx)->flops - before;
}

static bool same_floats(const struct drift_tensor *a, const struct drift_tensor *b)
{
    return memcmp(a->data, b->data, drift_tensor_nbytes(a)) == 0;
}

static void conditioning_memo_reuses_only_the_same_key(void **state)
{
    struct env *e = *state;
    struct dit d, fresh;
    load(e, &d);
    float text[64], null[64];
    const float *texts[2];
    prompt_and_null(&d, text, null, texts);
    struct drift_tensor x = io_tensor(e, "x%d", 0), want = io_tensor(e, "v%d", 0);
    struct drift_tensor v1 = tensor_like(&want), v2 = tensor_like(&want);
    float t1[2] = { 0.7f, 0.7f }, t2[2] = { 0.3f, 0.3f };
    double first = evaluate(&d, t1, texts, &x, NULL, &v1);
    evaluate(&d, t2, texts, &x, NULL, &v2);
    double again = evaluate(&d, t1, texts, &x, NULL, &v2);
    assert_true(again < first); /* the time MLP and every adaLN product skipped */
    assert_true(same_floats(&v2, &v1));

    /* The same pointer with other contents is another key: as a fresh model computes it. */
    text[0] += 0.5f;
    double changed = evaluate(&d, t1, texts, &x, NULL, &v2);
    assert_true(changed == first);
    load(e, &fresh);
    evaluate(&fresh, t1, texts, &x, NULL, &v1);
    assert_true(same_floats(&v2, &v1));

    /* A step cache that skipped blocks leaves their modulations unfilled: a later full evaluation
     * with the same key computes them. */
    float t3[2] = { 0.5f, 0.5f }, t4[2] = { 0.5001f, 0.5001f };
    struct dit_step_cache sc = { .mode = DIT_STEP_FIRST_BLOCK, .threshold = 0.5, .force = true };
    dit_step_cache_reset(&d, &sc);
    evaluate(&d, t3, texts, &x, &sc, &v2);
    sc.force = false;
    evaluate(&d, t4, texts, &x, &sc, &v2);
    assert_true(sc.skipped); /* t4's entry has block 0's and the final modulations only */
    evaluate(&d, t4, texts, &x, NULL, &v2);
    evaluate(&fresh, t4, texts, &x, NULL, &v1);
    assert_true(same_floats(&v2, &v1));

    /* More keys than entries: the oldest are replaced, the answers stay right. */
    for (int k = 0; k < DIT_COND_MEMO + 3; k++) {
        float tk[2] = { 0.05f * (float)(k + 1), 0.05f * (float)(k + 1) };
        evaluate(&d, tk, texts, &x, NULL, &v2);
        evaluate(&fresh, tk, texts, &x, NULL, &v1);
        assert_true(same_floats(&v2, &v1));
    }
    drift_tensor_free(&v1);
    drift_tensor_free(&v2);
    dit_free(&fresh);
    dit_free(&d);
}

/* An input of fewer rows than the batch evaluates its first rows alone, as the whole batch gives
 * them; the window cannot keep such an evaluation, a commit needs every row, and more rows than the
 * batch are refused. */
static void the_first_row_alone_is_evaluated_and_kept_out_of_the_window(void **state)
{
    struct env *e = *state;
    struct dit d;
    load(e, &d);
    struct drift_error err = { 0 };
    float text[64], null[64];
    const float *texts[2];
    prompt_and_null(&d, text, null, texts);
    float t[2] = { 0.6f, 0.6f };
    struct drift_tensor x = io_tensor(e, "x%d", 0), want = io_tensor(e, "v%d", 0);
    struct drift_tensor both = tensor_like(&want), first = tensor_like(&want);
    double flops_both = evaluate(&d, t, texts, &x, NULL, &both);
    assert_int_equal(dit_commit_working(&d, 0, &err), 0);
    dit_clear_cache(&d);

    struct drift_tensor x1 = x, v1 = first;
    x1.shape[0] = v1.shape[0] = 1;
    double flops_first = evaluate(&d, t, texts, &x1, NULL, &v1);
    assert_true(flops_first < flops_both);
    struct drift_tensor both_first = both;
    both_first.shape[0] = 1;
    assert_true(relative_error(&v1, &both_first) <= tolerance_for(e->ctx));

    assert_int_equal(dit_commit_working(&d, 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "ran 1 of 2 rows"));
    assert_int_equal(dit_commit(&d, &x1, 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "a commit of 1 rows for a batch of 2"));
    struct drift_tensor x3 = x;
    x3.shape[0] = 3;
    assert_int_equal(dit_forward(&d, &x3, 0, NULL, &both, &err), -EINVAL);
    assert_non_null(strstr(err.message, "an input of 3 rows for a batch of 2"));

    /* the whole batch again: every row, the same answer as before */
    evaluate(&d, t, texts, &x, NULL, &first);
    assert_true(relative_error(&first, &both) <= tolerance_for(e->ctx));
    assert_int_equal(dit_commit_working(&d, 0, &err), 0);
    drift_tensor_free(&both);
    drift_tensor_free(&first);
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
        cmocka_unit_test(conditioning_memo_reuses_only_the_same_key),
        cmocka_unit_test(the_first_row_alone_is_evaluated_and_kept_out_of_the_window),
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
