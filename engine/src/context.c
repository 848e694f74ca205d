#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention_fused.h"
#include "linear_direct.h"
#include "internal.h"

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "generic";
    }
}

const char *drift_cpu_isa(void)
{
    return isa_name(dnnl_get_effective_cpu_isa());
}

/* bf16 pays off where the CPU has native bf16 dot products (AVX512-BF16 or AMX). */
static int cpu_has_native_bf16(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

/* AMX: oneDNN's bf16 products run on its tiles, faster than the engine's AVX512-BF16 few-row
 * kernel at the default models' shapes (drift-bench ops on an Intel Xeon with AMX, 2026-12-03:
 * 2.2-4.6 us on oneDNN against 7.9-11.8 us direct). */
static bool cpu_has_amx(void)
{
    return dnnl_get_effective_cpu_isa() == dnnl_cpu_isa_avx512_core_amx;
}

static int cpu_can_bf16(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

const char *drift_precision_name(enum drift_precision precision)
{
    switch (precision) {
    case DRIFT_PRECISION_F32: return "f32";
    case DRIFT_PRECISION_BF16: return "bf16";
    case DRIFT_PRECISION_INT8: return "int8";
    default: return "auto";
    }
}

static int choose_precision(enum drift_precision asked, enum drift_precision *ret,
                            struct drift_error *err)
{
    const char *env = getenv("DRIFT_PRECISION");
    if (env && *env) {
        if (strcmp(env, "f32") == 0)
            asked = DRIFT_PRECISION_F32;
        else if (strcmp(env, "bf16") == 0)
            asked = DRIFT_PRECISION_BF16;
        else if (strcmp(env, "int8") == 0)
            asked = DRIFT_PRECISION_INT8;
        else if (strcmp(env, "auto") != 0)
            return drift_error_set(err, -EINVAL,
                                   "DRIFT_PRECISION=%s: expected f32, bf16, int8 or auto", env);
    }
    if (asked == DRIFT_PRECISION_AUTO)
        asked = cpu_has_native_bf16() ? DRIFT_PRECISION_BF16 : DRIFT_PRECISION_F32;
    if (asked == DRIFT_PRECISION_BF16 && !cpu_can_bf16())
        return drift_error_set(err, -ENOTSUP, "precision bf16: this CPU (%s) lacks AVX-512",
                               drift_cpu_isa());
    *ret = asked;
    return 0;
}

const char *drift_attention_kernel_name(enum drift_attention_kernel kernel)
{
    switch (kernel) {
    case DRIFT_ATTENTION_FUSED: return "fused";
    case DRIFT_ATTENTION_MATMUL: return "matmul";
    default: return "auto";
    }
}

/* The fused kernel runs f32 contexts on any CPU and bf16 ones where its AVX512-BF16 variant
 * runs. Auto picks it for bf16 there and the two-matmul path for f32: measured on an idle
 * AVX512-BF16 machine (drift-bench ops, video shapes), the bf16 variant took 0.059 ms against
 * the products' 0.068, but the f32 variant (AVX2 tiles) 0.109 against oneDNN's 0.068. Where the
 * CPU has AMX the fused kernel's AMX variant runs and wins too (0.056 ms against the products'
 * 0.090 on their AMX tiles at the video shapes, 0.004 against 0.013 at the audio ones; the
 * AVX512-BF16 variant alone had lost there: 0.117 against 0.082). */
static int choose_attention(enum drift_attention_kernel asked, enum drift_dtype compute,
                            enum drift_attention_kernel *ret, struct drift_error *err)
{
    const char *env = getenv("DRIFT_ATTENTION");
    if (env && *env) {
        if (strcmp(env, "fused") == 0)
            asked = DRIFT_ATTENTION_FUSED;
        else if (strcmp(env, "matmul") == 0)
            asked = DRIFT_ATTENTION_MATMUL;
        else if (strcmp(env, "auto") == 0)
            asked = DRIFT_ATTENTION_AUTO;
        else
            return drift_error_set(err, -EINVAL,
                                   "DRIFT_ATTENTION=%s: expected fused, matmul or auto", env);
    }
    if (asked < DRIFT_ATTENTION_AUTO || asked > DRIFT_ATTENTION_MATMUL)
        return drift_error_set(err, -EINVAL, "context: unknown attention kernel %d", (int)asked);
    bool fused_runs = compute == DRIFT_F32 || drift_fused_bf16_supported();
    if (asked == DRIFT_ATTENTION_AUTO)
        asked = compute != DRIFT_F32 && fused_runs ? DRIFT_ATTENTION_FUSED : DRIFT_ATTENTION_MATMUL;
    if (asked == DRIFT_ATTENTION_FUSED && !fused_runs)
        return drift_error_set(err, -ENOTSUP, "attention fused: this context computes in bf16 "
                               "and the fused kernel's bf16 variant needs AVX512-BF16, which "
                               "this CPU (%s) lacks (use precision f32 for it)", drift_cpu_isa());
    *ret = asked;
    return 0;
}

int drift_context_new(const struct drift_context_options *options, struct drift_context **ret,
                      struct drift_error *err)
{
    enum drift_precision precision = DRIFT_PRECISION_F32;
    int r = choose_precision(options ? options->precision : DRIFT_PRECISION_AUTO, &precision, err);
    if (r < 0)
        return r;
    int threads = options ? options->threads : 0;
    if (threads < 0 || threads > 256)
        return drift_error_set(err, -EINVAL, "context: threads %d outside [0, 256]", threads);
    struct drift_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return drift_error_set(err, -ENOMEM, "context: out of memory");
    ctx->precision = precision;
    ctx->threads = threads;
    ctx->compute_dtype = precision == DRIFT_PRECISION_BF16 ||
                                 (precision == DRIFT_PRECISION_INT8 && cpu_has_native_bf16())
                             ? DRIFT_BF16 : DRIFT_F32;
    r = choose_attention(options ? options->attention : DRIFT_ATTENTION_AUTO, ctx->compute_dtype,
                         &ctx->attention, err);
    if (r < 0) {
        drift_context_free(ctx);
        return r;
    }
    ctx->attention_portable = drift_fused_isa_best() == DRIFT_FUSED_PORTABLE;
    ctx->attention_amx = ctx->compute_dtype == DRIFT_BF16 && drift_fused_amx_supported() &&
                         !(options && options->attention_fused_without_amx);
    ctx->linear_direct = drift_linear_direct_supported() && !(options && options->linear_onednn_only) &&
                         (!cpu_has_amx() || (options && options->linear_direct_with_amx));
    if (dnnl_engine_create(&ctx->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_default_flags) != dnnl_success) {
        drift_context_free(ctx);
        return drift_error_set(err, -EIO, "context: oneDNN could not create a CPU engine");
    }
    *ret = ctx;
    return 0;
}

void drift_context_free(struct drift_context *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->plan_count; i++)
        ctx->plans[i].destroy(ctx->plans[i].data);
    if (ctx->stream)
        dnnl_stream_destroy(ctx->stream);
    if (ctx->engine)
        dnnl_engine_destroy(ctx->engine);
    free(ctx);
}

enum drift_precision drift_context_precision(const struct drift_context *ctx)
{
    return ctx->precision;
}

enum drift_attention_kernel drift_context_attention(const struct drift_context *ctx)
{
    return ctx->attention;
}

/* bf16 contexts run the AMX variant where the CPU has the tiles and the AVX512-BF16 one otherwise
 * (creation made sure the CPU has that), f32 contexts the CPU's best f32 one unless the portable
 * one is asked for. */
enum drift_fused_isa drift_ctx_fused_isa(const struct drift_context *ctx)
{
    if (ctx->compute_dtype == DRIFT_BF16)
        return ctx->attention_amx ? DRIFT_FUSED_AMX_BF16 : DRIFT_FUSED_AVX512_BF16;
    return ctx->attention_portable ? DRIFT_FUSED_PORTABLE : drift_fused_isa_best();
}

const char *drift_context_fused_variant(const struct drift_context *ctx)
{
    return drift_fused_isa_name(drift_ctx_fused_isa(ctx));
}

enum drift_dtype drift_context_compute_dtype(const struct drift_context *ctx)
{
    return ctx->compute_dtype;
}

const char *drift_context_isa(const struct drift_context *ctx)
{
    (void)ctx;
    return drift_cpu_isa();
}

const struct drift_counters *drift_context_counters(const struct drift_context *ctx)
{
    return &ctx->counters;
}

void *drift_plan_find(struct drift_context *ctx, const void *key, size_t key_size)
{
    for (size_t i = 0; i < ctx->plan_count; i++) {
        struct drift_plan *p = &ctx->plans[i];
        if (p->key_size == key_size && memcmp(p->key, key, key_size) == 0) {
            ctx->counters.plan_hits++;
            return p->data;
        }
    }
    return NULL;
}

int drift_plan_store(struct drift_context *ctx, const void *key, size_t key_size, void *data,
                     void (*destroy)(void *data), struct drift_error *err)
{
    if (key_size > sizeof(ctx->plans[0].key)) {
        destroy(data);
        return drift_error_set(err, -EINVAL, "plan key of %zu bytes is too long", key_size);
    }
    if (ctx->plan_count == DRIFT_MAX_PLANS) {
        destroy(data);
        return drift_error_set(err, -ENOSPC, "context holds %d plans already: too many shapes",
                               DRIFT_MAX_PLANS);
    }
    struct drift_plan *p = &ctx->plans[ctx->plan_count++];
    memcpy(p->key, key, key_size);
    p->key_size = key_size;
    p->data = data;
    p->destroy = destroy;
    return 0;
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void drift_parallel_for(int64_t n, int64_t work, void (*body)(void *arg, int64_t i), void *arg)
{
    if (work >= DRIFT_OMP_MIN_WORK) {
        DRIFT_OMP(omp parallel for schedule(static))
        for (int64_t i = 0; i < n; i++)
            body(arg, i);
    } else {
        for (int64_t i = 0; i < n; i++)
            body(arg, i);
    }
}

void drift_threads_enter(struct drift_context *ctx)
{
#ifdef _OPENMP
    if (ctx->threads > 0 && ctx->threads_depth++ == 0) {
        ctx->threads_saved = omp_get_max_threads();
        omp_set_num_threads(ctx->threads);
    }
#else
    (void)ctx;
#endif
}

void drift_threads_leave(struct drift_context *ctx)
{
#ifdef _OPENMP
    if (ctx->threads > 0 && --ctx->threads_depth == 0)
        omp_set_num_threads(ctx->threads_saved);
#else
    (void)ctx;
#endif
}

double drift_op_begin(struct drift_context *ctx)
{
    drift_threads_enter(ctx);
    return ctx->timing_depth++ == 0 ? monotonic_seconds() : 0.0;
}

void drift_op_end(struct drift_context *ctx, enum drift_op_kind kind, double started)
{
    if (--ctx->timing_depth == 0)
        ctx->counters.seconds[kind] += monotonic_seconds() - started;
    drift_threads_leave(ctx);
}

const char *drift_op_kind_name(enum drift_op_kind kind)
{
    static const char *const names[DRIFT_OP_KINDS] = { "linear", "matmul", "attention", "norm",
                                                        "pointwise", "conv", "kv-cache" };
    return (unsigned)kind < DRIFT_OP_KINDS ? names[kind] : "?";
}

void *drift_ctx_alloc(struct drift_context *ctx, size_t size)
{
    size_t rounded = (size + 63) & ~(size_t)63;
    if (rounded == 0)
        rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (!p)
        return NULL;
    memset(p, 0, rounded);
    ctx->counters.allocations++;
    ctx->counters.bytes_allocated += rounded;
    return p;
}

void drift_release_threads(void)
{
#ifdef _OPENMP
    (void)omp_pause_resource_all(omp_pause_hard); /* -1 where the runtime cannot: nothing lost */
#endif
}
