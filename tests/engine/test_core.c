/* Tensors, the workspace arena and the context: shapes, ownership, bf16 rounding, precision
 * choice and the DRIFT_PRECISION override. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <drift/drift.h>

static void tensor_alloc_is_dense_zeroed_and_owned(void **state)
{
    struct drift_tensor t;
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, 3, (int64_t[]){ 2, 3, 5 }), 0);
    assert_true(t.owns_data);
    assert_true(drift_tensor_is_dense(&t));
    assert_int_equal(t.stride[0], 15);
    assert_int_equal(drift_tensor_numel(&t), 30);
    assert_int_equal(drift_tensor_nbytes(&t), 120);
    assert_int_equal((uintptr_t)t.data % 64, 0);
    for (int i = 0; i < 30; i++)
        assert_true(((float *)t.data)[i] == 0.0f);
    drift_tensor_free(&t);
    assert_null(t.data);
    drift_tensor_free(&t); /* twice is harmless */
}

static void tensor_rejects_bad_shapes(void **state)
{
    struct drift_tensor t;
    float x;
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, 0, (int64_t[]){ 1 }), -EINVAL);
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, 5, (int64_t[]){ 1, 1, 1, 1, 1 }), -EINVAL);
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, 2, (int64_t[]){ 3, 0 }), -EINVAL);
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, 2, (int64_t[]){ INT64_MAX / 2, 4 }), -EOVERFLOW);
    assert_int_equal(drift_tensor_view(&t, DRIFT_F32, &x, 1, (int64_t[]){ -1 }), -EINVAL);
}

static void strided_view_is_not_dense(void **state)
{
    float buf[24];
    struct drift_tensor t;
    assert_int_equal(drift_tensor_view(&t, DRIFT_F32, buf, 2, (int64_t[]){ 4, 6 }), 0);
    assert_false(t.owns_data);
    t.shape[1] = 3; /* left half of each row */
    assert_false(drift_tensor_is_dense(&t));
}

static void bf16_rounds_to_nearest_even(void **state)
{
    assert_true(drift_bf16_to_f32(drift_f32_to_bf16(1.0f)) == 1.0f);
    /* 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to even (1.0). */
    assert_true(drift_bf16_to_f32(drift_f32_to_bf16(1.0f + 0x1p-8f)) == 1.0f);
    assert_true(drift_bf16_to_f32(drift_f32_to_bf16(1.0f + 0x1.8p-8f)) == 1.0f + 0x1p-7f);
    assert_true(isnan(drift_bf16_to_f32(drift_f32_to_bf16(NAN))));
    assert_true(isinf(drift_bf16_to_f32(drift_f32_to_bf16(INFINITY))));
    float src[3] = { 3.0f, -2.5f, 0.1f }, back[3];
    uint16_t mid[3];
    drift_convert_f32_to_bf16(mid, src, 3);
    drift_convert_bf16_to_f32(back, mid, 3);
    assert_true(back[0] == 3.0f && back[1] == -2.5f && fabsf(back[2] - 0.1f) < 1e-3f);
}

static void arena_bumps_aligned_and_never_grows(void **state)
{
    struct drift_arena *a = drift_arena_new(1000);
    assert_non_null(a);
    assert_int_equal(drift_arena_capacity(a), 1024);
    void *p = drift_arena_alloc(a, 10), *q = drift_arena_alloc(a, 100);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)q % 64, 0);
    assert_int_equal((char *)q - (char *)p, 64);
    assert_null(drift_arena_alloc(a, 2000));
    assert_int_equal(drift_arena_failures(a), 1);
    assert_null(drift_arena_alloc(a, 0));
    size_t used = drift_arena_used(a);
    drift_arena_reset(a);
    assert_int_equal(drift_arena_used(a), 0);
    assert_int_equal(drift_arena_high_water(a), used);
    assert_ptr_equal(drift_arena_alloc(a, 10), p); /* the same memory, reused */
    drift_arena_free(a);
    assert_null(drift_arena_new(0));
}

