/* The model alone (drift/model.h), through public headers only: single evaluations streamed
 * through the window match tools/models/model.py on the tiny fixture model, for the prompted and
 * the unconditional branch alike; frames of another shape and mismatched files are refused by
 * name. */
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

struct env {
    struct drift_safetensors *weights, *io;
    struct drift_config *config;
};

static struct drift_model *new_model(struct env *e)
{
    struct drift_error err = { 0 };
    struct drift_context_options opt = { .precision = DRIFT_PRECISION_F32 };
    struct drift_model *m = NULL;
    if (drift_model_new(e->weights, e->config, &opt, &m, &err) < 0)
        fail_msg("drift_model_new: %s", err.message);
    return m;
}

/* Batch element b of a (2,T,P) fixture tensor, as a (1,T,P) view. */
static struct drift_tensor branch(struct env *e, const char *fmt, int f, int b)
{
    char name[32];
    snprintf(name, sizeof(name), fmt, f);
    struct drift_tensor t = fixture_tensor(e->io, name), view;
    int64_t shape[3] = { 1, t.shape[1], t.shape[2] };
    assert_int_equal(drift_tensor_view(&view, DRIFT_F32, (float *)t.data + b * shape[1] * shape[2],
                                       3, shape), 0);
    return view;
}

static float level(struct env *e, const char *fmt, int f, int b)
{
    char name[32];
    snprintf(name, sizeof(name), fmt, f);
    struct drift_tensor t = fixture_tensor(e->io, name);
    return ((const float *)t.data)[b];
}

/* The reference ran batch 2: the prompt's text vector in element 0, the null prompt in 1. */
static void streaming_matches_reference_on_each_branch(void **state)
{
    struct env *e = *state;
    struct drift_tensor text = fixture_tensor(e->io, "text");
    for (int b = 0; b < 2; b++) {
        struct drift_model *m = new_model(e);
        struct drift_error err = { 0 };
        struct drift_tensor like = branch(e, "v%d", 0, b), v = tensor_like(&like);
        const float *t_text = b == 0 ? text.data : NULL;
        double worst = 0;
        for (int f = 0; f < 4; f++) {
            struct drift_tensor x = branch(e, "x%d", f, b), want = branch(e, "v%d", f, b),
                                clean = branch(e, "clean%d", f, b);
            if (drift_model_condition(m, level(e, "t%d", f, b), t_text, &err) < 0 ||
                drift_model_forward(m, &x, f, &v, &err) < 0)
                fail_msg("branch %d frame %d: %s", b, f, err.message);
            double rel = relative_error(&v, &want);
            worst = rel > worst ? rel : worst;
            if (drift_model_condition(m, level(e, "tctx%d", f, b), t_text, &err) < 0 ||
                drift_model_commit(m, &clean, f, &err) < 0)
                fail_msg("branch %d commit %d: %s", b, f, err.message);
        }
        print_message("model forward, branch %d: worst relative error %.2e\n", b, worst);
        assert_true(worst <= tolerance_for(drift_model_context(m)));
        drift_tensor_free(&v);
        drift_model_free(m);
    }
}

static void shape_and_context_are_the_models(void **state)
{
    struct env *e = *state;
    struct drift_model *m = new_model(e);
    struct drift_model_shape s;
    drift_model_get_shape(m, &s);
    struct drift_tensor x = fixture_tensor(e->io, "x0"), text = fixture_tensor(e->io, "text");
    assert_int_equal(s.tokens, x.shape[1]);
    assert_int_equal(s.in_dim, x.shape[2]);
    assert_int_equal(s.hidden, text.shape[0]);
    assert_int_equal(s.window, 2);
    assert_true(drift_model_flops_per_eval(m) > 0);
    assert_int_equal(drift_context_precision(drift_model_context(m)), DRIFT_PRECISION_F32);
    drift_model_free(m);
}

static void a_frame_of_another_shape_is_refused_by_name(void **state)
{
    struct env *e = *state;
    struct drift_model *m = new_model(e);
    struct drift_error err = { 0 };
    struct drift_tensor both = fixture_tensor(e->io, "x0"), one = branch(e, "x%d", 0, 0);
    struct drift_tensor v = tensor_like(&one);
    assert_int_equal(drift_model_condition(m, 0.5f, NULL, &err), 0);
    assert_int_equal(drift_model_forward(m, &both, 0, &v, &err), -EINVAL);
    assert_non_null(strstr(err.message, "x must be a dense f32 tensor (1,16,192)"));
    assert_int_equal(drift_model_forward(m, &one, 0, &both, &err), -EINVAL);
    assert_non_null(strstr(err.message, "out must be"));
    assert_int_equal(drift_model_commit(m, &both, 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "frame must be"));
    assert_int_equal(drift_model_forward(m, &one, 0, &v, &err), 0); /* still usable */
    drift_tensor_free(&v);
    drift_model_free(m);
}

/* The audio model's configuration with the video model's weights: refused, *ret untouched. */
static void mismatched_files_are_refused(void **state)
{
    struct env *e = *state;
    struct drift_config *audio = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_config_open(FIXTURES_DIR "/dit/tiny-audio.json", &audio, &err), 0);
    struct drift_model *m = (struct drift_model *)&err; /* a sentinel */
    int r = drift_model_new(e->weights, audio, NULL, &m, &err);
    assert_true(r < 0);
    assert_int_equal(err.code, r);
    assert_true(err.message[0] != '\0');
    assert_ptr_equal(m, (struct drift_model *)&err);
    drift_config_free(audio);
    drift_model_free(NULL);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct drift_error err = { 0 };
    if (drift_safetensors_open(FIXTURES_DIR "/dit/tiny.safetensors", &e->weights, &err) < 0 ||
        drift_safetensors_open(FIXTURES_DIR "/dit/tiny_io.safetensors", &e->io, &err) < 0 ||
        drift_config_open(FIXTURES_DIR "/dit/tiny.json", &e->config, &err) < 0) {
        print_error("%s\n", err.message);
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    drift_safetensors_close(e->weights);
    drift_safetensors_close(e->io);
    drift_config_free(e->config);
    free(e);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streaming_matches_reference_on_each_branch),
        cmocka_unit_test(shape_and_context_are_the_models),
        cmocka_unit_test(a_frame_of_another_shape_is_refused_by_name),
        cmocka_unit_test(mismatched_files_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
