/* drift-bench ops: each op at the shapes of the default video transformer (models/drift-video:
 * 64 tokens per frame, hidden 192, 4 heads of 48, a KV window of 4 frames; batch 1 at the
 * model's guidance 1, --batch 2 for guidance's two branches), timed in f32 and bf16, beside the
 * raw oneDNN matmul peak of each precision measured in the same run. Attention is timed for both
 * default models (models/drift-audio: 8 tokens, hidden 128, 4 heads of 32, window 4) with each
 * kernel: the fused f32 kernel and the two-matmul path, side by side. The bf16 products of a few
 * rows (the audio model's, the video model's modulation gemv) are timed on one thread with the
 * engine's direct kernel and with oneDNN's matmul, side by side. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <oneapi/dnnl/dnnl.h>

#include <drift/drift.h>

#include "bench.h"
#include "bench_util.h"

#define TOKENS 64
#define HIDDEN 192
#define HEADS 4
#define CACHE_BLOCKS 4 /* 4 past frames = 256 tokens, + the current frame */

static double min_seconds = 0.4;
static int batch = 1; /* --batch */

/* ---- raw oneDNN matmul: the peak each precision can reach here ---------------------------- */

struct raw_matmul {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
};

static int raw_run(void *arg)
{
    struct raw_matmul *m = arg;
    dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC, m->a }, { DNNL_ARG_WEIGHTS, m->b },
                               { DNNL_ARG_DST, m->c } };
    if (dnnl_primitive_execute(m->prim, m->stream, 3, args) != dnnl_success)
        return -1;
    return dnnl_stream_wait(m->stream) == dnnl_success ? 0 : -1;
}

/* GFLOP/s of an n x n x n matmul with packed weights in dtype dt (f32 output). */
static double raw_peak(dnnl_data_type_t dt, int64_t n)
{
    struct raw_matmul m = { 0 };
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t d = { n, n };
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd;
    double gflops = -1;
    if (dnnl_engine_create(&m.engine, dnnl_cpu, 0) || dnnl_stream_create(&m.stream, m.engine, 0))
        return -1;
    dnnl_memory_desc_init_by_tag(&a, 2, d, dt, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&b, 2, d, dt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&c, 2, d, dnnl_f32, dnnl_ab);
    if (dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c) == dnnl_success &&
        dnnl_primitive_desc_create(&pd, &desc, NULL, m.engine, NULL) == dnnl_success) {
        dnnl_primitive_create(&m.prim, pd);
        dnnl_memory_create(&m.a, &a, m.engine, DNNL_MEMORY_ALLOCATE);
        dnnl_memory_create(&m.b, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                           m.engine, DNNL_MEMORY_ALLOCATE);
        dnnl_memory_create(&m.c, &c, m.engine, DNNL_MEMORY_ALLOCATE);
        dnnl_primitive_desc_destroy(pd);
        double t = bench_median(raw_run, &m, min_seconds);
        if (t > 0)
            gflops = 2.0 * (double)n * n * n / t * 1e-9;
        dnnl_primitive_destroy(m.prim);
        dnnl_memory_destroy(m.a);
        dnnl_memory_destroy(m.b);
        dnnl_memory_destroy(m.c);
    }
    dnnl_stream_destroy(m.stream);
    dnnl_engine_destroy(m.engine);
    return gflops;
}

/* ---- the engine's ops ---------------------------------------------------------------------- */

struct op_case {
    struct drift_context *ctx;
    struct drift_linear *linear;
    struct drift_tensor x, y, z, shift, scale;
    struct drift_kv_cache *cache;
    int heads, window;
    float slopes[16];
    int (*run)(struct op_case *c);
};

static int run_case(void *arg)
{
    struct op_case *c = arg;
    return c->run(c);
}

