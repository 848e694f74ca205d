/* The engine's own vectorised kernels against references: the fused attention softmax row (its
 * exp, bias, cut-off, f32 and bf16 outputs), the int8 activation quantiser (rounding, clamping of
 * non-finite input), the bf16 row conversion and the parallel loop helper. Whichever CPU clone
 * the loader picked is the one tested. */
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
#include "quantize.h"
#include "softmax_row.h"

static float bf16_value(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static void exp_is_accurate_over_the_whole_range(void **state)
{
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f * (float)i / 200000.0f;
        double want = exp((double)x);
        double rel = fabs(drift_softmax_exp(x) - want) / want;
        if (rel > worst)
            worst = rel;
    }
    assert_true(worst < 3e-7);
    assert_true(drift_softmax_exp(0.0f) == 1.0f);
    assert_true(drift_softmax_exp(-88.0f) == 0.0f);
    assert_true(drift_softmax_exp(-1e30f) == 0.0f);
    assert_true(drift_softmax_exp(-INFINITY) == 0.0f);
}

/* Reference: softmax of s + bias + offset over the first `visible` entries, in double. */
static void reference_row(const float *s, const float *bias, float offset, int visible, int n,
                          double *want)
{
    double max = -INFINITY, sum = 0;
    for (int j = 0; j < visible; j++) {
        double v = (double)s[j] + (bias ? bias[j] : 0) + offset;
        max = v > max ? v : max;
    }
    for (int j = 0; j < visible; j++) {
        want[j] = exp((double)s[j] + (bias ? bias[j] : 0) + offset - max);
        sum += want[j];
    }
    for (int j = 0; j < n; j++)
        want[j] = j < visible ? want[j] / sum : 0;
}

