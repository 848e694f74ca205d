/* drift-bench peers: drift's side of the benchmark against PyTorch and ONNX Runtime
 * (tools/peers/bench-peers.sh runs all three and prints the table).
 *
 * For one model and each precision it times one denoising step (drift_model_forward of one frame,
 * batch 1,
 * no guidance, the KV-cache window full), frames per second at the model's default setting
 * (the public generator API, KV cache, after the window is full), and the engine's time per op
 * kind; beside them the raw oneDNN matmul peak measured in the same run, which makes the limit
 * (FLOPs per step / bf16 peak). With --inputs (written by tools/peers/torch_peer.py) the window
 * and the frame are exactly the peers' and the velocity is checked against PyTorch fp32's.
 * Prints `key=value` lines for the driver to merge. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include <drift/drift.h>

#include "bench.h"
#include "bench_util.h"

#define MAX_SAMPLES 4096

struct peers_options {
    char stem[4000], weights[4096], config[4096];
    const char *inputs;  /* NULL: deterministic pseudo-random inputs */
    double seconds;      /* per measurement */
    bool sweep;          /* frames/s against steps and cache policy (the plot) */
    bool fps_only;       /* frames/s at the default setting only (the resolution plot) */
};

/* ---- the raw oneDNN matmul peak ------------------------------------------------------------ */

/* GFLOP/s of an n x n x n matmul, weights packed (format any), f32 output; -1 on failure. */
static double raw_peak(dnnl_data_type_t dt, int64_t n, double seconds)
{
    dnnl_engine_t engine = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t a = NULL, b = NULL, c = NULL;
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_matmul_desc_t desc;
    dnnl_dims_t dims = { n, n };
    double gflops = -1;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) || dnnl_stream_create(&stream, engine, 0))
        goto out;
    dnnl_memory_desc_init_by_tag(&amd, 2, dims, dt, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&bmd, 2, dims, dt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&cmd, 2, dims, dnnl_f32, dnnl_ab);
    if (dnnl_matmul_desc_init(&desc, &amd, &bmd, NULL, &cmd) ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) ||
        dnnl_primitive_create(&prim, pd) ||
        dnnl_memory_create(&a, &amd, engine, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&b, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), engine,
                           DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&c, &cmd, engine, DNNL_MEMORY_ALLOCATE))
        goto out;
    dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC, a }, { DNNL_ARG_WEIGHTS, b }, { DNNL_ARG_DST, c } };
    double best = 1e30, start = bench_now();
    for (int i = 0; i < 3 || (i < 1000 && bench_now() - start < seconds); i++) {
        double t0 = bench_now();
        if (dnnl_primitive_execute(prim, stream, 3, args) || dnnl_stream_wait(stream))
            goto out;
        if (i > 0) /* the first run warms the caches */
            best = fmin(best, bench_now() - t0);
    }
    gflops = 2.0 * (double)n * n * n / best * 1e-9;
out:
    dnnl_memory_destroy(a);
    dnnl_memory_destroy(b);
    dnnl_memory_destroy(c);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return gflops;
}

/* The best of square products of a few sizes: what the library reaches on this machine. */
static double best_peak(dnnl_data_type_t dt, double seconds)
{
    static const int64_t sizes[] = { 512, 1024, 2048 };
    double best = -1;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        best = fmax(best, raw_peak(dt, sizes[i], seconds / 3));
    return best;
}

/* ---- inputs -------------------------------------------------------------------------------- */

/* The window's clean frames, the noisy frame, the noise levels and the text vector one step
 * sees, and the velocity PyTorch fp32 computed for it (v_ref, NULL without --inputs). */
struct step_inputs {
    float *past;     /* (W,T,P) */
    float *x;        /* (T,P) */
    float t, t_ctx;
    float *text;     /* (D); NULL: the null prompt */
    float *v_ref;    /* (T,P) */
};

static void step_inputs_free(struct step_inputs *in)
{
    free(in->past);
    free(in->x);
    free(in->text);
    free(in->v_ref);
    memset(in, 0, sizeof(*in));
}