static int run_linear(struct op_case *c)
{
    return drift_linear_forward(c->ctx, c->linear, &c->x, &c->y, false, NULL);
}
static int run_attention(struct op_case *c)
{
    struct drift_attention_args a = { .heads = c->heads, .q = &c->x, .cache = c->cache,
                                      .position = c->window, .age_slope = c->slopes,
                                      .out = &c->y };
    return drift_attention(c->ctx, &a, NULL);
}
static int run_layer_norm(struct op_case *c)
{
    return drift_layer_norm(c->ctx, &c->x, NULL, NULL, 1e-6f, &c->y, NULL);
}
static int run_ln_modulate(struct op_case *c)
{
    return drift_layer_norm_modulate(c->ctx, &c->x, &c->shift, &c->scale, 1e-6f, &c->y, NULL);
}
static int run_gated_add(struct op_case *c)
{
    return drift_gated_add(c->ctx, &c->y, &c->shift, &c->x, NULL);
}
static int run_kv_write(struct op_case *c)
{
    return drift_kv_cache_write(c->ctx, c->cache, &c->x, &c->y, NULL);
}
static int run_softmax(struct op_case *c)
{
    return drift_softmax(c->ctx, &c->z, &c->z, NULL);
}

static void fill(struct drift_tensor *t, unsigned seed, float scale)
{
    float *p = t->data;
    for (int64_t i = 0; i < drift_tensor_numel(t); i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = scale * ((float)(seed >> 8) / (float)(1u << 24) - 0.5f);
    }
}

static struct drift_tensor make(int ndim, const int64_t *shape, unsigned seed, float scale)
{
    struct drift_tensor t = { 0 };
    if (drift_tensor_alloc(&t, DRIFT_F32, ndim, shape) == 0)
        fill(&t, seed, scale);
    return t;
}

struct row {
    const char *name;
    double flops;   /* per call; 0 for memory-bound ops */
    double bytes;   /* per call, moved at least once */
    double ms[2];   /* f32, bf16 */
};

static double time_linear(struct drift_context *ctx, int64_t rows, int64_t in, int64_t out,
                          enum drift_activation act)
{
    struct op_case c = { .ctx = ctx, .run = run_linear };
    struct drift_tensor w = make(2, (int64_t[]){ out, in }, 7, 0.1f);
    struct drift_tensor b = make(1, (int64_t[]){ out }, 8, 0.1f);
    c.x = make(2, (int64_t[]){ rows, in }, 9, 1.0f);
    c.y = make(2, (int64_t[]){ rows, out }, 10, 0.0f);
    double t = -1;
    if (drift_linear_new(ctx, &w, &b, act, &c.linear, NULL) == 0)
        t = bench_median(run_case, &c, min_seconds);
    drift_linear_free(c.linear);
    drift_tensor_free(&w);
    drift_tensor_free(&b);
    drift_tensor_free(&c.x);
    drift_tensor_free(&c.y);
    return t;
}

/* The attention of one transformer: its shapes, from models/drift-*.json. */
struct attention_shape {
    const char *model;
    int tokens, hidden, heads, window;
};

static const struct attention_shape attention_shapes[] = {
    { "video", TOKENS, HIDDEN, HEADS, CACHE_BLOCKS },
    { "audio", 8, 128, 4, 4 },
};

static double time_attention(struct drift_context *ctx, const struct attention_shape *s)
{
    struct op_case c = { .ctx = ctx, .run = run_attention, .heads = s->heads,
                         .window = s->window };
    c.x = make(3, (int64_t[]){ batch, s->tokens, s->hidden }, 11, 1.0f);
    c.y = make(3, (int64_t[]){ batch, s->tokens, s->hidden }, 12, 0.0f);
    for (int h = 0; h < s->heads; h++)
        c.slopes[h] = powf(2.0f, -(float)h);
    double t = -1;
    if (drift_kv_cache_new(ctx, batch, s->heads, s->hidden / s->heads, s->tokens, s->window,
                           &c.cache, NULL) == 0) {
        /* Fill the window with its past frames, then time the current frame against all of
         * them and itself, as a stream does once the window is full. */
        for (int f = 0; f <= s->window; f++) {
            drift_kv_cache_write(ctx, c.cache, &c.x, &c.x, NULL);
            if (f < s->window)
                drift_kv_cache_commit(c.cache, f);
        }
        t = bench_median(run_case, &c, min_seconds);
    }
    drift_kv_cache_free(c.cache);
    drift_tensor_free(&c.x);
    drift_tensor_free(&c.y);
    return t;
}

