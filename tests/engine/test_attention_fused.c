/* The fused attention kernel (engine/src/attention_fused.c) against the two-matmul path it
 * replaces, every variant: in f32 contexts the one this CPU picks (AVX2+FMA where it has them)
 * and the portable C one (forced through the context's internal flag), against the f32 matmul
 * path, bar max |fused - matmul| <= 1e-5 of max |matmul|; in bf16 contexts the AVX512-BF16 one,
 * where the CPU has it, and the AMX one, where it has that too, each against the bf16 matmul path
 * and the f32 one (bars and why: BAR_BF16; the two share their rounding).
 * Shapes: the default models' (video 64 tokens x 4 heads x 48, audio 8 x 4 x 32, window 4, batch
 * 1 and 2) through a rolling KV cache as it fills and evicts, and odd ones (head_dim odd and not
 * a multiple of 8, one query, keys not a multiple of the key tile, every mask with and without
 * the age bias, strided rows, large scores). Also which kernel a context picks, and that the
 * fused one calls no oneDNN primitive and allocates nothing once planned. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attention_fused.h"
#include "fixture.h"
#include "internal.h"

#define BAR 1e-5
/* The bf16 variant. Against the bf16 matmul path, which rounds the same q, k and v to bf16 and
 * also sums their products in fp32, the difference is in the probabilities: the matmul path
 * rounds the normalised ones to bf16 once, the fused kernel the unnormalised exp(s - running max)
 * of each tile, and divides by the fp32 sum. Each rounding is within half an ulp of bf16's 8-bit
 * significand, 2^-9 relative, so an output (a weighted mean of values) may move by about 2^-9
 * of the values' scale on each side: the bar is 4 x 2^-9 ~ 7.8e-3 of the output's scale (seen:
 * up to 3.1e-3). Against f32 the rounded v adds 2^-9 and the rounded q and k move the scores by
 * about 2^-8 of |q| |k| / sqrt(D) summed over D, a few 2^-9 more with the tests' inputs
 * (|x| <= 1.5): 8 x 2^-9 ~ 1.6e-2 (seen: up to 4.2e-3). The large-score case is left out there:
 * the score error grows with the scores, for the bf16 matmul path as much. */
#define BAR_BF16 (4.0 / 512.0)
#define BAR_BF16_VS_F32 (8.0 / 512.0)

struct contexts {
    struct drift_context *ref;        /* f32, matmul */
    struct drift_context *fused;      /* f32, fused, the CPU's variant */
    struct drift_context *portable;   /* f32, fused, portable C */
    struct drift_context *bf16_ref;   /* bf16, matmul; NULL without AVX512-BF16 */
    struct drift_context *bf16_fused; /* bf16, fused (the AMX variant where the CPU has AMX, the
                                         AVX512-BF16 one otherwise); NULL without AVX512-BF16 */
    struct drift_context *bf16_avx512; /* bf16, fused, the AVX512-BF16 variant where bf16_fused
                                          is the AMX one; NULL otherwise */
};

static struct drift_context *context_without_amx(enum drift_precision precision,
                                                 enum drift_attention_kernel kernel, bool no_amx)
{
    struct drift_context_options opt = { .precision = precision, .attention = kernel,
                                         .attention_fused_without_amx = no_amx };
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    if (drift_context_new(&opt, &ctx, &err) < 0)
        fail_msg("%s context (%s): %s", drift_precision_name(precision),
                 drift_attention_kernel_name(kernel), err.message);
    return ctx;
}

static struct drift_context *context(enum drift_precision precision,
                                     enum drift_attention_kernel kernel)
{
    return context_without_amx(precision, kernel, false);
}

static struct drift_context *f32_context(enum drift_attention_kernel kernel)
{
    return context(DRIFT_PRECISION_F32, kernel);
}