static float *read_f32(const struct drift_safetensors *st, const char *name, int64_t count,
                       struct drift_error *err)
{
    const struct drift_st_entry *e = drift_safetensors_find(st, name);
    if (!e || e->dtype != DRIFT_F32 || e->nbytes != (size_t)count * sizeof(float)) {
        drift_error_set(err, -EINVAL, "inputs: tensor '%s' missing or not %lld f32 values", name,
                        (long long)count);
        return NULL;
    }
    float *p = malloc(e->nbytes);
    if (p)
        memcpy(p, e->data, e->nbytes);
    else
        drift_error_set(err, -ENOMEM, "inputs: out of memory");
    return p;
}

static int load_inputs(const char *path, const struct drift_model_shape *c,
                       struct step_inputs *in, struct drift_error *err)
{
    struct drift_safetensors *st = NULL;
    int64_t frame = (int64_t)c->tokens * c->in_dim;
    int r = drift_safetensors_open(path, &st, err);
    if (r < 0)
        return r;
    float *t = NULL, *t_ctx = NULL;
    if (!(in->past = read_f32(st, "past", c->window * frame, err)) ||
        !(in->x = read_f32(st, "x", frame, err)) || !(t = read_f32(st, "t", 1, err)) ||
        !(t_ctx = read_f32(st, "t_ctx", 1, err)) ||
        !(in->text = read_f32(st, "text", c->hidden, err)) ||
        !(in->v_ref = read_f32(st, "v_ref", frame, err)))
        r = err->code ? err->code : -EINVAL;
    else {
        in->t = *t;
        in->t_ctx = *t_ctx;
    }
    free(t);
    free(t_ctx);
    drift_safetensors_close(st);
    if (r < 0)
        step_inputs_free(in);
    return r;
}

static void fill_normal(float *p, int64_t n, uint64_t *state, float scale)
{
    for (int64_t i = 0; i < n; i++) { /* sum of uniforms: close enough to a normal here */
        float s = 0;
        for (int k = 0; k < 4; k++) {
            *state = *state * 6364136223846793005ull + 1442695040888963407ull;
            s += (float)(*state >> 40) / (float)(1ull << 24) - 0.5f;
        }
        p[i] = scale * s * 1.7320508f;
    }
}

static int make_inputs(const struct drift_model_shape *c, struct step_inputs *in)
{
    int64_t frame = (int64_t)c->tokens * c->in_dim;
    uint64_t state = 2026;
    in->past = malloc((size_t)(c->window ? c->window : 1) * frame * sizeof(float));
    in->x = malloc((size_t)frame * sizeof(float));
    if (!in->past || !in->x) {
        step_inputs_free(in);
        return -ENOMEM;
    }
    fill_normal(in->past, c->window * frame, &state, 0.5f);
    fill_normal(in->x, frame, &state, 1.0f);
    in->t = 0.6f;
    in->t_ctx = 0.0f;
    return 0;
}

/* ---- one step ------------------------------------------------------------------------------ */

struct step_result {
    double step_ms, mean_ms, best_ms, err, flops, calls;
    int runs;
    uint64_t new_primitives, new_allocations; /* while timing: 0 in steady state */
    double op_ms[DRIFT_OP_KINDS];
};

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* max |v - ref| / max |ref|: relative to the output's scale, not per element. */
static double max_rel_err(const float *v, const float *ref, int64_t n)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)v[i] - ref[i]));
        scale = fmax(scale, fabs((double)ref[i]));
    }
    return diff / fmax(scale, 1e-30);
}

/* Fills the window: each past frame is conditioned at the context noise level and committed,
 * as the generator does after every frame. Then conditions the step's noise level. */
static int fill_window(struct drift_model *m, const struct drift_model_shape *c,
                       const struct step_inputs *in, struct drift_tensor *x,
                       struct drift_error *err)
{
    size_t frame = (size_t)c->tokens * c->in_dim;
    int r = drift_model_condition(m, in->t_ctx, in->text, err);
    for (int j = 0; r == 0 && j < c->window; j++) {
        memcpy(x->data, in->past + j * frame, frame * sizeof(float));
        r = drift_model_commit(m, x, j, err);
    }
    if (r == 0)
        r = drift_model_condition(m, in->t, in->text, err);
    if (r == 0)
        memcpy(x->data, in->x, frame * sizeof(float));
    return r;
}