static double time_pointwise(struct drift_context *ctx, int (*run)(struct op_case *))
{
    struct op_case c = { .ctx = ctx, .run = run };
    c.x = make(3, (int64_t[]){ batch, TOKENS, HIDDEN }, 13, 1.0f);
    c.y = make(3, (int64_t[]){ batch, TOKENS, HIDDEN }, 14, 1.0f);
    c.z = make(3, (int64_t[]){ batch * HEADS, TOKENS, TOKENS * (CACHE_BLOCKS + 1) }, 15, 4.0f);
    c.shift = make(2, (int64_t[]){ batch, HIDDEN }, 16, 0.2f);
    c.scale = make(2, (int64_t[]){ batch, HIDDEN }, 17, 0.2f);
    double t = -1;
    /* the KV-cache write: one frame's keys (x) and values (y) into the working slot */
    if (run != run_kv_write || drift_kv_cache_new(ctx, batch, HEADS, HIDDEN / HEADS, TOKENS,
                                                  CACHE_BLOCKS, &c.cache, NULL) == 0)
        t = bench_median(run_case, &c, min_seconds);
    drift_kv_cache_free(c.cache);
    drift_tensor_free(&c.x);
    drift_tensor_free(&c.y);
    drift_tensor_free(&c.z);
    drift_tensor_free(&c.shift);
    drift_tensor_free(&c.scale);
    return t;
}

struct linear_shape {
    const char *name;
    int64_t rows, in, out; /* rows per batch entry */
    enum drift_activation act;
};

static const struct linear_shape linears[] = {
    { "linear qkv", TOKENS, HIDDEN, 3 * HIDDEN, DRIFT_ACT_NONE },
    { "linear attn-out", TOKENS, HIDDEN, HIDDEN, DRIFT_ACT_NONE },
    { "linear mlp-up+gelu", TOKENS, HIDDEN, 4 * HIDDEN, DRIFT_ACT_GELU_TANH },
    { "linear mlp-down", TOKENS, 4 * HIDDEN, HIDDEN, DRIFT_ACT_NONE },
    { "linear adaLN (gemv)", 1, HIDDEN, 6 * HIDDEN, DRIFT_ACT_NONE },
};

/* Products of a few rows, in bf16 on one thread: the audio model's (8 tokens of 128, 513 STFT
 * bins) and the video model's modulation gemv. */
static const struct linear_shape few_rows[] = {
    { "audio qkv 8x128>384", 8, 128, 384, DRIFT_ACT_NONE },
    { "audio mlp-up+gelu", 8, 128, 512, DRIFT_ACT_GELU_TANH },
    { "audio mlp-down", 8, 512, 128, DRIFT_ACT_NONE },
    { "audio patch 8x513>128", 8, 513, 128, DRIFT_ACT_NONE },
    { "audio adaLN 1x128>768", 1, 128, 768, DRIFT_ACT_NONE },
    { "video adaLN 1x192>1152", 1, 192, 1152, DRIFT_ACT_NONE },
};