static void context_reports_isa_and_honours_precision_override(void **state)
{
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    unsetenv("DRIFT_PRECISION");
    assert_int_equal(drift_context_new(NULL, &ctx, &err), 0);
    const char *isa = drift_context_isa(ctx);
    assert_true(strlen(isa) > 0);
    bool native = strcmp(isa, "avx512_core_bf16") == 0 || strcmp(isa, "avx512_core_amx") == 0;
    assert_int_equal(drift_context_precision(ctx), native ? DRIFT_PRECISION_BF16 : DRIFT_PRECISION_F32);
    drift_context_free(ctx);

    setenv("DRIFT_PRECISION", "f32", 1);
    assert_int_equal(drift_context_new(NULL, &ctx, &err), 0);
    assert_int_equal(drift_context_precision(ctx), DRIFT_PRECISION_F32);
    assert_int_equal(drift_context_compute_dtype(ctx), DRIFT_F32);
    drift_context_free(ctx);

    setenv("DRIFT_PRECISION", "fp64", 1);
    ctx = NULL;
    assert_int_equal(drift_context_new(NULL, &ctx, &err), -EINVAL);
    assert_non_null(strstr(err.message, "DRIFT_PRECISION=fp64"));
    assert_null(ctx);
    unsetenv("DRIFT_PRECISION");
}

static void two_contexts_are_independent(void **state)
{
    struct drift_context *a = NULL, *b = NULL;
    struct drift_context_options f32 = { .precision = DRIFT_PRECISION_F32 };
    assert_int_equal(drift_context_new(&f32, &a, NULL), 0);
    assert_int_equal(drift_context_new(NULL, &b, NULL), 0);
    float xd[4] = { 1, 2, 3, 4 }, yd[4];
    struct drift_tensor x, y;
    drift_tensor_view(&x, DRIFT_F32, xd, 2, (int64_t[]){ 1, 4 });
    drift_tensor_view(&y, DRIFT_F32, yd, 2, (int64_t[]){ 1, 4 });
    assert_int_equal(drift_softmax(a, &x, &y, NULL), 0);
    assert_int_equal(drift_context_counters(a)->primitives_created, 1);
    assert_int_equal(drift_context_counters(b)->primitives_created, 0);
    drift_context_free(a);
    drift_context_free(b);
}

/* A context's thread count applies inside its ops only: the caller's OpenMP setting is back
 * afterwards, results agree with the default team, and a count out of range is refused. */
static void context_threads_apply_inside_ops_only(void **state)
{
    struct drift_context *one = NULL, *dflt = NULL;
    struct drift_error err = { 0 };
    struct drift_context_options bad = { .precision = DRIFT_PRECISION_F32, .threads = 300 };
    assert_int_equal(drift_context_new(&bad, &one, &err), -EINVAL);
    assert_non_null(strstr(err.message, "threads 300 outside [0, 256]"));
    struct drift_context_options o1 = { .precision = DRIFT_PRECISION_F32, .threads = 1 };
    struct drift_context_options o0 = { .precision = DRIFT_PRECISION_F32 };
    assert_int_equal(drift_context_new(&o1, &one, NULL), 0);
    assert_int_equal(drift_context_new(&o0, &dflt, NULL), 0);
    enum { N = 192 };
    static float ad[N * N], bd[N * N], c1[N * N], c0[N * N];
    for (int i = 0; i < N * N; i++) {
        ad[i] = (float)((i * 7) % 13) - 6.0f;
        bd[i] = (float)((i * 5) % 11) - 5.0f;
    }
    struct drift_tensor a, b, c;
    drift_tensor_view(&a, DRIFT_F32, ad, 2, (int64_t[]){ N, N });
    drift_tensor_view(&b, DRIFT_F32, bd, 2, (int64_t[]){ N, N });
#ifdef _OPENMP
    int before = omp_get_max_threads();
#endif
    drift_tensor_view(&c, DRIFT_F32, c1, 2, (int64_t[]){ N, N });
    assert_int_equal(drift_matmul(one, &a, &b, &c, 1.0f, NULL), 0);
#ifdef _OPENMP
    assert_int_equal(omp_get_max_threads(), before);
#endif
    drift_tensor_view(&c, DRIFT_F32, c0, 2, (int64_t[]){ N, N });
    assert_int_equal(drift_matmul(dflt, &a, &b, &c, 1.0f, NULL), 0);
    for (int i = 0; i < N * N; i++) /* small integers: every order of summation is exact */
        assert_true(c1[i] == c0[i]);
    drift_context_free(one);
    drift_context_free(dflt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tensor_alloc_is_dense_zeroed_and_owned),
        cmocka_unit_test(tensor_rejects_bad_shapes),
        cmocka_unit_test(strided_view_is_not_dense),
        cmocka_unit_test(bf16_rounds_to_nearest_even),
        cmocka_unit_test(arena_bumps_aligned_and_never_grows),
        cmocka_unit_test(context_reports_isa_and_honours_precision_override),
        cmocka_unit_test(two_contexts_are_independent),
        cmocka_unit_test(context_threads_apply_inside_ops_only),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