static int time_step(struct drift_model *m, const struct step_inputs *in, double seconds,
                     struct step_result *res, struct drift_error *err)
{
    struct drift_model_shape c;
    drift_model_get_shape(m, &c);
    const struct drift_context *ctx = drift_model_context(m);
    int64_t shape[3] = { 1, c.tokens, c.in_dim };
    struct drift_tensor x = { 0 }, v = { 0 };
    static double samples[MAX_SAMPLES];
    int r = drift_tensor_alloc(&x, DRIFT_F32, 3, shape) == 0 &&
                    drift_tensor_alloc(&v, DRIFT_F32, 3, shape) == 0
                ? 0
                : drift_error_set(err, -ENOMEM, "peers: out of memory");
    if (r == 0)
        r = fill_window(m, &c, in, &x, err);
    int64_t position = c.window;
    for (int i = 0; r == 0 && i < 3; i++) /* warm up: plans built, caches hot */
        r = drift_model_forward(m, &x, position, &v, err);
    struct drift_counters c0 = *drift_context_counters(ctx);
    int n = 0;
    double start = bench_now();
    while (r == 0 && n < MAX_SAMPLES && (n < 5 || bench_now() - start < seconds)) {
        double t0 = bench_now();
        r = drift_model_forward(m, &x, position, &v, err);
        samples[n++] = bench_now() - t0;
    }
    if (r == 0) {
        const struct drift_counters *c1 = drift_context_counters(ctx);
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += samples[i];
        qsort(samples, (size_t)n, sizeof(double), compare_double);
        res->step_ms = samples[n / 2] * 1e3;
        res->mean_ms = sum / n * 1e3;
        res->best_ms = samples[0] * 1e3;
        res->calls = (double)(c1->op_calls - c0.op_calls) / n;
        res->runs = n;
        res->flops = (c1->flops - c0.flops) / n;
        for (int k = 0; k < DRIFT_OP_KINDS; k++)
            res->op_ms[k] = (c1->seconds[k] - c0.seconds[k]) / n * 1e3;
        res->new_primitives = c1->primitives_created - c0.primitives_created;
        res->new_allocations = c1->allocations - c0.allocations;
        res->err = in->v_ref ? max_rel_err(v.data, in->v_ref, drift_tensor_numel(&v)) : -1;
    }
    drift_tensor_free(&x);
    drift_tensor_free(&v);
    return r;
}

/* ---- frames per second through the generator ----------------------------------------------- */

/* Frames (or chunks) per second at `settings`, timed after the window is full. */
static double generator_fps(const char *stem, const struct drift_generator_settings *s,
                            double seconds, struct drift_error *err)
{
    struct drift_generator *g = NULL;
    if (drift_generator_new(stem, s, &g, err) < 0)
        return -1;
    const struct drift_model_info *info = drift_generator_info(g);
    bool video = info->kind == DRIFT_MODEL_VIDEO;
    size_t unit = video ? (size_t)info->width * info->height * 3 : (size_t)info->chunk_samples * info->channels;
    void *buf = malloc(video ? unit : unit * sizeof(float));
    int rc = buf ? 0 : -ENOMEM, warm = info->window + 2, n = 0;
    double start = 0, fps = -1;
    for (int i = 0; rc == 0; i++) {
        if (i == warm)
            start = bench_now();
        rc = video ? drift_generator_next_frame(g, buf, unit, err)
                   : drift_generator_next_audio(g, buf, unit, err);
        if (i >= warm && ++n >= 3 && bench_now() - start >= seconds)
            break;
    }
    if (rc == 0)
        fps = n / (bench_now() - start);
    free(buf);
    drift_generator_free(g);
    return fps;
}

/* ---- the subcommand ------------------------------------------------------------------------ */

static int model_paths(const char *path, struct peers_options *o)
{
    size_t len = strlen(path);
    const char *exts[] = { ".safetensors", ".json" };
    for (int i = 0; i < 2; i++) {
        size_t el = strlen(exts[i]);
        if (len > el && strcmp(path + len - el, exts[i]) == 0)
            len -= el;
    }
    if (len + 16 > sizeof(o->stem))
        return -ENAMETOOLONG;
    snprintf(o->stem, sizeof(o->stem), "%.*s", (int)len, path);
    snprintf(o->weights, sizeof(o->weights), "%.*s.safetensors", (int)len, path);
    snprintf(o->config, sizeof(o->config), "%.*s.json", (int)len, path);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: drift-bench peers [--model PATH] [--inputs inputs.safetensors] "
                    "[--seconds S] [--quick] [--sweep] [--fps-only]\n");
    return 2;
}