static void softmax_row_matches_the_reference_with_bias_and_cutoff(void **state)
{
    enum { N = 1283 }; /* not a multiple of any vector width: the loop tails run too */
    static float scores[N], copy[N], bias[N], probs[N];
    static uint16_t probs16[N];
    static double want[N];
    srand(7);
    for (int j = 0; j < N; j++) {
        scores[j] = 8.0f * ((float)rand() / (float)RAND_MAX - 0.5f);
        bias[j] = -0.25f * (float)(j / 256);
    }
    const int visibles[] = { 1, 17, 640, N };
    for (size_t t = 0; t < sizeof(visibles) / sizeof(visibles[0]); t++) {
        int visible = visibles[t];
        reference_row(scores, bias, 0.5f, visible, N, want);
        memcpy(copy, scores, sizeof(copy));
        memset(probs, 0xff, sizeof(probs));
        drift_softmax_row(copy, bias, 0.5f, visible, N, probs, DRIFT_F32);
        double sum = 0;
        for (int j = 0; j < N; j++) {
            assert_true(fabs(probs[j] - want[j]) <= 1e-6 * want[j] + 1e-12);
            sum += probs[j];
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
        for (int j = visible; j < N; j++)
            assert_true(probs[j] == 0.0f);

        memcpy(copy, scores, sizeof(copy));
        memset(probs16, 0xff, sizeof(probs16));
        drift_softmax_row(copy, bias, 0.5f, visible, N, probs16, DRIFT_BF16);
        for (int j = 0; j < N; j++) /* bf16 keeps 8 significant bits: half an ulp is 2^-9 */
            assert_true(fabs(bf16_value(probs16[j]) - want[j]) <= want[j] / 256.0 + 1e-30);
    }
}

static void softmax_row_is_stable_for_large_scores_and_no_bias(void **state)
{
    float scores[5] = { 1e4f, -1e4f, 3e4f, 3e4f - 1.0f, -3e38f };
    float probs[5];
    drift_softmax_row(scores, NULL, 0.0f, 5, 5, probs, DRIFT_F32);
    double e = exp(-1.0);
    assert_true(fabs(probs[2] - 1.0 / (1.0 + e)) < 1e-6);
    assert_true(fabs(probs[3] - e / (1.0 + e)) < 1e-6);
    assert_true(probs[0] == 0.0f && probs[1] == 0.0f && probs[4] == 0.0f);
}

static void quantized_activations_round_to_nearest_even(void **state)
{
    enum { ROWS = 3, COLS = 37, STRIDE = 40 };
    float x[ROWS * STRIDE];
    int8_t q[ROWS * COLS];
    for (int i = 0; i < ROWS * STRIDE; i++)
        x[i] = (float)((i * 37) % 255 - 127) * 0.5f; /* multiples of 0.5: ties appear */
    x[5] = 63.5f; /* the largest magnitude: the scale is 63.5 / 127 = 0.5 */
    float scale = drift_quantize_activations(x, ROWS, COLS, STRIDE, q);
    assert_true(scale == 0.5f);
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            assert_int_equal(q[r * COLS + c], (int)lrintf(x[r * STRIDE + c] / scale));

    float ties[4] = { 0.5f, 1.5f, -2.5f, 127.0f }; /* scale 1: 0, 2, -2, 127 */
    int8_t qt[4];
    assert_true(drift_quantize_activations(ties, 1, 4, 4, qt) == 1.0f);
    assert_int_equal(qt[0], 0);
    assert_int_equal(qt[1], 2);
    assert_int_equal(qt[2], -2);
    assert_int_equal(qt[3], 127);
}

static void quantized_activations_survive_zeros_and_non_finite_input(void **state)
{
    float zeros[8] = { 0 };
    int8_t q[8];
    assert_true(drift_quantize_activations(zeros, 1, 8, 8, q) == 1.0f);
    for (int i = 0; i < 8; i++)
        assert_int_equal(q[i], 0);
    float bad[4] = { NAN, INFINITY, -INFINITY, 1.0f };
    drift_quantize_activations(bad, 1, 4, 4, q); /* defined values, no trap: each in [-127, 127] */
    for (int i = 0; i < 4; i++)
        assert_true(q[i] >= -127 && q[i] <= 127);
}

/* The bf16 products' input conversion matches the scalar reference bit for bit, strided rows and
 * special values included, whether it runs on one thread or shares rows out. */
static void rows_convert_to_bf16_like_the_scalar_reference(void **state)
{
    enum { STRIDE = 300, COLS = 259 };
    static float src[600 * STRIDE];
    static uint16_t dst[600 * COLS + 1];
    const int64_t rows_cases[] = { 3, 600 }; /* below and above DRIFT_OMP_MIN_WORK elements */
    for (int i = 0; i < 600 * STRIDE; i++)
        src[i] = (float)((i * 2654435761u) % 100003u) * 1.37e-3f - 70.0f;
    src[1] = NAN; src[2] = INFINITY; src[3] = -INFINITY; src[4] = 1.00390625f; /* a tie */
    src[5] = 3.4e38f; src[6] = -0.0f; src[7] = 1e-40f;
    for (size_t t = 0; t < 2; t++) {
        int64_t rows = rows_cases[t];
        memset(dst, 0xab, sizeof(dst));
        drift_f32_rows_to_bf16(src, rows, COLS, STRIDE, dst);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < COLS; c++)
                assert_int_equal(dst[r * COLS + c], drift_f32_to_bf16(src[r * STRIDE + c]));
        assert_int_equal(dst[rows * COLS], 0xabab); /* nothing written past the rows */
    }
}

struct visits {
    int count[1000];
};

static void visit(void *arg, int64_t i)
{
    struct visits *v = arg;
    __atomic_add_fetch(&v->count[i], 1, __ATOMIC_RELAXED);
}

static void parallel_for_visits_every_index_once(void **state)
{
    static struct visits v;
    for (int t = 0; t < 2; t++) {
        memset(&v, 0, sizeof(v));
        drift_parallel_for(1000, t ? 1 << 20 : 10, visit, &v); /* shared out, then not */
        for (int i = 0; i < 1000; i++)
            assert_int_equal(v.count[i], 1);
    }
    drift_parallel_for(0, 1 << 20, visit, &v); /* nothing to do */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_is_accurate_over_the_whole_range),
        cmocka_unit_test(softmax_row_matches_the_reference_with_bias_and_cutoff),
        cmocka_unit_test(softmax_row_is_stable_for_large_scores_and_no_bias),
        cmocka_unit_test(quantized_activations_round_to_nearest_even),
        cmocka_unit_test(quantized_activations_survive_zeros_and_non_finite_input),
        cmocka_unit_test(rows_convert_to_bf16_like_the_scalar_reference),
        cmocka_unit_test(parallel_for_visits_every_index_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
