/* Tensors, the workspace arena and the context: shapes, ownership, bf16 rounding, precision
 * choice and the DRIFT_PRECISION override. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* Whether /proc/cpuinfo lists every flag of a space-separated list. */
static bool cpu_flags(const char *cpuinfo, const char *wanted)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", wanted);
    for (char *save = NULL, *f = strtok_r(buf, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
        char needle[64];
        snprintf(needle, sizeof needle, " %s", f);
        const char *p = cpuinfo;
        bool found = false;
        while ((p = strstr(p, needle))) {
            p += strlen(needle);
            if (*p == ' ' || *p == '\n') {
                found = true;
                break;
            }
        }
        if (!found)
            return false;
    }
    return true;
}

/* The ISA oneDNN runs is the best one this CPU has (and oneDNN 2.6 knows), read from the
 * CPU's flags independently of oneDNN. */
static void isa_is_the_best_this_cpu_has(void **state)
{
    if (getenv("ONEDNN_MAX_CPU_ISA") || getenv("DNNL_MAX_CPU_ISA"))
        skip(); /* capped by the environment on purpose: nothing to compare with */
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        skip();
    static char info[1 << 16];
    size_t n = fread(info, 1, sizeof info - 1, f);
    fclose(f);
    info[n] = 0;
    char *end = strstr(info, "\n\n"); /* the first CPU */
    if (end)
        end[1] = 0;
    const char *core = "avx512f avx512bw avx512vl avx512dq";
    const char *expected = "generic";
    if (cpu_flags(info, core) && cpu_flags(info, "avx512_bf16 amx_tile amx_bf16 amx_int8"))
        expected = "avx512_core_amx";
    else if (cpu_flags(info, core) && cpu_flags(info, "avx512_bf16"))
        expected = "avx512_core_bf16";
    else if (cpu_flags(info, core) && cpu_flags(info, "avx512_vnni"))
        expected = "avx512_core_vnni";
    else if (cpu_flags(info, core))
        expected = "avx512_core";
    else if (cpu_flags(info, "avx2 avx_vnni"))
        expected = "avx2_vnni";
    else if (cpu_flags(info, "avx2"))
        expected = "avx2";
    else if (cpu_flags(info, "avx"))
        expected = "avx";
    else if (cpu_flags(info, "sse4_1"))
        expected = "sse41";
    const char *isa = drift_cpu_isa();
    print_message("CPU flags say %s; the engine runs %s\n", expected, isa);
    /* AMX needs the kernel's permission (arch_prctl); without it oneDNN stays on AVX512-BF16 */
    if (!strcmp(expected, "avx512_core_amx") && !strcmp(isa, "avx512_core_bf16"))
        expected = isa;
    assert_string_equal(isa, expected);
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_context_new(NULL, &ctx, &err), 0);
    assert_string_equal(drift_context_isa(ctx), isa);
    drift_context_free(ctx);
}

static bool cpu_has_native_bf16(void)
{
    const char *isa = drift_cpu_isa();
    return !strcmp(isa, "avx512_core_bf16") || !strcmp(isa, "avx512_core_amx");
}

static bool cpu_can_bf16(void)
{
    return !strncmp(drift_cpu_isa(), "avx512_core", strlen("avx512_core"));
}

/* Creates a context with precision asked in the options and DRIFT_PRECISION=env (NULL: unset);
 * returns drift_context_new's result and the precision in *ret. */
static int precision_of(const char *env, enum drift_precision asked, enum drift_precision *ret,
                        struct drift_error *err)
{
    struct drift_context *ctx = NULL;
    struct drift_context_options o = { .precision = asked };
    if (env)
        setenv("DRIFT_PRECISION", env, 1);
    else
        unsetenv("DRIFT_PRECISION");
    int r = drift_context_new(&o, &ctx, err);
    unsetenv("DRIFT_PRECISION");
    if (r == 0)
        *ret = drift_context_precision(ctx);
    drift_context_free(ctx);
    return r;
}

/* Who decides the precision: DRIFT_PRECISION in the environment, then the settings (the
 * options), then the hardware (AUTO: bf16 where the CPU has native bf16 dot products). */
static void precision_comes_from_the_environment_then_the_settings_then_the_hardware(void **state)
{
    enum drift_precision p = DRIFT_PRECISION_AUTO;
    struct drift_error err = { 0 };
    enum drift_precision hw = cpu_has_native_bf16() ? DRIFT_PRECISION_BF16 : DRIFT_PRECISION_F32;
    /* the hardware, when nothing else says */
    assert_int_equal(precision_of(NULL, DRIFT_PRECISION_AUTO, &p, &err), 0);
    assert_int_equal(p, hw);
    assert_int_equal(precision_of("auto", DRIFT_PRECISION_AUTO, &p, &err), 0);
    assert_int_equal(p, hw);
    assert_int_equal(precision_of("", DRIFT_PRECISION_AUTO, &p, &err), 0);
    assert_int_equal(p, hw);
    /* the settings over the hardware; DRIFT_PRECISION=auto leaves them alone */
    assert_int_equal(precision_of(NULL, DRIFT_PRECISION_F32, &p, &err), 0);
    assert_int_equal(p, DRIFT_PRECISION_F32);
    assert_int_equal(precision_of("auto", DRIFT_PRECISION_INT8, &p, &err), 0);
    assert_int_equal(p, DRIFT_PRECISION_INT8);
    /* the environment over the settings */
    assert_int_equal(precision_of("f32", DRIFT_PRECISION_INT8, &p, &err), 0);
    assert_int_equal(p, DRIFT_PRECISION_F32);
    assert_int_equal(precision_of("int8", DRIFT_PRECISION_F32, &p, &err), 0);
    assert_int_equal(p, DRIFT_PRECISION_INT8);
    /* and the hardware has the last word on what it cannot do, whoever asked */
    int r = precision_of("bf16", DRIFT_PRECISION_F32, &p, &err);
    if (cpu_can_bf16()) {
        assert_int_equal(r, 0);
        assert_int_equal(p, DRIFT_PRECISION_BF16);
    } else {
        assert_int_equal(r, -ENOTSUP);
        assert_non_null(strstr(err.message, drift_cpu_isa()));
    }
    r = precision_of(NULL, DRIFT_PRECISION_BF16, &p, &err);
    assert_int_equal(r, cpu_can_bf16() ? 0 : -ENOTSUP);
    r = precision_of("f32", DRIFT_PRECISION_BF16, &p, &err); /* asked bf16, told f32: fine */
    assert_int_equal(r, 0);
    assert_int_equal(p, DRIFT_PRECISION_F32);
}

static void context_reports_isa_and_honours_precision_override(void **state)
{
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    unsetenv("DRIFT_PRECISION");
    assert_int_equal(drift_context_new(NULL, &ctx, &err), 0);
    const char *isa = drift_context_isa(ctx);
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
        cmocka_unit_test(isa_is_the_best_this_cpu_has),
        cmocka_unit_test(precision_comes_from_the_environment_then_the_settings_then_the_hardware),
        cmocka_unit_test(context_reports_isa_and_honours_precision_override),
        cmocka_unit_test(two_contexts_are_independent),
        cmocka_unit_test(context_threads_apply_inside_ops_only),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
