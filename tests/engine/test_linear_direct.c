/* The bf16 linear layer for a few rows (engine/src/linear_direct.c) against oneDNN's bf16 matmul
 * and a double-precision reference on the same bf16-rounded operands: every row count it takes
 * (1..16: full and partial register blocks), widths that are not multiples of a pair or a panel,
 * the three activations, the residual sum, strided rows; it makes no oneDNN call in steady state
 * and writes nothing outside its rows' columns. Skipped on CPUs without AVX512-BF16. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <drift/drift.h>

#include "internal.h"
#include "linear_direct.h"

static float rounded(float f)
{
    uint32_t u = (uint32_t)drift_bf16_round(f) << 16;
    float r;
    memcpy(&r, &u, sizeof(r));
    return r;
}

static double activation(double v, enum drift_activation act)
{
    if (act == DRIFT_ACT_GELU_TANH)
        return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    if (act == DRIFT_ACT_SILU)
        return v / (1.0 + exp(-v));
    return v;
}

static float uniform(float scale) { return scale * (2.0f * (float)rand() / (float)RAND_MAX - 1.0f); }

struct layer {
    int in, out;
    struct drift_tensor w, b;
};

static void layer_make(struct layer *l, int in, int out)
{
    int64_t ws[2] = { out, in }, bs[1] = { out };
    l->in = in;
    l->out = out;
    assert_int_equal(drift_tensor_alloc(&l->w, DRIFT_F32, 2, ws), 0);
    assert_int_equal(drift_tensor_alloc(&l->b, DRIFT_F32, 1, bs), 0);
    float *w = l->w.data, *b = l->b.data;
    for (int64_t i = 0; i < (int64_t)in * out; i++)
        w[i] = uniform(2.0f / sqrtf((float)in));
    for (int n = 0; n < out; n++)
        b[n] = uniform(0.5f);
}

static void layer_free(struct layer *l)
{
    drift_tensor_free(&l->w);
    drift_tensor_free(&l->b);
}

static struct drift_context *bf16_context(bool direct)
{
    struct drift_context_options opt = { .precision = DRIFT_PRECISION_BF16, .threads = 1,
                                         .linear_onednn_only = !direct,
                                         .linear_direct_with_amx = direct };
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_context_new(&opt, &ctx, &err), 0);
    assert_true(ctx->linear_direct == direct);
    return ctx;
}

/* y (rows, out) in a buffer of row stride ys filled with a marker; x (rows, in) of row stride xs. */
static float *run(struct drift_context *ctx, const struct layer *l, enum drift_activation act,
                  bool accumulate, const float *x, int64_t rows, int64_t xs, int64_t ys,
                  const float *y0)
{
    struct drift_linear *lin = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_linear_new(ctx, &l->w, &l->b, act, &lin, &err), 0);
    float *y = malloc((size_t)(rows * ys) * sizeof(float));
    struct drift_tensor tx = { .dtype = DRIFT_F32, .ndim = 2, .shape = { rows, l->in },
                               .stride = { xs, 1 }, .data = (void *)x };
    struct drift_tensor ty = { .dtype = DRIFT_F32, .ndim = 2, .shape = { rows, l->out },
                               .stride = { ys, 1 }, .data = y };
    for (int pass = 0; pass < 2; pass++) { /* the second runs on the plan the first built */
        memcpy(y, y0, (size_t)(rows * ys) * sizeof(float));
        uint64_t calls = ctx->counters.op_calls;
        assert_int_equal(drift_linear_forward(ctx, lin, &tx, &ty, accumulate, &err), 0);
        if (pass == 1 && ctx->linear_direct)
            assert_int_equal(ctx->counters.op_calls, calls); /* no oneDNN call */
    }
    drift_linear_free(lin);
    return y;
}

