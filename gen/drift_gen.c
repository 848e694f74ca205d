/* drift-gen: runs the engine alone. A video model writes DIR/frame-000000.png, ...; an audio
 * model writes DIR/audio.wav (16-bit PCM). Any error exits non-zero naming what is wrong. */
#include <errno.h>
#include <getopt.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <drift/error.h>
#include <drift/generator.h>

/* --then FRAME:PROMPT: before frame (or audio chunk) FRAME the prompt changes, as driftd changes it. */
struct prompt_change {
    long frame;
    const char *prompt;
};

struct options {
    const char *model, *out, *cache;
    struct drift_generator_settings s;
    long frames;
    double seconds;
    struct prompt_change *then;
    size_t n_then;
};

/* The ranges are the engine's (drift/generator.h), so that drift-gen accepts what the engine
 * and the daemon accept. */
#define STR_(x) #x
#define STR(x) STR_(x)

static void usage(FILE *f)
{
    fprintf(f, "usage: drift-gen --model PATH [--prompt TEXT] [--seed N] [--frames N | --seconds S]\n"
               "                 [--steps 1.." STR(DRIFT_STEPS_MAX) "] [--sampler euler|dpmpp-2m|heun]"
               " [--guidance 0.." STR(DRIFT_GUIDANCE_MAX) "]\n"
               "                 [--cache POLICY] [--threshold 0.." STR(DRIFT_CACHE_THRESHOLD_MAX) "]"
               " [--precision f32|bf16|int8] --out DIR\n"
               "                 [--commit pass|last-step] [--then FRAME:PROMPT]...\n"
               "POLICY: " DRIFT_CACHE_POLICY_NAMES " (default kv)\n"
               "--commit: how a frame joins the window (default: the model's sampler.commit)\n"
               "--then: before frame (audio: chunk) FRAME, counted from 0, the prompt changes to PROMPT\n"
               "        the way driftd changes it (blended in); repeatable\n");
}

static int parse_seed(const char *text, uint64_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] < '0' || text[0] > '9') {
        fprintf(stderr, "drift-gen: --seed '%s': expected an integer in [0, %llu]\n", text,
                (unsigned long long)UINT64_MAX);
        return -1;
    }
    *ret = v;
    return 0;
}

static int parse_number(const char *opt, const char *text, double min, double max, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= min && v <= max)) {
        fprintf(stderr, "drift-gen: %s '%s': expected a number in [%g, %g]\n", opt, text, min, max);
        return -1;
    }
    *ret = v;
    return 0;
}

static int parse_then(const char *text, struct options *o)
{
    char *end;
    errno = 0;
    long frame = strtol(text, &end, 10);
    if (errno || end == text || *end != ':' || text[0] < '0' || text[0] > '9' || frame > 1000000) {
        fprintf(stderr, "drift-gen: --then '%s': expected FRAME:PROMPT, FRAME an integer in [0, 1000000]\n",
                text);
        return -1;
    }
    struct prompt_change *t = realloc(o->then, (o->n_then + 1) * sizeof(*t));
    if (!t) {
        fprintf(stderr, "drift-gen: --then: out of memory\n");
        return -1;
    }
    o->then = t;
    o->then[o->n_then++] = (struct prompt_change){ frame, end + 1 };
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        { "model", 1, 0, 'm' }, { "prompt", 1, 0, 'p' }, { "seed", 1, 0, 's' },
        { "frames", 1, 0, 'f' }, { "seconds", 1, 0, 'S' }, { "steps", 1, 0, 'n' },
        { "sampler", 1, 0, 'a' }, { "guidance", 1, 0, 'g' }, { "cache", 1, 0, 'c' },
        { "threshold", 1, 0, 't' }, { "precision", 1, 0, 'P' }, { "out", 1, 0, 'o' },
        { "then", 1, 0, 'T' }, { "commit", 1, 0, 'C' }, { "help", 0, 0, 'h' },
        { 0, 0, 0, 0 } };
    double v;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'p': o->s.prompt = optarg; break;
        case 's': r = parse_seed(optarg, &o->s.seed); break;
        case 'f': r = parse_number("--frames", optarg, 1, 1e6, &v); o->frames = (long)v; break;
        case 'S': r = parse_number("--seconds", optarg, 0.001, 86400, &o->seconds); break;
        case 'n': r = parse_number("--steps", optarg, 1, DRIFT_STEPS_MAX, &v); o->s.steps = (int)v; break;
        case 'a': o->s.sampler = optarg; break;
        case 'g': r = parse_number("--guidance", optarg, 0, DRIFT_GUIDANCE_MAX, &o->s.guidance); break;
        case 'c': o->cache = optarg; break;
        case 't':
            r = parse_number("--threshold", optarg, 0, DRIFT_CACHE_THRESHOLD_MAX, &o->s.cache_threshold);
            break;
        case 'P':
            if (strcmp(optarg, "f32") == 0) o->s.precision = DRIFT_PRECISION_F32;
            else if (strcmp(optarg, "bf16") == 0) o->s.precision = DRIFT_PRECISION_BF16;
            else if (strcmp(optarg, "int8") == 0) o->s.precision = DRIFT_PRECISION_INT8;
            else { fprintf(stderr, "drift-gen: --precision '%s': expected f32, bf16 or int8\n", optarg); r = -1; }
            break;
        case 'o': o->out = optarg; break;
        case 'T': r = parse_then(optarg, o); break;
        case 'C':
            if (drift_commit_from_string(optarg, &o->s.commit) < 0) {
                fprintf(stderr, "drift-gen: --commit '%s': expected pass or last-step\n", optarg);
                r = -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
        if (r < 0)
            return -1;
    }
    if (optind < argc || !o->model || !o->out) {
        fprintf(stderr, "drift-gen: %s\n", optind < argc ? "unexpected argument" : "--model and --out are required");
        return -1;
    }
    if (o->cache && drift_cache_policy_from_string(o->cache, &o->s.cache) < 0) {
        fprintf(stderr, "drift-gen: --cache '%s': expected " DRIFT_CACHE_POLICY_NAMES "\n", o->cache);
        return -1;
    }
    return 0;
}