static int setup(void **state)
{
    unsetenv("DRIFT_ATTENTION");
    unsetenv("DRIFT_PRECISION");
    struct contexts *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->ref = f32_context(DRIFT_ATTENTION_MATMUL);
    c->fused = f32_context(DRIFT_ATTENTION_FUSED);
    c->portable = f32_context(DRIFT_ATTENTION_FUSED);
    c->portable->attention_portable = true;
    if (drift_fused_bf16_supported()) {
        c->bf16_ref = context(DRIFT_PRECISION_BF16, DRIFT_ATTENTION_MATMUL);
        c->bf16_fused = context(DRIFT_PRECISION_BF16, DRIFT_ATTENTION_FUSED);
        if (drift_fused_amx_supported())
            c->bf16_avx512 = context_without_amx(DRIFT_PRECISION_BF16, DRIFT_ATTENTION_FUSED, true);
        else
            print_message("this CPU (%s) has no usable AMX: the fused kernel's AMX variant is not "
                          "checked\n", drift_cpu_isa());
    } else {
        print_message("this CPU (%s) lacks AVX512-BF16: the fused kernel's bf16 variant is not "
                      "checked (f32 variants only)\n", drift_cpu_isa());
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct contexts *c = *state;
    drift_context_free(c->ref);
    drift_context_free(c->fused);
    drift_context_free(c->portable);
    drift_context_free(c->bf16_ref);
    drift_context_free(c->bf16_fused);
    drift_context_free(c->bf16_avx512);
    free(c);
    return 0;
}

/* (B, L, width) f32 filled with uniform values in [-scale, scale), from a seed. */
static struct drift_tensor random_rows(int64_t B, int64_t L, int64_t width, unsigned seed,
                                       float scale)
{
    struct drift_tensor t = { 0 };
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, 3, (int64_t[]){ B, L, width }), 0);
    float *p = t.data;
    uint32_t s = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < B * L * width; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = scale * (2.0f * (float)(s >> 8) / (float)(1u << 24) - 1.0f);
    }
    return t;
}

/* Columns [first, first + count) of a (B, L, width) tensor: a view with the parent's strides,
 * as the transformer passes q, k and v out of its fused QKV product. */
static struct drift_tensor columns(const struct drift_tensor *t, int64_t first, int64_t count)
{
    struct drift_tensor v = *t;
    v.data = (float *)t->data + first;
    v.shape[2] = count;
    return v;
}

/* max |got - want| / max |want| over two views of the same shape (any row strides). */
static double view_error(const struct drift_tensor *got, const struct drift_tensor *want)
{
    double err = 0, scale = 0;
    for (int64_t b = 0; b < want->shape[0]; b++)
        for (int64_t i = 0; i < want->shape[1]; i++)
            for (int64_t c = 0; c < want->shape[2]; c++) {
                double g = ((const float *)got->data)[b * got->stride[0] + i * got->stride[1] + c];
                double w = ((const float *)want->data)[b * want->stride[0] + i * want->stride[1] + c];
                double e = fabs(g - w);
                err = e <= err ? err : isnan(e) ? INFINITY : e;
                scale = fmax(scale, fabs(w));
            }
    return err / (scale > 0 ? scale : 1.0);
}

static void run(struct drift_context *ctx, struct drift_attention_args args,
                struct drift_tensor *out, const char *what)
{
    struct drift_error err = { 0 };
    uint64_t calls = drift_context_counters(ctx)->op_calls;
    args.out = out;
    if (drift_attention(ctx, &args, &err) < 0)
        fail_msg("%s: attention (%s) failed: %s", what,
                 drift_attention_kernel_name(drift_context_attention(ctx)), err.message);
    /* The fused kernel runs no oneDNN primitive. */
    if (drift_context_attention(ctx) == DRIFT_ATTENTION_FUSED)
        assert_int_equal(drift_context_counters(ctx)->op_calls, calls);
}

static void check_error(const struct drift_tensor *got, const struct drift_tensor *want,
                        double bar, const char *what, const char *variant, const char *against)
{
    double e = view_error(got, want);
    if (getenv("DRIFT_TEST_VERBOSE"))
        print_message("%-44s %-8s vs %-11s %.2e\n", what, variant, against, e);
    if (!(e <= bar))
        fail_msg("%s: the %s fused kernel is %.3g off the %s path (bar %.2g)", what, variant, e,
                 against, bar);
}