static void check_shape(int64_t rows, int in, int out, enum drift_activation act, bool accumulate)
{
    struct layer l;
    layer_make(&l, in, out);
    int64_t xs = in + 3, ys = out + 5;
    float *x = malloc((size_t)(rows * xs) * sizeof(float));
    float *y0 = malloc((size_t)(rows * ys) * sizeof(float));
    for (int64_t i = 0; i < rows * xs; i++)
        x[i] = uniform(3.0f);
    for (int64_t i = 0; i < rows * ys; i++)
        y0[i] = uniform(1.0f);
    struct drift_context *direct = bf16_context(true), *onednn = bf16_context(false);
    float *yd = run(direct, &l, act, accumulate, x, rows, xs, ys, y0);
    float *yo = run(onednn, &l, act, accumulate, x, rows, xs, ys, y0);
    const float *w = l.w.data, *b = l.b.data;
    double worst_ref = 0, worst_onednn = 0, scale = 1e-3;
    for (int64_t r = 0; r < rows; r++) {
        for (int n = 0; n < out; n++) {
            double acc = b[n];
            for (int k = 0; k < in; k++)
                acc += (double)rounded(x[r * xs + k]) * (double)rounded(w[(int64_t)n * in + k]);
            double want = activation(acc, act) + (accumulate ? y0[r * ys + n] : 0.0);
            scale = fmax(scale, fabs(want));
            worst_ref = fmax(worst_ref, fabs(yd[r * ys + n] - want));
            worst_onednn = fmax(worst_onednn, fabs(yd[r * ys + n] - yo[r * ys + n]));
        }
        for (int64_t n = out; n < ys; n++) /* the gap between rows is not written */
            assert_true(yd[r * ys + n] == y0[r * ys + n]);
    }
    if (worst_ref > 2e-6 * scale * sqrt((double)in) || worst_onednn > 1e-5 * scale * sqrt((double)in))
        fail_msg("rows %lld, in %d, out %d, act %d, accumulate %d: %.3g from the reference, %.3g "
                 "from oneDNN (scale %.3g)", (long long)rows, in, out, (int)act, (int)accumulate,
                 worst_ref, worst_onednn, scale);
    free(x);
    free(y0);
    free(yd);
    free(yo);
    drift_context_free(direct);
    drift_context_free(onednn);
    layer_free(&l);
}

static void every_row_count_and_odd_widths_match(void **state)
{
    (void)state;
    if (!drift_linear_direct_supported())
        skip();
    srand(11);
    for (int64_t rows = 1; rows <= DRIFT_LINEAR_DIRECT_MAX_ROWS; rows++)
        check_shape(rows, 37, 45, DRIFT_ACT_NONE, false);
    check_shape(1, 1, 1, DRIFT_ACT_NONE, false);
    check_shape(3, 2, 33, DRIFT_ACT_NONE, false);
    check_shape(13, 7, 64, DRIFT_ACT_NONE, false);
}

static void the_audio_models_shapes_match(void **state)
{
    (void)state;
    if (!drift_linear_direct_supported())
        skip();
    srand(12);
    check_shape(8, 513, 128, DRIFT_ACT_NONE, false);  /* patch embedding */
    check_shape(8, 513, 128, DRIFT_ACT_NONE, true);   /* the frame before, added in */
    check_shape(8, 128, 384, DRIFT_ACT_NONE, false);  /* q, k, v */
    check_shape(8, 128, 512, DRIFT_ACT_GELU_TANH, false);
    check_shape(8, 512, 128, DRIFT_ACT_NONE, false);
    check_shape(1, 128, 768, DRIFT_ACT_NONE, false);  /* modulation */
    check_shape(2, 256, 128, DRIFT_ACT_SILU, false);  /* time embedding, two guidance rows */
    check_shape(8, 128, 513, DRIFT_ACT_NONE, false);  /* the last layer */
}

static void activations_hold_at_large_inputs(void **state)
{
    (void)state;
    if (!drift_linear_direct_supported())
        skip();
    /* One input, weight 1: y = act(x + 0). Past exp's range the result is exact 0 or x. */
    struct layer l;
    layer_make(&l, 1, 1);
    ((float *)l.w.data)[0] = 1.0f;
    ((float *)l.b.data)[0] = 0.0f;
    const float xs[] = { -1000.0f, -100.0f, -30.0f, -5.0f, -0.5f, 0.0f, 0.5f, 5.0f, 30.0f, 1000.0f };
    struct drift_context *ctx = bf16_context(true);
    for (int a = DRIFT_ACT_GELU_TANH; a <= DRIFT_ACT_SILU; a++)
        for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
            float y0 = 0.0f;
            float *y = run(ctx, &l, (enum drift_activation)a, false, &xs[i], 1, 1, 1, &y0);
            double want = activation((double)rounded(xs[i]), (enum drift_activation)a);
            assert_true(isfinite(y[0]));
            assert_true(fabs(y[0] - want) <= 1e-6 * fmax(1.0, fabs(want)));
            free(y);
        }
    drift_context_free(ctx);
    layer_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_row_count_and_odd_widths_match),
        cmocka_unit_test(the_audio_models_shapes_match),
        cmocka_unit_test(activations_hold_at_large_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
