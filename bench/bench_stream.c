/* drift-bench stream: frames per second and real-time factor of the default video and audio
 * models at their default settings, in bf16 and f32, with the share of time per stage and the CPU
 * they take per second of content (all the process's threads, spinning included). For a latent
 * video model, the decoder's share of the frame time is a stage of its own. Each row is the
 * median of several rounds taken in turn, with their spread: one round moves by more than the
 * changes worth measuring on a shared machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drift/generator.h>

#include "bench.h"
#include "bench_util.h"
#include "image_metrics.h"

#define STREAM_MAX_ROUNDS 15

struct stream_result {
    double units_per_second, realtime, model_share, sampler_share, output_share;
    double decode_share; /* latent video models: the decoder (latent -> pixels) */
    bool latent;
    double evals_per_unit;
    double core_share; /* CPU seconds of this process per second of content (1 = one whole core) */
    double op_share[DRIFT_OP_KINDS];
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int measure(const char *model, enum drift_precision precision, enum drift_commit commit,
                   double seconds, struct stream_result *res)
{
    struct drift_generator_settings s = { .prompt = "", .seed = 7, .guidance = -1,
                                          .cache = DRIFT_CACHE_KV, .precision = precision,
                                          .commit = commit };
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    if (drift_generator_new(model, &s, &g, &err) < 0) {
        fprintf(stderr, "drift-bench stream: %s\n", err.message);
        return -1;
    }
    const struct drift_model_info *info = drift_generator_info(g);
    bool video = info->kind == DRIFT_MODEL_VIDEO;
    size_t unit = video ? (size_t)info->width * info->height * 3 : (size_t)info->chunk_samples * info->channels * 4;
    void *buf = malloc(unit);
    double rate = video ? info->fps : (double)info->sample_rate / info->chunk_samples;
    int rc = 0, warm = info->window + 2, n = 0;
    struct drift_generator_counters c0 = { 0 }, c1;
    double start = 0, cpu_start = 0;
    for (int i = 0; buf && rc == 0; i++) {
        if (i == warm) { /* measure the steady state, window full */
            drift_generator_get_counters(g, &c0);
            start = bench_now();
            cpu_start = cpu_now();
        }
        rc = video ? drift_generator_next_frame(g, buf, unit, &err)
                   : drift_generator_next_audio(g, buf, unit / 4, &err);
        if (i >= warm && (++n >= 5 && bench_now() - start >= seconds))
            break;
    }
    double wall = bench_now() - start, cpu = cpu_now() - cpu_start;
    drift_generator_get_counters(g, &c1);
    if (rc < 0)
        fprintf(stderr, "drift-bench stream: %s\n", err.message);
    res->units_per_second = n / wall;
    res->realtime = res->units_per_second / rate;
    res->core_share = cpu / (n / rate);
    res->model_share = (c1.seconds_model - c0.seconds_model) / wall;
    res->sampler_share = (c1.seconds_sampler - c0.seconds_sampler) / wall;
    res->decode_share = (c1.seconds_decode - c0.seconds_decode) / wall;
    res->latent = video && info->latent_factor > 1;
    res->output_share = 1.0 - res->model_share - res->sampler_share - res->decode_share;
    res->evals_per_unit = (double)(c1.evals_run - c0.evals_run) / n;
    for (int k = 0; k < DRIFT_OP_KINDS; k++)
        res->op_share[k] = (c1.seconds_by_op[k] - c0.seconds_by_op[k]) / wall;
    free(buf);
    drift_generator_free(g);
    return rc;
}

/* Mean PSNR of 24 int8 frames against the same frames in bf16: the quality int8 weights cost. */
static double int8_quality(const char *model)
{
    struct drift_generator *g[2] = { NULL, NULL };
    enum drift_precision precisions[2] = { DRIFT_PRECISION_BF16, DRIFT_PRECISION_INT8 };
    for (int i = 0; i < 2; i++) {
        struct drift_generator_settings s = { .prompt = "", .seed = 11, .guidance = -1,
                                              .cache = DRIFT_CACHE_KV, .precision = precisions[i] };
        if (drift_generator_new(model, &s, &g[i], NULL) < 0) {
            drift_generator_free(g[0]);
            return -1;
        }
    }
    const struct drift_model_info *info = drift_generator_info(g[0]);
    size_t bytes = (size_t)info->width * info->height * 3;
    uint8_t *a = malloc(bytes), *b = malloc(bytes);
    double total = 0;
    int n = 24, ok = a && b && info->kind == DRIFT_MODEL_VIDEO;
    for (int f = 0; ok && f < n; f++) {
        ok = drift_generator_next_frame(g[0], a, bytes, NULL) == 0 &&
             drift_generator_next_frame(g[1], b, bytes, NULL) == 0;
        total += psnr_rgb(a, b, bytes);
    }
    free(a);
    free(b);
    drift_generator_free(g[0]);
    drift_generator_free(g[1]);
    return ok ? total / n : -1;
}