/* The few-row products, each with both paths. */
static void few_rows_table(const double peak[2], int peak_threads)
{
    struct drift_context *ctx[2] = { NULL, NULL }; /* direct, oneDNN */
    for (int p = 0; p < 2; p++) {
        struct drift_context_options o = { .precision = DRIFT_PRECISION_BF16, .threads = 1,
                                           .linear_onednn_only = p == 1,
                                           .linear_direct_with_amx = p == 0 };
        if (drift_context_new(&o, &ctx[p], NULL) < 0)
            ctx[p] = NULL;
    }
    if (!ctx[0] || !ctx[1]) {
        printf("\n(no bf16 on this CPU: the few-row bf16 products are not timed)\n");
    } else {
        printf("\nbf16 products of a few rows, one thread (the audio model runs on one): the engine's "
               "direct kernel (AVX512-BF16, where the CPU has it) against a oneDNN matmul call\n");
        printf("%-22s | %8s %8s %6s | %8s %8s %6s | %s\n", "op", "direct us", "GFLOP/s", "%peak",
               "oneDNN us", "GFLOP/s", "%peak", "speed-up");
        for (size_t i = 0; i < sizeof(few_rows) / sizeof(few_rows[0]); i++) {
            const struct linear_shape *s = &few_rows[i];
            double flops = 2.0 * s->rows * s->in * s->out, us[2];
            printf("%-22s", s->name);
            for (int p = 0; p < 2; p++) {
                us[p] = time_linear(ctx[p], s->rows, s->in, s->out, s->act) * 1e6;
                double gf = flops / (us[p] * 1e-6) * 1e-9;
                /* one thread: against one thread's share of the peak */
                printf(" | %8.2f %8.1f %5.0f%%", us[p], gf, 100.0 * gf / (peak[1] / peak_threads));
            }
            printf(" | %.2fx\n", us[1] / us[0]);
        }
        printf("(%%peak here: of one thread's share of the raw bf16 peak, measured on %d; the direct "
               "kernel needs "
               "AVX512-BF16: elsewhere both columns are oneDNN)\n", peak_threads);
    }
    drift_context_free(ctx[0]);
    drift_context_free(ctx[1]);
}

static void print_row(const struct row *r, const double peak[2], double bar)
{
    printf("%-22s", r->name);
    int pass = 1;
    for (int p = 0; p < 2; p++) {
        if (r->ms[p] < 0) {
            printf(" | %8s %8s %6s", "n/a", "", "");
            continue;
        }
        if (r->flops > 0) {
            double gf = r->flops / (r->ms[p] * 1e-3) * 1e-9;
            double pct = 100.0 * gf / peak[p];
            printf(" | %8.3f %8.1f %5.0f%%", r->ms[p], gf, pct);
            if (bar > 0 && pct < bar)
                pass = 0;
        } else {
            printf(" | %8.3f %7.1fG %6s", r->ms[p], r->bytes / (r->ms[p] * 1e-3) * 1e-9, "B/s");
        }
    }
    if (bar > 0)
        printf(" | >=%2.0f%% %s\n", bar, pass ? "met" : "MISSED");
    else
        printf(" | %s\n", r->flops > 0 ? "(no bar)" : "memory-bound");
}

/* Attention of one model with one kernel: the f32 column from f32_ctx when it runs `kernel`, the
 * bf16 column from bf16_ctx when it does (n/a where there is no such context: no bf16 on this
 * CPU, or the fused kernel's bf16 variant without AVX512-BF16). The row is named after the
 * kernel, or `label` when given. */
static void attention_row(const struct attention_shape *s, enum drift_attention_kernel kernel,
                          const char *label, struct drift_context *f32_ctx,
                          struct drift_context *bf16_ctx, const double peak[2], double bar,
                          int *missed)
{
    char name[40];
    int lk = s->tokens * (s->window + 1);
    snprintf(name, sizeof(name), "attn %s %s", s->model,
             label ? label : drift_attention_kernel_name(kernel));
    struct row r = { .name = name, .flops = 4.0 * batch * s->tokens * lk * s->hidden };
    struct drift_context *ctx[2] = { f32_ctx, bf16_ctx };
    for (int p = 0; p < 2; p++)
        r.ms[p] = ctx[p] && drift_context_attention(ctx[p]) == kernel
                      ? time_attention(ctx[p], s) * 1e3 : -1;
    print_row(&r, peak, bar);
    for (int p = 0; p < 2 && bar > 0; p++)
        *missed += r.ms[p] > 0 && 100.0 * r.flops / (r.ms[p] * 1e-3) * 1e-9 / peak[p] < bar;
}