/* Runs args on the contexts (each writing its own output) and checks the fused variants: the f32
 * ones against the f32 matmul path, the bf16 ones (where the CPU has them; keys and values from
 * bf16_cache when args has a cache) against the bf16 matmul path and, when `vs_f32`, against the
 * f32 one. outs: f32 matmul, f32 fused, portable, bf16 matmul, bf16 fused, bf16 AVX512-BF16
 * variant (where bf16 fused is the AMX one). */
#define OUTS 6
static void compare(struct contexts *c, struct drift_attention_args args,
                    struct drift_kv_cache *bf16_cache, struct drift_tensor outs[OUTS], bool vs_f32,
                    const char *what)
{
    run(c->ref, args, &outs[0], what);
    run(c->fused, args, &outs[1], what);
    run(c->portable, args, &outs[2], what);
    check_error(&outs[1], &outs[0], BAR, what, "CPU's", "f32 matmul");
    check_error(&outs[2], &outs[0], BAR, what, "portable", "f32 matmul");
    if (!c->bf16_fused)
        return;
    if (args.cache)
        args.cache = bf16_cache;
    run(c->bf16_ref, args, &outs[3], what);
    run(c->bf16_fused, args, &outs[4], what);
    const char *variant = c->bf16_avx512 ? "bf16 AMX" : "bf16";
    check_error(&outs[4], &outs[3], BAR_BF16, what, variant, "bf16 matmul");
    if (vs_f32)
        check_error(&outs[4], &outs[0], BAR_BF16_VS_F32, what, variant, "f32 matmul");
    if (!c->bf16_avx512)
        return;
    run(c->bf16_avx512, args, &outs[5], what);
    check_error(&outs[5], &outs[3], BAR_BF16, what, "bf16", "bf16 matmul");
    if (vs_f32)
        check_error(&outs[5], &outs[0], BAR_BF16_VS_F32, what, "bf16", "f32 matmul");
}

static const float slopes[8] = { 1.0f, 0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 2.0f, 0.75f };

/* Streams `blocks` blocks through a cache of `window` past blocks (one f32 cache, shared by the
 * f32 contexts: it is plain f32 memory; one bf16 cache for the bf16 ones), comparing at every
 * block: the window filling, full, and evicting. q, k and v are column views of one (B, T, 3C)
 * tensor per block, like the model's. */
static void check_cache(void **state, int B, int H, int D, int T, int window, int blocks,
                        bool age, const char *what)
{
    struct contexts *c = *state;
    int64_t C = (int64_t)H * D;
    struct drift_kv_cache *cache = NULL, *bf16_cache = NULL;
    struct drift_error err = { 0 };
    if (drift_kv_cache_new(c->ref, B, H, D, T, window, &cache, &err) < 0 ||
        (c->bf16_ref && drift_kv_cache_new(c->bf16_ref, B, H, D, T, window, &bf16_cache, &err) < 0))
        fail_msg("%s: %s", what, err.message);
    struct drift_tensor outs[OUTS];
    for (int i = 0; i < OUTS; i++)
        outs[i] = random_rows(B, T, C, 99, 0.0f);
    for (int n = 0; n < blocks; n++) {
        struct drift_tensor qkv = random_rows(B, T, 3 * C, (unsigned)(n + 1), 1.5f);
        struct drift_tensor q = columns(&qkv, 0, C), k = columns(&qkv, C, C),
                            v = columns(&qkv, 2 * C, C);
        assert_int_equal(drift_kv_cache_write(c->ref, cache, &k, &v, &err), 0);
        if (bf16_cache)
            assert_int_equal(drift_kv_cache_write(c->bf16_ref, bf16_cache, &k, &v, &err), 0);
        struct drift_attention_args args = { .heads = H, .q = &q, .cache = cache,
                                             .position = 10 + n, .age_slope = age ? slopes : NULL };
        char name[96];
        snprintf(name, sizeof(name), "%s, block %d", what, n);
        compare(c, args, bf16_cache, outs, true, name);
        drift_kv_cache_commit(cache, 10 + n);
        if (bf16_cache)
            drift_kv_cache_commit(bf16_cache, 10 + n);
        drift_tensor_free(&qkv);
    }
    for (int i = 0; i < OUTS; i++)
        drift_tensor_free(&outs[i]);
    drift_kv_cache_free(cache);
    drift_kv_cache_free(bf16_cache);
}