/* The round whose frames per second is the median of n (n <= STREAM_MAX_ROUNDS). */
static const struct stream_result *median_round(const struct stream_result *rounds, int n)
{
    int order[STREAM_MAX_ROUNDS];
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by units per second */
        for (int j = i; j > 0 && rounds[order[j]].units_per_second < rounds[order[j - 1]].units_per_second; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return &rounds[order[n / 2]];
}

/* The rounds' spread around their median: (max - min) / 2 / median. */
static double spread(const struct stream_result *rounds, int n, double median)
{
    double lo = rounds[0].units_per_second, hi = lo;
    for (int i = 1; i < n; i++) {
        lo = rounds[i].units_per_second < lo ? rounds[i].units_per_second : lo;
        hi = rounds[i].units_per_second > hi ? rounds[i].units_per_second : hi;
    }
    return median > 0 ? (hi - lo) / 2 / median : 0;
}

struct stream_row {
    int model; /* 0 video, 1 audio */
    int precision; /* index into the precisions */
    enum drift_commit commit;
};

int drift_bench_stream(int argc, char **argv)
{
    double seconds = 5;
    int rounds = 3;
    const char *models[2] = { bench_model_path("drift-video"), bench_model_path("drift-audio") };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--video") && i + 1 < argc) models[0] = argv[++i];
        else if (!strcmp(argv[i], "--audio") && i + 1 < argc) models[1] = argv[++i];
        else {
            fprintf(stderr, "usage: drift-bench stream [--seconds S] [--rounds N] [--video PATH] [--audio PATH]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > STREAM_MAX_ROUNDS || !(seconds > 0)) {
        fprintf(stderr, "drift-bench stream: --rounds %d (1..%d), --seconds %g (> 0)\n", rounds,
                STREAM_MAX_ROUNDS, seconds);
        return 2;
    }
    printf("drift-bench stream — default settings, KV cache, steady state (window full), %.0f s each, "
           "the median of %d rounds taken in turn\n\n", seconds, rounds);
    printf("%-14s %-5s | %9s %7s %9s %9s %9s | %7s %8s %7s | %s\n", "model", "prec", "units/s", "spread",
           "realtime", "evals/u", "core/s", "model", "sampler", "output", "time by op kind");
    const enum drift_precision precisions[3] = { DRIFT_PRECISION_BF16, DRIFT_PRECISION_F32,
                                                 DRIFT_PRECISION_INT8 };
    static const char *const pnames[3] = { "bf16", "f32", "int8" };
    /* The video model once more (f32) the other way a frame joins the window than its default:
     * a commit pass against keeping the last step's keys and values, side by side. */
    struct drift_model_info vinfo;
    enum drift_commit other = DRIFT_COMMIT_MODEL;
    if (drift_model_probe(models[0], &vinfo, NULL) == 0) {
        other = vinfo.commit_evals ? DRIFT_COMMIT_LAST_STEP : DRIFT_COMMIT_PASS;
        drift_model_info_free(&vinfo);
    }
    struct stream_row rows[8];
    int nrows = 0;
    for (int m = 0; m < 2; m++)
        for (int p = 0; p < 3 + (m == 0 && other != DRIFT_COMMIT_MODEL); p++)
            rows[nrows++] = (struct stream_row){ m, p == 3 ? 1 : p, /* the extra row is f32 */
                                                 p == 3 ? other : DRIFT_COMMIT_MODEL };
    /* Rounds taken in turn, every row once per round: a change in the machine's load over the
     * run reaches every row alike instead of the rows measured while it lasted. */
    struct stream_result results[8][STREAM_MAX_ROUNDS];
    bool failed[8] = { false };
    for (int k = 0; k < rounds; k++)
        for (int i = 0; i < nrows; i++)
            if (!failed[i] && measure(models[rows[i].model], precisions[rows[i].precision], rows[i].commit,
                                      seconds, &results[i][k]) < 0)
                failed[i] = true;
    int failures = 0;
    for (int i = 0; i < nrows; i++) {
        if (failed[i]) {
            failures++;
            continue;
        }
        const struct stream_result *r = median_round(results[i], rounds);
        char label[32];
        snprintf(label, sizeof(label), "%s", rows[i].model ? "audio chunks" : rows[i].commit != DRIFT_COMMIT_MODEL ?
                 (other == DRIFT_COMMIT_PASS ? "video, pass" : "video, last") : "video frames");
        printf("%-14s %-5s | %9.2f %6.1f%% %8.2fx %9.2f %8.1f%% | %6.0f%% %7.0f%% %6.0f%% |",
               label, pnames[rows[i].precision], r->units_per_second,
               100 * spread(results[i], rounds, r->units_per_second), r->realtime, r->evals_per_unit,
               100 * r->core_share, 100 * r->model_share, 100 * r->sampler_share, 100 * r->output_share);
        for (int k = 0; k < DRIFT_OP_KINDS; k++)
            if (r->op_share[k] >= 0.005)
                printf(" %s %.0f%%", drift_op_kind_name(k), 100 * r->op_share[k]);
        if (r->latent) /* its convolutions and resizes are the "conv" ops */
            printf(" | decoder %.1f%%", 100 * r->decode_share);
        printf("\n");
    }
    double psnr = int8_quality(models[0]);
    if (psnr > 0)
        printf("\nint8 linear layers: video frames at PSNR %.1f dB against bf16 (24 frames, same seed)\n", psnr);
    printf("\nunits/s: the median round's; spread: half the rounds' range (max - min) over that median; the "
           "other columns are the median round's\n");
    printf("core/s: CPU time per second of content, as a share of one core (all threads)\n");
    printf("video, last / video, pass: the video model in f32 the other way a frame joins the window "
           "(sampler.commit: last-step keeps the last step's keys and values, pass runs a commit pass)\n");
    printf("decoder: a latent video model's decode (latent -> pixels) as a share of the frame time; "
           "output excludes it\n");
    printf("bars: video >= 24 frames/s where bf16 kernels exist (realtime >= 1.00x); audio >= 20x real time "
           "and <= 5%% of one core per second of audio\n");
    return failures ? 1 : 0;
}
