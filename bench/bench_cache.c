/* drift-bench cache: the default video model with each cache policy, same seed, same frames:
 * frames per second, model evaluations per frame, speed-up over the KV cache alone, and PSNR/SSIM
 * of the frames against the KV cache alone; then the cost of frame ~N against frame ~50, with and
 * without the KV cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drift/generator.h>

#include "bench.h"
#include "bench_util.h"
#include "image_metrics.h"

struct cache_options {
    const char *model, *prompt;
    int frames, steps, long_frames;
    double thresholds[3];
    enum drift_precision precision;
};

struct run_result {
    double seconds;
    double evals_per_frame, skipped_per_frame;
    uint8_t *frames;
};

static int run_policy(const struct cache_options *o, enum drift_cache_policy policy, double threshold,
                      int steps, int frames, struct run_result *res)
{
    struct drift_generator_settings s = { .prompt = o->prompt, .seed = 2026, .steps = steps,
                                          .guidance = -1, .cache = policy, .cache_threshold = threshold,
                                          .precision = o->precision };
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    if (drift_generator_new(o->model, &s, &g, &err) < 0) {
        fprintf(stderr, "drift-bench cache: %s\n", err.message);
        return -1;
    }
    const struct drift_model_info *info = drift_generator_info(g);
    size_t bytes = (size_t)info->width * info->height * 3;
    res->frames = malloc(bytes * (size_t)frames);
    double start = bench_now();
    for (int f = 0; f < frames && res->frames; f++) {
        if (drift_generator_next_frame(g, res->frames + bytes * (size_t)f, bytes, &err) < 0) {
            fprintf(stderr, "drift-bench cache: %s\n", err.message);
            drift_generator_free(g);
            return -1;
        }
    }
    res->seconds = bench_now() - start;
    struct drift_generator_counters c;
    drift_generator_get_counters(g, &c);
    res->evals_per_frame = (double)c.evals_run / frames;
    res->skipped_per_frame = (double)c.evals_skipped / frames;
    drift_generator_free(g);
    return 0;
}

static double median_of(double *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
        }
    return v[n / 2];
}

static struct drift_generator *open_generator(const struct cache_options *o,
                                              enum drift_cache_policy policy)
{
    struct drift_generator_settings s = { .prompt = o->prompt, .seed = 2026, .guidance = -1,
                                          .cache = policy, .precision = o->precision };
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    if (drift_generator_new(o->model, &s, &g, &err) < 0)
        fprintf(stderr, "drift-bench cache: %s\n", err.message);
    return g;
}

/* Seconds for the next frame of g, or -1. */
static double timed_frame(struct drift_generator *g, uint8_t *buf, size_t bytes)
{
    struct drift_error err = { 0 };
    double t0 = bench_now();
    if (drift_generator_next_frame(g, buf, bytes, &err) < 0) {
        fprintf(stderr, "drift-bench cache: %s\n", err.message);
        return -1;
    }
    return bench_now() - t0;
}

#define FLAT_SAMPLES 20

/* The cost of frame ~n against frame ~50 with `policy`, measured side by side: an old generator
 * (n frames made) and a young one (50 made) then alternate frame by frame, so that a change in
 * the machine's speed over a long run (this VM drifts by up to 2x over minutes) hits both alike.
 * Sets the median seconds per frame of each. */
static int flatness(const struct cache_options *o, enum drift_cache_policy policy, int n,
                    double *early, double *late)
{
    struct drift_generator *old = open_generator(o, policy), *young = open_generator(o, policy);
    int rc = old && young ? 0 : -1;
    size_t bytes = 0;
    uint8_t *buf = NULL;
    if (rc == 0) {
        const struct drift_model_info *info = drift_generator_info(old);
        bytes = (size_t)info->width * info->height * 3;
        buf = malloc(bytes);
        rc = buf ? 0 : -1;
    }
    for (int f = 0; rc == 0 && f < n - FLAT_SAMPLES; f++)
        rc = timed_frame(old, buf, bytes) < 0 ? -1 : 0;
    for (int f = 0; rc == 0 && f < 50 - FLAT_SAMPLES / 2; f++)
        rc = timed_frame(young, buf, bytes) < 0 ? -1 : 0;
    double t_old[FLAT_SAMPLES], t_young[FLAT_SAMPLES];
    for (int i = 0; rc == 0 && i < FLAT_SAMPLES; i++) {
        t_old[i] = timed_frame(old, buf, bytes);
        t_young[i] = timed_frame(young, buf, bytes);
        rc = t_old[i] < 0 || t_young[i] < 0 ? -1 : 0;
    }
    if (rc == 0) {
        *late = median_of(t_old, FLAT_SAMPLES);
        *early = median_of(t_young, FLAT_SAMPLES);
    }
    free(buf);
    drift_generator_free(old);
    drift_generator_free(young);
    return rc;
}