static void video_model_shapes_match_the_matmul_path(void **state)
{
    check_cache(state, 1, 4, 48, 64, 4, 7, true, "video 64 tokens x 4 heads x 48");
    check_cache(state, 2, 4, 48, 64, 4, 7, true, "video with guidance (batch 2)");
}

static void audio_model_shapes_match_the_matmul_path(void **state)
{
    check_cache(state, 1, 4, 32, 8, 4, 7, true, "audio 8 tokens x 4 heads x 32");
    check_cache(state, 2, 4, 32, 8, 4, 7, true, "audio with guidance (batch 2)");
}

static void odd_cache_shapes_match_the_matmul_path(void **state)
{
    /* one query per block, head_dim under one vector, five heads */
    check_cache(state, 2, 5, 13, 1, 3, 6, true, "one query, head_dim 13");
    /* head_dim over two 48-column chunks with a partial vector, no age bias */
    check_cache(state, 1, 2, 100, 24, 2, 4, false, "head_dim 100, no age bias");
    /* no past kept: the working block alone; a block of 70 spans two key tiles */
    check_cache(state, 1, 3, 40, 70, 0, 2, true, "window 0, 70 tokens");
}

/* Explicit keys and values with a mask. q and (k, v) come from separate (B, L, 3C) tensors so
 * that Lq and Lk may differ and every row is strided; out has a row stride of C + 8. */
static void check_explicit(void **state, int B, int H, int D, int64_t Lq, int64_t Lk,
                           enum drift_mask mask, int mask_block, bool age, float scale,
                           bool vs_f32, const char *what)
{
    int64_t C = (int64_t)H * D;
    struct drift_tensor qs = random_rows(B, Lq, 3 * C, 7, scale),
                        kvs = random_rows(B, Lk, 3 * C, 8, scale);
    struct drift_tensor q = columns(&qs, 0, C), k = columns(&kvs, C, C), v = columns(&kvs, 2 * C, C);
    struct drift_tensor wide[OUTS], outs[OUTS];
    for (int i = 0; i < OUTS; i++) {
        wide[i] = random_rows(B, Lq, C + 8, 9, 0.0f);
        outs[i] = columns(&wide[i], 0, C);
    }
    struct drift_attention_args args = { .heads = H, .q = &q, .k = &k, .v = &v, .mask = mask,
                                         .mask_block = mask_block,
                                         .age_slope = age ? slopes : NULL };
    struct contexts *c = *state;
    compare(c, args, NULL, outs, vs_f32, what);
    /* The columns past C in out are not the kernel's to write. */
    for (int i = 1; i < (c->bf16_avx512 ? 6 : c->bf16_fused ? 5 : 3); i++)
        for (int64_t r = 0; r < B * Lq; r++)
            for (int64_t j = C; j < C + 8; j++)
                assert_true(((float *)wide[i].data)[r * (C + 8) + j] == 0.0f);
    for (int i = 0; i < OUTS; i++)
        drift_tensor_free(&wide[i]);
    drift_tensor_free(&qs);
    drift_tensor_free(&kvs);
}

static void every_mask_with_and_without_age_bias_matches_the_matmul_path(void **state)
{
    static const struct {
        enum drift_mask mask;
        const char *name;
    } masks[] = { { DRIFT_MASK_NONE, "none" },
                  { DRIFT_MASK_CAUSAL, "causal" },
                  { DRIFT_MASK_BLOCK_CAUSAL, "block causal" } };
    for (int m = 0; m < 3; m++)
        for (int age = 0; age < 2; age++) {
            char what[96];
            /* 84 queries: six query blocks, the last partial; 84 keys: two key tiles. Blocks of
             * 12 straddle both the query blocks and the key tiles. */
            snprintf(what, sizeof(what), "mask %s%s, 84 tokens, head_dim 20", masks[m].name,
                     age ? " + age bias" : "");
            check_explicit(state, 2, 2, 20, 84, 84, masks[m].mask, 12, age, 1.0f, true, what);
            snprintf(what, sizeof(what), "mask %s%s, 16 tokens, head_dim 48", masks[m].name,
                     age ? " + age bias" : "");
            check_explicit(state, 1, 4, 48, 16, 16, masks[m].mask, 4, age, 1.0f, true, what);
        }
}

