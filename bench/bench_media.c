/* drift-bench media: what encoding and muxing cost per frame, at the sizes drift streams.
 *
 * For each size, SECONDS of textured moving video (plus 48 kHz stereo audio) go through an
 * offline stream output into a file writer (H.264 + Opus -> Matroska, or H.264 + AAC -> MP4):
 * RGB->YUV conversion, x264 (veryfast, zerolatency, one thread), audio encoding, GStreamer
 * muxing and the file write, i.e. everything the media layer does for a frame. CPU time is the
 * whole process's, minus what drawing the test frames cost; "core @ 24 fps" is the share of one
 * core a 24 fps live stream of that size keeps busy.
 *
 * usage: drift-bench media [--seconds S] [--format mkv|mp4] [--preset NAME]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drift/media/file_writer.h"
#include "drift/media/stream_output.h"

#include "bench.h"

#define BENCH_RATE 48000

struct media_case {
    int width, height;
};

struct media_result {
    int frames;
    double wall_s, cpu_s, draw_s;
    long long bytes;
};

static double cpu_now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Textured, moving frames: flat test patterns would flatter the encoder; generated video is
 * detailed everywhere. */
static void draw(uint8_t *rgb, int w, int h, int k)
{
    uint32_t seed = 0x9e3779b9u;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int sx = x + 2 * k, sy = y + k;
            seed = (uint32_t)(sx * 73856093) ^ (uint32_t)(sy * 19349663);
            uint8_t noise = (uint8_t)((seed >> 13) & 31);
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(((sx * 255) / (w + 1)) ^ noise);
            p[1] = (uint8_t)(((sy * 255) / (h + 1)) + noise);
            p[2] = (uint8_t)(((sx + sy) & 127) + noise);
        }
    }
}

static int run_case(const struct media_case *c, int seconds, enum drift_file_format format,
                    const char *preset, const char *dir, struct media_result *res)
{
    struct drift_stream_output_config oc = {
        .width = c->width, .height = c->height, .fps_num = 24, .fps_den = 1, .preset = preset,
        .audio = true, .audio_rate = BENCH_RATE, .audio_channels = 2,
        .audio_codec = format == DRIFT_FILE_MP4 ? DRIFT_AUDIO_AAC : DRIFT_AUDIO_OPUS,
        .live = false, .queue_seconds = 0.5,
    };
    char path[512];
    snprintf(path, sizeof(path), "%s/bench-%dx%d.%s", dir, c->width, c->height,
             format == DRIFT_FILE_MP4 ? "mp4" : "mkv");
    struct drift_error err = { 0 };
    struct drift_stream_output *out = NULL;
    struct drift_file_writer *w = NULL;
    if (drift_stream_output_init(&out, &oc, &err) < 0 ||
        drift_file_writer_init(&w, out, path, format, &err) < 0) {
        fprintf(stderr, "drift-bench media: %s\n", err.message);
        drift_stream_output_free(out);
        return -1;
    }
    uint8_t *rgb = malloc((size_t)c->width * c->height * 3);
    float *pcm = calloc(2 * BENCH_RATE / 24, sizeof(float));
    *res = (struct media_result){ .frames = seconds * 24 };
    double wall0 = cpu_now(CLOCK_MONOTONIC), cpu0 = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
    int r = 0;
    for (int k = 0; k < res->frames && r == 0; k++) {
        double d0 = cpu_now(CLOCK_THREAD_CPUTIME_ID);
        draw(rgb, c->width, c->height, k);
        for (int i = 0; i < 2 * BENCH_RATE / 24; i++)
            pcm[i] = 0.2f * (float)((k * 2000 + i) % 109) / 109.0f;
        res->draw_s += cpu_now(CLOCK_THREAD_CPUTIME_ID) - d0;
        r = drift_stream_output_push_video(out, rgb, k);
        if (r == 0)
            r = drift_stream_output_push_audio(out, pcm, BENCH_RATE / 24,
                                               (int64_t)k * (BENCH_RATE / 24));
    }
    if (r == 0)
        r = drift_stream_output_finish(out);
    if (r == 0)
        r = drift_file_writer_finish(w, 60000, &err);
    res->wall_s = cpu_now(CLOCK_MONOTONIC) - wall0;
    res->cpu_s = cpu_now(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    struct stat st;
    res->bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    if (r < 0)
        fprintf(stderr, "drift-bench media: %dx%d failed: %s\n", c->width, c->height,
                err.message[0] ? err.message : strerror(-r));
    drift_file_writer_free(w);
    drift_stream_output_free(out);
    unlink(path);
    free(rgb);
    free(pcm);
    return r;
}

static int parse(int argc, char **argv, int *seconds, enum drift_file_format *format,
                 const char **preset)
{
    static const struct option opts[] = {
        { "seconds", 1, 0, 's' }, { "format", 1, 0, 'f' }, { "preset", 1, 0, 'p' }, { 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's' && atoi(optarg) > 0)
            *seconds = atoi(optarg);
        else if (c == 'f' && (!strcmp(optarg, "mkv") || !strcmp(optarg, "mp4")))
            *format = !strcmp(optarg, "mp4") ? DRIFT_FILE_MP4 : DRIFT_FILE_MKV;
        else if (c == 'p')
            *preset = optarg;
        else {
            fprintf(stderr, "usage: drift-bench media [--seconds S] [--format mkv|mp4] "
                            "[--preset NAME]\n");
            return 2;
        }
    }
    return 0;
}

int drift_bench_media(int argc, char **argv)
{
    int seconds = 4;
    enum drift_file_format format = DRIFT_FILE_MKV;
    const char *preset = "veryfast";
    if (parse(argc, argv, &seconds, &format, &preset))
        return 2;
    char dir[] = "/tmp/drift-bench-media-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "drift-bench media: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    static const struct media_case cases[] = { { 256, 256 }, { 512, 512 }, { 1280, 720 } };
    printf("media: %d s at 24 fps per size, x264 %s (1 thread, zerolatency) + %s -> %s\n",
           seconds, preset, format == DRIFT_FILE_MP4 ? "AAC" : "Opus",
           format == DRIFT_FILE_MP4 ? "MP4" : "Matroska");
    printf("%-10s %7s %14s %14s %15s %12s\n", "size", "frames", "wall ms/frame",
           "CPU ms/frame", "core @ 24 fps", "kbit/s");
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct media_result r;
        if (run_case(&cases[i], seconds, format, preset, dir, &r) < 0) {
            failed = 1;
            continue;
        }
        double cpu = (r.cpu_s - r.draw_s) / r.frames;
        char size[16];
        snprintf(size, sizeof(size), "%dx%d", cases[i].width, cases[i].height);
        printf("%-10s %7d %14.2f %14.2f %14.1f%% %12.0f\n", size, r.frames,
               1e3 * r.wall_s / r.frames, 1e3 * cpu, 100.0 * cpu * 24.0,
               r.bytes * 8.0 / 1000.0 / seconds);
    }
    rmdir(dir);
    return failed;
}