static int write_png(const char *path, const uint8_t *rgb, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int r = -EIO;
    if (png && info && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int y = 0; y < h; y++)
            png_write_row(png, rgb + (size_t)y * w * 3);
        png_write_end(png, NULL);
        r = 0;
    }
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}

static void put_le(FILE *f, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        fputc((int)((v >> (8 * i)) & 0xff), f);
}

/* n samples in all (interleaved when channels is 2), 16-bit PCM. */
static int write_wav(const char *path, const float *pcm, size_t n, int channels, int rate)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    uint32_t data = (uint32_t)(n * 2);
    fwrite("RIFF", 1, 4, f); put_le(f, 36 + data, 4); fwrite("WAVEfmt ", 1, 8, f);
    put_le(f, 16, 4); put_le(f, 1, 2); put_le(f, (uint32_t)channels, 2); put_le(f, (uint32_t)rate, 4);
    put_le(f, (uint32_t)(rate * 2 * channels), 4); put_le(f, (uint32_t)(2 * channels), 2);
    put_le(f, 16, 2);
    fwrite("data", 1, 4, f); put_le(f, data, 4);
    for (size_t i = 0; i < n; i++) {
        float v = pcm[i] * 32767.0f;
        put_le(f, (uint32_t)(uint16_t)(int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v), 2);
    }
    int bad = ferror(f);
    return fclose(f) == 0 && !bad ? 0 : -EIO;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct options o = { .s = { .prompt = "", .guidance = -1, .cache = DRIFT_CACHE_KV } };
    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        free(o.then);
        return 2;
    }
    struct drift_error err = { 0 };
    struct drift_generator *g = NULL;
    if (drift_generator_new(o.model, &o.s, &g, &err) < 0) {
        fprintf(stderr, "drift-gen: %s\n", err.message);
        free(o.then);
        return 1;
    }
    const struct drift_model_info *info = drift_generator_info(g);
    bool video = info->kind == DRIFT_MODEL_VIDEO;
    double rate = video ? info->fps : (double)info->sample_rate / info->chunk_samples;
    long count = o.frames ? o.frames : o.seconds > 0 ? (long)(o.seconds * rate + 0.999) : (long)rate;
    /* Every prompt change is checked before the first frame: a run never stops half-way. */
    for (size_t k = 0; k < o.n_then; k++) {
        const struct prompt_change *t = &o.then[k];
        int r = t->frame < count ? drift_generator_check_prompt(g, t->prompt, &err)
                                 : drift_error_set(&err, -EINVAL, "the run has only %ld %s", count,
                                                   video ? "frames" : "chunks");
        if (r < 0) {
            fprintf(stderr, "drift-gen: --then %ld:%s: %s\n", t->frame, t->prompt, err.message);
            drift_generator_free(g);
            free(o.then);
            return 1;
        }
    }
    if (mkdir(o.out, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "drift-gen: --out %s: %s\n", o.out, strerror(errno));
        drift_generator_free(g);
        free(o.then);
        return 1;
    }
    size_t unit = video ? (size_t)info->width * info->height * 3
                        : (size_t)info->chunk_samples * (size_t)info->channels;
    uint8_t *rgb = video ? malloc(unit) : NULL;
    float *pcm = video ? NULL : malloc((size_t)count * unit * sizeof(float));
    int status = (rgb || pcm) ? 0 : 1;
    double t0 = now();
    for (long i = 0; status == 0 && i < count; i++) {
        int r = 0;
        for (size_t k = 0; r == 0 && k < o.n_then; k++)
            if (o.then[k].frame == i)
                r = drift_generator_set_prompt(g, o.then[k].prompt, &err);
        if (r == 0)
            r = video ? drift_generator_next_frame(g, rgb, unit, &err)
                      : drift_generator_next_audio(g, pcm + (size_t)i * unit, unit, &err);
        if (r == 0 && video) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/frame-%06ld.png", o.out, i);
            if ((r = write_png(path, rgb, info->width, info->height)) < 0)
                drift_error_set(&err, r, "%.400s: %s", path, strerror(-r));
        }
        if (r < 0) {
            fprintf(stderr, "drift-gen: %s\n", err.message);
            status = 1;
        }
    }
    double elapsed = now() - t0;
    if (status == 0 && !video) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/audio.wav", o.out);
        if (write_wav(path, pcm, (size_t)count * unit, info->channels, info->sample_rate) < 0) {
            fprintf(stderr, "drift-gen: %s: cannot write\n", path);
            status = 1;
        }
    }
    if (status == 0) {
        struct drift_generator_counters c;
        drift_generator_get_counters(g, &c);
        fprintf(stderr, "drift-gen: %ld %s in %.2f s (%.1f per second, %.2fx real time); "
                "evaluations %llu run, %llu skipped\n", count, video ? "frames" : "chunks", elapsed,
                count / elapsed, count / rate / elapsed, (unsigned long long)c.evals_run,
                (unsigned long long)c.evals_skipped);
    }
    free(rgb);
    free(pcm);
    free(o.then);
    drift_generator_free(g);
    return status;
}