int drift_bench_ops(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            min_seconds = 0.05;
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc &&
                 (batch = atoi(argv[i + 1])) >= 1 && batch <= 64)
            i++;
        else {
            fprintf(stderr, "usage: drift-bench ops [--quick] [--batch N]\n");
            return 2;
        }
    }
    /* Each attention row names its kernel and asks for it: the environment must not swap them. */
    if (getenv("DRIFT_ATTENTION")) {
        printf("(DRIFT_ATTENTION=%s ignored: the attention rows choose their kernel)\n",
               getenv("DRIFT_ATTENTION"));
        unsetenv("DRIFT_ATTENTION");
    }
    const char *threads = getenv("OMP_NUM_THREADS");
    printf("drift-bench ops — ISA %s, threads %s, shapes of the default video model "
           "(batch %d x %d tokens, hidden %d, %d heads, KV window %d frames)\n\n",
           drift_cpu_isa(), threads ? threads : "all", batch, TOKENS, HIDDEN, HEADS, CACHE_BLOCKS);
    /* The peak: the best of square products of a few sizes, weights packed, f32 output. */
    double peak[2] = { 0, 0 };
    const int64_t sizes[] = { 512, 1024, 2048 };
    for (int i = 0; i < 3; i++) {
        peak[0] = fmax(peak[0], raw_peak(dnnl_f32, sizes[i]));
        peak[1] = fmax(peak[1], raw_peak(dnnl_bf16, sizes[i]));
    }
    printf("raw oneDNN matmul peak (best of n^3, n = 512, 1024, 2048): f32 %.1f GFLOP/s, "
           "bf16 %.1f GFLOP/s (bf16/f32 %.1fx)\n\n", peak[0], peak[1], peak[1] / peak[0]);

    /* f32 and bf16 with the fused attention kernel (bf16: where the CPU has AVX512-BF16), and
     * both with the two-matmul attention. The linear and pointwise rows run on the fused pair,
     * or in bf16 on the matmul one where the fused bf16 context cannot be made (the attention
     * kernel does not touch those ops). */
    /* Where the fused bf16 kernel runs on AMX tiles, a fifth context runs its AVX512-BF16
     * variant, for a row of its own beside it. */
    struct drift_context *ctx[5] = { NULL, NULL, NULL, NULL, NULL };
    struct drift_context_options opt[5] = {
        { .precision = DRIFT_PRECISION_F32, .attention = DRIFT_ATTENTION_FUSED },
        { .precision = DRIFT_PRECISION_BF16, .attention = DRIFT_ATTENTION_FUSED },
        { .precision = DRIFT_PRECISION_F32, .attention = DRIFT_ATTENTION_MATMUL },
        { .precision = DRIFT_PRECISION_BF16, .attention = DRIFT_ATTENTION_MATMUL },
        { .precision = DRIFT_PRECISION_BF16, .attention = DRIFT_ATTENTION_FUSED,
          .attention_fused_without_amx = true },
    };
    for (int p = 0; p < 4; p++)
        if (drift_context_new(&opt[p], &ctx[p], NULL) < 0)
            ctx[p] = NULL;
    const char *bf16_variant = ctx[1] ? drift_context_fused_variant(ctx[1]) : "n/a";
    if (strcmp(bf16_variant, "amx-bf16") == 0 && drift_context_new(&opt[4], &ctx[4], NULL) < 0)
        ctx[4] = NULL;
    struct drift_context *rows_ctx[2] = { ctx[0], ctx[1] ? ctx[1] : ctx[3] };

    printf("%-22s | %8s %8s %6s | %8s %8s %6s | %s\n", "op", "f32 ms", "GFLOP/s", "%peak",
           "bf16 ms", "GFLOP/s", "%peak", "bar");
    printf("%.*s\n", 100, "----------------------------------------------------------------------"
                          "------------------------------");
    int missed = 0;
    for (size_t i = 0; i < sizeof(linears) / sizeof(linears[0]); i++) {
        const struct linear_shape *s = &linears[i];
        int64_t rows = s->rows * batch;
        struct row r = { .name = s->name, .flops = 2.0 * rows * s->in * s->out };
        for (int p = 0; p < 2; p++)
            r.ms[p] = rows_ctx[p] ? time_linear(rows_ctx[p], rows, s->in, s->out, s->act) * 1e3
                                  : -1;
        double bar = rows >= 256 && s->out >= 256 ? 60 : 0;
        if (s->rows == 1) { /* a gemv streams its weights: report bandwidth */
            r.flops = 0;
            r.bytes = (double)s->in * s->out * 4;
        }
        print_row(&r, peak, bar);
        for (int p = 0; p < 2 && bar > 0; p++)
            missed += r.ms[p] > 0 && 100.0 * r.flops / (r.ms[p] * 1e-3) * 1e-9 / peak[p] < bar;
    }
    /* Attention with the window full, each model with the fused kernel and the two-matmul path,
     * one row each. The bar applies to the video model's; the audio model's is a few
     * microseconds, bounded by fixed costs. */
    for (size_t i = 0; i < sizeof(attention_shapes) / sizeof(attention_shapes[0]); i++) {
        const struct attention_shape *s = &attention_shapes[i];
        double bar = i == 0 ? 30 : 0;
        attention_row(s, DRIFT_ATTENTION_FUSED, NULL, ctx[0], ctx[1], peak, bar, &missed);
        if (ctx[4])
            attention_row(s, DRIFT_ATTENTION_FUSED, "fused512", NULL, ctx[4], peak, 0, &missed);
        attention_row(s, DRIFT_ATTENTION_MATMUL, NULL, ctx[2], ctx[3], peak, bar, &missed);
    }

    double lk = TOKENS * (CACHE_BLOCKS + 1.0);
    char softmax_name[40];
    snprintf(softmax_name, sizeof(softmax_name), "softmax %dx%dx%d", batch * HEADS, TOKENS,
             (int)lk);
    struct { const char *name; int (*run)(struct op_case *); double bytes; } pw[] = {
        { softmax_name, run_softmax, 2.0 * batch * HEADS * TOKENS * lk * 4 },
        { "layer norm", run_layer_norm, 2.0 * batch * TOKENS * HIDDEN * 4 },
        { "layer norm+modulate", run_ln_modulate, 2.0 * batch * TOKENS * HIDDEN * 4 },
        { "gated residual", run_gated_add, 3.0 * batch * TOKENS * HIDDEN * 4 },
        { "kv-cache write", run_kv_write, 2.0 * batch * TOKENS * HIDDEN * 4 },
    };
    for (size_t i = 0; i < sizeof(pw) / sizeof(pw[0]); i++) {
        struct row r = { .name = pw[i].name, .bytes = pw[i].bytes };
        for (int p = 0; p < 2; p++)
            r.ms[p] = rows_ctx[p] ? time_pointwise(rows_ctx[p], pw[i].run) * 1e3 : -1;
        print_row(&r, peak, 0);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    few_rows_table(peak, threads && atoi(threads) > 0 ? atoi(threads) : cores > 0 ? (int)cores : 1);
    printf("\nattn rows: the fused kernel (f32: its %s variant; bf16: its %s variant%s) and the "
           "two-matmul path, the window full:", ctx[0] ? drift_context_fused_variant(ctx[0]) : "n/a",
           bf16_variant, ctx[4] ? ", and its avx512-bf16 one in the fused512 row" : "");
    for (size_t i = 0; i < sizeof(attention_shapes) / sizeof(attention_shapes[0]); i++) {
        const struct attention_shape *s = &attention_shapes[i];
        printf("%s %s %d queries x %d keys x %d heads of %d", i ? ";" : "", s->model, s->tokens,
               s->tokens * (s->window + 1), s->heads, s->hidden / s->heads);
    }
    printf(", batch %d.\n", batch);
    printf("bars: linear (rows and width >= 256) >= 60%% of the raw matmul peak of its precision; "
           "video attention >= 30%%. %d missed.\n", missed);
    for (int p = 0; p < 5; p++)
        drift_context_free(ctx[p]);
    return 0;
}