/* Times one precision: a step with the window full, then frames/s at the default setting. */
static int run_precision(const struct peers_options *o, const struct drift_config *config,
                         const struct drift_safetensors *st, enum drift_precision precision,
                         struct drift_error *err)
{
    struct drift_model *m = NULL;
    struct drift_model_shape shape;
    struct step_inputs in = { 0 };
    struct step_result res = { 0 };
    const char *name = drift_precision_name(precision);
    /* threads 0: the generator's own choice for this model (one for a tiny model in bf16) */
    struct drift_context_options opt = { .precision = precision, .threads = 0 };
    int r = drift_model_new(st, config, &opt, &m, err);
    if (r < 0)
        return r;
    drift_model_get_shape(m, &shape);
    r = o->inputs ? load_inputs(o->inputs, &shape, &in, err) : make_inputs(&shape, &in);
    if (r == 0)
        r = time_step(m, &in, o->seconds, &res, err);
    if (r == 0) {
        printf("drift %s step_ms=%.4f mean_ms=%.4f best_ms=%.4f runs=%d flops=%.0f op_calls=%.0f "
               "new_primitives=%llu new_allocations=%llu", name, res.step_ms, res.mean_ms,
               res.best_ms, res.runs, res.flops, res.calls, (unsigned long long)res.new_primitives,
               (unsigned long long)res.new_allocations);
        if (res.err >= 0)
            printf(" err=%.3g", res.err);
        /* per op kind: mean ms per step (the rest, outside ops, is "other") */
        printf("\nops %s", name);
        double total = 0;
        for (int k = 0; k < DRIFT_OP_KINDS; k++) {
            printf(" %s=%.4f", drift_op_kind_name((enum drift_op_kind)k), res.op_ms[k]);
            total += res.op_ms[k];
        }
        printf(" other=%.4f\n", fmax(0, res.mean_ms - total));
    }
    step_inputs_free(&in);
    drift_model_free(m);
    if (r < 0)
        return r;
    struct drift_generator_settings s = { .prompt = "", .seed = 7, .guidance = -1,
                                          .cache = DRIFT_CACHE_KV, .precision = precision };
    double fps = generator_fps(o->stem, &s, o->seconds, err);
    if (fps < 0)
        return err->code ? err->code : -EIO;
    printf("drift %s fps=%.3f\n", name, fps);
    fflush(stdout);
    return 0;
}

/* Frames/s against steps and against cache policy (bf16 where the CPU has it): the plot's data. */
static int run_sweep(const struct peers_options *o, struct drift_error *err)
{
    static const int steps[] = { 1, 2, 3, 4, 6, 8 };
    static const enum drift_cache_policy caches[] = { DRIFT_CACHE_NONE, DRIFT_CACHE_KV,
                                                      DRIFT_CACHE_KV_TEACACHE,
                                                      DRIFT_CACHE_KV_FIRST_BLOCK,
                                                      DRIFT_CACHE_KV_FORA };
    struct drift_generator_settings s = { .prompt = "", .seed = 7, .guidance = -1,
                                          .cache = DRIFT_CACHE_KV };
    struct drift_context *ctx = NULL;
    if (drift_context_new(NULL, &ctx, err) < 0)
        return err->code;
    const char *prec = drift_precision_name(drift_context_precision(ctx)); /* static string */
    drift_context_free(ctx);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        s.steps = steps[i];
        double fps = generator_fps(o->stem, &s, o->seconds / 2, err);
        if (fps < 0)
            return err->code ? err->code : -EIO;
        printf("sweep %s steps=%d cache=kv fps=%.3f\n", prec, steps[i], fps);
        fflush(stdout);
    }
    s.steps = 0;
    for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
        s.cache = caches[i];
        double fps = generator_fps(o->stem, &s, o->seconds / 2, err);
        if (fps < 0)
            return err->code ? err->code : -EIO;
        printf("sweep %s steps=0 cache=%s fps=%.3f\n", prec, drift_cache_policy_name(caches[i]),
               fps);
        fflush(stdout);
    }
    return 0;
}