static int parse(int argc, char **argv, struct cache_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v) o->model = argv[++i];
        else if (!strcmp(a, "--prompt") && v) o->prompt = argv[++i];
        else if (!strcmp(a, "--frames") && v) o->frames = atoi(argv[++i]);
        else if (!strcmp(a, "--steps") && v) o->steps = atoi(argv[++i]);
        else if (!strcmp(a, "--long") && v) o->long_frames = atoi(argv[++i]);
        else if (!strcmp(a, "--precision") && v) {
            v = argv[++i];
            o->precision = !strcmp(v, "f32") ? DRIFT_PRECISION_F32 : DRIFT_PRECISION_BF16;
        } else if (!strcmp(a, "--thresholds") && v) {
            if (sscanf(argv[++i], "%lf,%lf,%lf", &o->thresholds[0], &o->thresholds[1], &o->thresholds[2]) != 3)
                return -1;
        } else
            return -1;
    }
    return o->frames >= 2 && o->steps >= 2 && o->steps <= 50 && (o->long_frames == 0 || o->long_frames >= 60)
               ? 0 : -1;
}

int drift_bench_cache(int argc, char **argv)
{
    struct cache_options o = { .model = bench_model_path("drift-video"), .prompt = "slow violet aurora",
                               .frames = 24, .steps = 8,
                               .long_frames = 5000, .thresholds = { 0.1, 0.2, 0.4 } };
    if (parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: drift-bench cache [--model PATH] [--prompt TEXT] [--frames N] [--steps N] "
                        "[--long N (0 skips)] [--thresholds A,B,C] [--precision f32|bf16]\n");
        return 2;
    }
    struct drift_model_info info;
    struct drift_error err = { 0 };
    if (drift_model_probe(o.model, &info, &err) < 0) {
        fprintf(stderr, "drift-bench cache: %s\n", err.message);
        return 1;
    }
    int w = info.width, h = info.height;
    drift_model_info_free(&info);
    struct { const char *name; enum drift_cache_policy p; double thr; } rows[] = {
        { "kv", DRIFT_CACHE_KV, 0 }, { "none (recompute window)", DRIFT_CACHE_NONE, 0 },
        { "kv+teacache", DRIFT_CACHE_KV_TEACACHE, o.thresholds[0] },
        { "kv+teacache", DRIFT_CACHE_KV_TEACACHE, o.thresholds[1] },
        { "kv+teacache", DRIFT_CACHE_KV_TEACACHE, o.thresholds[2] },
        { "kv+fbcache", DRIFT_CACHE_KV_FIRST_BLOCK, o.thresholds[1] },
        { "kv+fora (every 2nd)", DRIFT_CACHE_KV_FORA, 2 },
    };
    printf("drift-bench cache — %s, \"%s\", %dx%d, %d frames, euler %d steps, seed 2026, one run\n\n",
           o.model, o.prompt, w, h, o.frames, o.steps);
    printf("%-24s %6s | %7s %9s %9s | %8s %7s | %8s %6s\n", "policy", "thresh", "fps", "evals/fr",
           "skip/fr", "speedup", "vs kv", "PSNR dB", "SSIM");
    struct run_result base = { 0 };
    size_t bytes = (size_t)w * h * 3;
    int rc = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && rc == 0; i++) {
        struct run_result r = { 0 };
        if ((rc = run_policy(&o, rows[i].p, rows[i].thr, o.steps, o.frames, &r)) < 0)
            break;
        if (rows[i].p == DRIFT_CACHE_KV)
            base = r;
        double psnr = 0, ssim = 0;
        for (int f = 0; base.frames && f < o.frames; f++) {
            psnr += psnr_rgb(r.frames + bytes * f, base.frames + bytes * f, bytes) / o.frames;
            ssim += ssim_luma(r.frames + bytes * f, base.frames + bytes * f, w, h) / o.frames;
        }
        printf("%-24s %6.2f | %7.2f %9.2f %9.2f | %7.2fx %7s | %8.1f %6.3f\n", rows[i].name, rows[i].thr,
               o.frames / r.seconds, r.evals_per_frame, r.skipped_per_frame,
               base.frames ? base.seconds / r.seconds : 0.0, base.frames ? "" : "(base)",
               base.frames ? psnr : 0.0, base.frames ? ssim : 0.0);
        if (r.frames != base.frames)
            free(r.frames);
    }
    free(base.frames);
    if (rc == 0 && o.long_frames) {
        double e_kv, l_kv, e_none, l_none;
        printf("\nper-frame cost at frame ~%d against frame ~50, the model's default steps (median of %d "
               "frames each, the two generators alternating):\n", o.long_frames, FLAT_SAMPLES);
        /* Without the cache every evaluation recomputes the window: a shorter run shows it. */
        int none_frames = o.long_frames < 120 ? o.long_frames : 120;
        if ((rc = flatness(&o, DRIFT_CACHE_KV, o.long_frames, &e_kv, &l_kv)) == 0 &&
            (rc = flatness(&o, DRIFT_CACHE_NONE, none_frames, &e_none, &l_none)) == 0) {
            printf("  kv:   frame ~50 %.1f ms, frame ~%d %.1f ms, ratio %.3f (bar <= 1.10: %s)\n",
                   e_kv * 1e3, o.long_frames, l_kv * 1e3, l_kv / e_kv, l_kv / e_kv <= 1.1 ? "met" : "MISSED");
            printf("  none: frame ~50 %.1f ms, frame ~%d %.1f ms, ratio %.3f (window recomputed: %.1fx kv)\n",
                   e_none * 1e3, none_frames, l_none * 1e3, l_none / e_none, l_none / l_kv);
        }
    }
    return rc < 0 ? 1 : 0;
}