static void odd_explicit_shapes_match_the_matmul_path(void **state)
{
    /* 3 queries against 131 keys: three key tiles, the last with 3 keys */
    check_explicit(state, 2, 3, 48, 3, 131, DRIFT_MASK_NONE, 0, true, 1.0f, true,
                   "3 queries x 131 keys");
    /* one query, one key, head_dim 1 */
    check_explicit(state, 1, 1, 1, 1, 1, DRIFT_MASK_NONE, 0, false, 1.0f, true,
                   "1 x 1, head_dim 1");
    /* head_dim 7: the partial vector alone (and, in bf16, an unpaired last dimension) */
    check_explicit(state, 1, 2, 7, 33, 33, DRIFT_MASK_CAUSAL, 0, true, 1.0f, true,
                   "causal, head_dim 7");
    /* odd head_dim over one 64-column chunk, 3 key tiles, the last with an odd 31 keys */
    check_explicit(state, 2, 2, 67, 5, 159, DRIFT_MASK_NONE, 0, true, 1.0f, true,
                   "5 x 159 keys, head_dim 67");
    /* scores up to ~100 (exp overflows past 88): the running max keeps exp in range as later
     * tiles raise it */
    check_explicit(state, 1, 2, 24, 20, 150, DRIFT_MASK_NONE, 0, true, 10.0f, false,
                   "large scores");
}

static void allocates_nothing_once_planned(struct drift_context *ctx)
{
    struct drift_tensor qkv = random_rows(1, 64, 3 * 192, 3, 1.0f), out = random_rows(1, 64, 192, 4, 0);
    struct drift_tensor q = columns(&qkv, 0, 192), k = columns(&qkv, 192, 192),
                        v = columns(&qkv, 384, 192);
    struct drift_attention_args args = { .heads = 4, .q = &q, .k = &k, .v = &v,
                                         .mask = DRIFT_MASK_BLOCK_CAUSAL, .mask_block = 16,
                                         .age_slope = slopes, .out = &out };
    struct drift_error err = { 0 };
    assert_int_equal(drift_context_attention(ctx), DRIFT_ATTENTION_FUSED);
    assert_int_equal(drift_attention(ctx, &args, &err), 0);
    struct drift_counters before = *drift_context_counters(ctx);
    assert_int_equal(drift_attention(ctx, &args, &err), 0);
    const struct drift_counters *after = drift_context_counters(ctx);
    assert_int_equal(after->allocations, before.allocations);
    assert_int_equal(after->primitives_created, before.primitives_created);
    assert_int_equal(after->op_calls, before.op_calls);
    assert_true(after->plan_hits == before.plan_hits + 1);
    /* counted as the two products it replaces: 4 B H Lq Lk D */
    assert_true(after->flops - before.flops == 4.0 * 4 * 64 * 64 * 48);
    drift_tensor_free(&qkv);
    drift_tensor_free(&out);
}

static void fused_call_allocates_nothing_once_planned(void **state)
{
    struct contexts *c = *state;
    allocates_nothing_once_planned(c->fused);
    if (c->bf16_fused)
        allocates_nothing_once_planned(c->bf16_fused);
    if (c->bf16_avx512)
        allocates_nothing_once_planned(c->bf16_avx512);
}