/* Frames/s at the model's default setting in bf16 (where the CPU has it) and f32, one line each:
 * a point of the frames/s-against-resolution plot (models of the same architecture at several
 * sizes). */
static int run_fps_only(const struct peers_options *o, const struct drift_model_info *info,
                        struct drift_error *err)
{
    static const enum drift_precision precisions[] = { DRIFT_PRECISION_BF16, DRIFT_PRECISION_F32 };
    for (size_t i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++) {
        struct drift_generator_settings s = { .prompt = "", .seed = 7, .guidance = -1,
                                              .cache = DRIFT_CACHE_KV, .precision = precisions[i] };
        double fps = generator_fps(o->stem, &s, o->seconds, err);
        if (fps < 0) {
            if (err->code == -ENOTSUP) /* no bf16 kernels on this CPU: f32 only */
                continue;
            return err->code ? err->code : -EIO;
        }
        printf("resolution width=%d height=%d precision=%s flops=%.0f fps=%.3f\n", info->width,
               info->height, drift_precision_name(precisions[i]), info->flops_per_eval, fps);
        fflush(stdout);
    }
    return 0;
}

int drift_bench_peers(int argc, char **argv)
{
    struct peers_options o = { .seconds = 2.0 };
    const char *model = bench_model_path("drift-video");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--inputs") && i + 1 < argc) o.inputs = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) o.seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) o.seconds = 0.5;
        else if (!strcmp(argv[i], "--sweep")) o.sweep = true;
        else if (!strcmp(argv[i], "--fps-only")) o.fps_only = true;
        else return usage();
    }
    if (!(o.seconds > 0) || model_paths(model, &o) < 0)
        return usage();

    struct drift_error err = { 0 };
    struct drift_config *config = NULL;
    struct drift_safetensors *st = NULL;
    struct drift_model_info info;
    int r = drift_model_probe(o.stem, &info, &err);
    if (r == 0) r = drift_config_open(o.config, &config, &err);
    if (r == 0) r = drift_safetensors_open(o.weights, &st, &err);
    if (r < 0) {
        fprintf(stderr, "drift-bench peers: %s\n", err.message);
        drift_config_free(config);
        return 1;
    }
    const char *threads = getenv("OMP_NUM_THREADS");
    printf("# drift-bench peers: %s, ISA %s, OMP_NUM_THREADS=%s\n", o.stem, drift_cpu_isa(),
           threads ? threads : "(unset)");
    printf("model kind=%s window=%d steps=%d guidance=%g flops=%.0f\n",
           info.kind == DRIFT_MODEL_VIDEO ? "video" : "audio", info.window, info.default_steps,
           info.default_guidance, info.flops_per_eval);
    fflush(stdout);
    if (o.fps_only) {
        r = run_fps_only(&o, &info, &err);
        if (r < 0)
            fprintf(stderr, "drift-bench peers: %s\n", err.message);
        drift_model_info_free(&info);
        drift_safetensors_close(st);
        drift_config_free(config);
        return r < 0 ? 1 : 0;
    }
    double peak_bf16 = best_peak(dnnl_bf16, o.seconds), peak_f32 = best_peak(dnnl_f32, o.seconds);
    printf("peak bf16_gflops=%.1f f32_gflops=%.1f\n", peak_bf16, peak_f32);
    fflush(stdout);
    drift_model_info_free(&info);

    static const enum drift_precision precisions[] = { DRIFT_PRECISION_BF16, DRIFT_PRECISION_F32,
                                                       DRIFT_PRECISION_INT8 };
    int failures = 0;
    for (size_t i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++) {
        memset(&err, 0, sizeof(err));
        if ((r = run_precision(&o, config, st, precisions[i], &err)) < 0) {
            fprintf(stderr, "drift-bench peers: %s: %s\n", drift_precision_name(precisions[i]),
                    err.message);
            failures++;
        }
    }
    if (o.sweep && run_sweep(&o, &err) < 0) {
        fprintf(stderr, "drift-bench peers: sweep: %s\n", err.message);
        failures++;
    }
    drift_safetensors_close(st);
    drift_config_free(config);
    return failures ? 1 : 0;
}