/* The bf16 variant's checks ride along in the tests above; this one says when they could not. */
static void bf16_variant_runs_where_the_cpu_has_avx512bf16(void **state)
{
    struct contexts *c = *state;
    if (!c->bf16_fused) {
        print_message("skipped: this CPU (%s) lacks AVX512-BF16, so the fused kernel's bf16 "
                      "variant was not checked\n", drift_cpu_isa());
        skip();
    }
    assert_int_equal(drift_context_compute_dtype(c->bf16_fused), DRIFT_BF16);
    assert_int_equal(drift_context_attention(c->bf16_fused), DRIFT_ATTENTION_FUSED);
    /* The AMX variant by default where it runs; the option gives the AVX512-BF16 one. */
    assert_int_equal(c->bf16_fused->attention_amx, drift_fused_amx_supported());
    if (c->bf16_avx512)
        assert_false(c->bf16_avx512->attention_amx);
}

/* Whether /proc/cpuinfo's flags name both AMX-TILE and AMX-BF16 (-1: no /proc/cpuinfo). */
static int cpuinfo_has_amx(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    char line[8192];
    int has = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "flags", 5) == 0) {
            has = strstr(line, " amx_tile") && strstr(line, " amx_bf16");
            break;
        }
    fclose(f);
    return has;
}

/* drift_fused_amx_supported() agrees with the kernel's view of the CPU: where Linux lists the
 * AMX flags (it does so only when it manages the tile state) and the CPU has AVX512-BF16, the
 * process gets the tiles (arch_prctl grants them from Linux 5.16, which lists the flags); where
 * it lists none, the engine does not try them. */
static void amx_variant_is_found_where_the_kernel_lists_amx(void **state)
{
    (void)state;
    int listed = cpuinfo_has_amx();
    if (listed < 0) {
        print_message("skipped: no /proc/cpuinfo to compare with\n");
        skip();
    }
    bool supported = drift_fused_amx_supported();
    if (supported != (listed && drift_fused_bf16_supported()))
        fail_msg("/proc/cpuinfo %s AMX-TILE and AMX-BF16, AVX512-BF16 %s, but the engine says the "
                 "AMX variant %s", listed ? "lists" : "does not list",
                 drift_fused_bf16_supported() ? "present" : "absent", supported ? "runs" : "does not run");
    assert_int_equal(drift_fused_amx_supported(), supported); /* asked once, same answer */
}

static void contexts_pick_the_kernel_by_precision_and_environment(void **state)
{
    (void)state;
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    struct drift_context_options f32 = { .precision = DRIFT_PRECISION_F32 };
    /* f32: the products by default (faster at the video shapes), fused when asked */
    assert_int_equal(drift_context_new(&f32, &ctx, &err), 0);
    assert_int_equal(drift_context_attention(ctx), DRIFT_ATTENTION_MATMUL);
    drift_context_free(ctx);

    setenv("DRIFT_ATTENTION", "fused", 1);
    assert_int_equal(drift_context_new(&f32, &ctx, &err), 0);
    assert_int_equal(drift_context_attention(ctx), DRIFT_ATTENTION_FUSED);
    drift_context_free(ctx);

    setenv("DRIFT_ATTENTION", "flash", 1);
    assert_int_equal(drift_context_new(&f32, &ctx, &err), -EINVAL);
    assert_non_null(strstr(err.message, "DRIFT_ATTENTION=flash"));
    unsetenv("DRIFT_ATTENTION");

    /* bf16: fused by default where the CPU has AVX512-BF16 (with or without AMX), refused (when
     * asked for) without it; matmul stays reachable either way. */
    struct drift_context_options bf16 = { .precision = DRIFT_PRECISION_BF16 };
    if (drift_context_new(&bf16, &ctx, &err) == 0) {
        bool has = drift_fused_bf16_supported();
        assert_int_equal(drift_context_attention(ctx),
                         has ? DRIFT_ATTENTION_FUSED : DRIFT_ATTENTION_MATMUL);
        drift_context_free(ctx);
        setenv("DRIFT_ATTENTION", "matmul", 1);
        assert_int_equal(drift_context_new(&bf16, &ctx, &err), 0);
        assert_int_equal(drift_context_attention(ctx), DRIFT_ATTENTION_MATMUL);
        drift_context_free(ctx);
        unsetenv("DRIFT_ATTENTION");
        bf16.attention = DRIFT_ATTENTION_FUSED;
        if (has) {
            assert_int_equal(drift_context_new(&bf16, &ctx, &err), 0);
            assert_int_equal(drift_context_attention(ctx), DRIFT_ATTENTION_FUSED);
            drift_context_free(ctx);
        } else {
            assert_int_equal(drift_context_new(&bf16, &ctx, &err), -ENOTSUP);
            assert_non_null(strstr(err.message, "AVX512-BF16"));
        }
    } else {
        print_message("bf16 unavailable on this CPU (%s): bf16 choice not checked\n",
                      drift_cpu_isa());
    }
    assert_string_equal(drift_attention_kernel_name(DRIFT_ATTENTION_FUSED), "fused");
    assert_string_equal(drift_attention_kernel_name(DRIFT_ATTENTION_MATMUL), "matmul");
}

/* Auto in bf16 runs every call fused, whatever its query count (the audio model's 8, the video
 * model's 64), on AMX as with AVX512-BF16 alone: until the AMX variant existed, AMX machines sent
 * calls of more than 16 queries to the two oneDNN products. A fused call executes no oneDNN
 * primitive, the products do (op_calls counts executions). */
static void auto_runs_every_bf16_call_fused(void **state)
{
    (void)state;
    if (!drift_fused_bf16_supported()) {
        print_message("skipped: this CPU (%s) lacks AVX512-BF16: auto runs bf16 attention on "
                      "the products only\n", drift_cpu_isa());
        skip();
    }
    struct drift_context *ctx = context(DRIFT_PRECISION_BF16, DRIFT_ATTENTION_AUTO);
    assert_int_equal(drift_context_attention(ctx), DRIFT_ATTENTION_FUSED);
    static const int64_t queries[] = { 1, 8, 16, 17, 64 };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        int64_t Lq = queries[i], Lk = Lq + 32;
        struct drift_tensor qs = random_rows(1, Lq, 128, 21, 1.0f), kvs = random_rows(1, Lk, 256, 22, 1.0f),
                            out = random_rows(1, Lq, 128, 23, 0.0f);
        struct drift_tensor q = columns(&qs, 0, 128), k = columns(&kvs, 0, 128), v = columns(&kvs, 128, 128);
        struct drift_attention_args args = { .heads = 4, .q = &q, .k = &k, .v = &v,
                                             .mask = DRIFT_MASK_NONE, .age_slope = slopes, .out = &out };
        struct drift_error err = { 0 };
        assert_int_equal(drift_attention(ctx, &args, &err), 0); /* plans */
        uint64_t before = drift_context_counters(ctx)->op_calls;
        assert_int_equal(drift_attention(ctx, &args, &err), 0);
        uint64_t executed = drift_context_counters(ctx)->op_calls - before;
        if (executed != 0)
            fail_msg("%lld queries on %s: %llu oneDNN executions, expected the fused kernel's none",
                     (long long)Lq, drift_cpu_isa(), (unsigned long long)executed);
        drift_tensor_free(&qs);
        drift_tensor_free(&kvs);
        drift_tensor_free(&out);
    }
    drift_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(video_model_shapes_match_the_matmul_path),
        cmocka_unit_test(audio_model_shapes_match_the_matmul_path),
        cmocka_unit_test(odd_cache_shapes_match_the_matmul_path),
        cmocka_unit_test(every_mask_with_and_without_age_bias_matches_the_matmul_path),
        cmocka_unit_test(odd_explicit_shapes_match_the_matmul_path),
        cmocka_unit_test(fused_call_allocates_nothing_once_planned),
        cmocka_unit_test(bf16_variant_runs_where_the_cpu_has_avx512bf16),
        cmocka_unit_test(contexts_pick_the_kernel_by_precision_and_environment),
        cmocka_unit_test(auto_runs_every_bf16_call_fused),
        cmocka_unit_test(amx_variant_is_found_where_the_kernel_lists_amx),
    };
    return cmocka_run_group_tests_name("attention_fused", tests, setup, teardown);
}
