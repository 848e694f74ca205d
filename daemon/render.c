/* See render.h. */
#include "render.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <drift/context.h>
#include <drift/generator.h>
#include <drift/media/file_writer.h>
#include <drift/media/stream_output.h>

#include "config.h"
#include "generation.h"
#include "log.h"
#include "paths.h"
#include "spec.h"

struct render {
    const struct drift_settings *s;
    const struct drift_render_hooks *hooks;
    struct drift_generation gen;
    struct drift_stream_output *out;
    struct drift_file_writer *writer;
    uint8_t *rgb;
    float *pcm;
    int threads; /* the cap in force (0: none): see limit_threads */
};

static bool cancelled(const struct render *rd)
{
    return rd->hooks->cancel && g_atomic_int_get(rd->hooks->cancel);
}

static int open_all(struct render *rd, struct drift_error *err)
{
    const struct drift_settings *s = rd->s;
    int r = drift_generation_open(&rd->gen, s, NULL, err); /* a render's audio must work */
    if (r < 0)
        return r;
    const struct drift_model_info *vi = rd->gen.vinfo, *ai = rd->gen.ainfo;
    if (ai)
        rd->pcm = g_new(float, (size_t)ai->chunk_samples * ai->channels);
    bool mkv = !strcmp(s->format, "mkv");
    struct drift_stream_output_config oc = {
        .width = vi->width, .height = vi->height,
        .out_width = (int)s->width, .out_height = (int)s->height,
        .fps_num = rd->gen.fps_num, .fps_den = rd->gen.fps_den,
        .audio = ai != NULL, .audio_rate = ai ? ai->sample_rate : 0, .audio_channels = ai ? ai->channels : 1,
        .audio_codec = mkv ? DRIFT_AUDIO_OPUS : DRIFT_AUDIO_AAC,
        .live = false,
        .push_timeout_ms = 2000, /* see push() */
    };
    r = drift_stream_output_init(&rd->out, &oc, err);
    if (r == 0)
        r = drift_file_writer_init(&rd->writer, rd->out, s->output,
                                   mkv ? DRIFT_FILE_MKV : DRIFT_FILE_MP4, err);
    if (r < 0)
        return r;
    rd->rgb = g_malloc((size_t)vi->width * vi->height * 3);
    return 0;
}

/* An offline queue that stays full for push_timeout_ms (2 s) answers -EAGAIN: try again, but
 * not forever. When the file writer stopped taking data (a full disk, a muxer error), the
 * queue never drains: after 10 s collect the writer's error and give up. */
static int push(struct render *rd, const float *pcm, size_t n, int64_t index,
                struct drift_error *err)
{
    int r, waits = 0;
    do
        r = pcm ? drift_stream_output_push_audio(rd->out, pcm, n, index)
                : drift_stream_output_push_video(rd->out, rd->rgb, index);
    while (r == -EAGAIN && !cancelled(rd) && ++waits < 5);
    if (r == -EAGAIN && !cancelled(rd)) {
        int fr = drift_file_writer_finish(rd->writer, 0, err);
        if (fr == -EIO)
            return fr; /* err says what the writer met */
        return drift_error_set(err, -ETIMEDOUT, "the file writer stopped taking data for 10 s");
    }
    if (r < 0 && !cancelled(rd))
        return drift_error_set(err, r, "media: %s", drift_stream_output_last_error(rd->out));
    return cancelled(rd) ? -ECANCELED : r;
}

static int one_frame(struct render *rd, int64_t k, int64_t *sample, struct drift_error *err)
{
    const struct drift_model_info *vi = rd->gen.vinfo, *ai = rd->gen.ainfo;
    int r = drift_generator_next_frame(rd->gen.video, rd->rgb, (size_t)vi->width * vi->height * 3,
                                       err);
    if (r < 0)
        return r;
    if ((r = push(rd, NULL, 0, k, err)) < 0)
        return r;
    if (!ai)
        return 0;
    int64_t end = drift_audio_samples_for(k + 1, ai->sample_rate, rd->gen.fps_num, rd->gen.fps_den);
    while (*sample < end) {
        size_t room = (size_t)ai->chunk_samples * (size_t)ai->channels;
        if ((r = drift_generator_next_audio(rd->gen.audio, rd->pcm, room, err)) < 0)
            return r;
        if ((r = push(rd, rd->pcm, (size_t)ai->chunk_samples, *sample, err)) < 0)
            return r;
        *sample += ai->chunk_samples;
    }
    return 0;
}

/* A render beside a generating live stream runs on its job thread alone: libgomp counts the
 * threads of every OpenMP team in the process, and once they exceed the CPUs it cuts every
 * waiting thread's spin to 100 iterations, the live stream's team's too, which then sleeps
 * between kernels and repeats frames (docs/PERFORMANCE.md, capacity). So the render's team is
 * ended (drift_release_threads, from this thread) and made again once the streams idle. */
static int limit_threads(struct render *rd, int threads, struct drift_error *err)
{
    if (threads == rd->threads)
        return 0;
    int r = drift_generator_set_threads(rd->gen.video, threads, err);
    if (r == 0 && rd->gen.audio)
        r = drift_generator_set_threads(rd->gen.audio, threads, err);
    if (r < 0)
        return r;
    if (threads)
        drift_release_threads();
    rd->threads = threads;
    return 0;
}

static int generate(struct render *rd, struct drift_error *err)
{
    int64_t frames = (int64_t)llround(rd->s->seconds * rd->s->fps), sample = 0;
    if (frames < 1)
        frames = 1;
    for (int64_t k = 0; k < frames; k++) {
        int r = rd->hooks->throttle ? limit_threads(rd, rd->hooks->throttle(rd->hooks->userdata), err) : 0;
        if (r < 0)
            return r;
        if (cancelled(rd))
            return drift_error_set(err, -ECANCELED, "cancelled");
        r = one_frame(rd, k, &sample, err);
        if (r < 0)
            return r;
        if (rd->hooks->progress)
            rd->hooks->progress(rd->hooks->userdata, (double)(k + 1) / (double)frames);
    }
    if (drift_stream_output_finish(rd->out) < 0)
        return drift_error_set(err, -EIO, "media: %s", drift_stream_output_last_error(rd->out));
    return drift_file_writer_finish(rd->writer, 60000, err);
}

int drift_render_run(const struct drift_settings *settings, const struct drift_render_hooks *hooks,
                     struct drift_error *err)
{
    static const struct drift_render_hooks none = { 0 };
    struct render rd = { .s = settings, .hooks = hooks ? hooks : &none };
    int r = open_all(&rd, err);
    if (r >= 0)
        r = generate(&rd, err);
    drift_file_writer_free(rd.writer); /* unfinished: removes the temporary file */
    drift_stream_output_free(rd.out);
    drift_generation_close(&rd.gen);
    g_free(rd.rgb);
    g_free(rd.pcm);
    return r;
}

static gint signalled;

static void on_signal(int sig)
{
    g_atomic_int_set(&signalled, 1);
}

static void print_progress(void *userdata, double fraction)
{
    static int last = -1;
    int pct = (int)(fraction * 100);
    if (pct == last)
        return;
    last = pct;
    if (isatty(2))
        fprintf(stderr, "\rdriftd: rendering %3d%%%s", pct, pct == 100 ? "\n" : "");
    else if (pct % 10 == 0)
        fprintf(stderr, "driftd: rendering %d%%\n", pct);
}

int drift_render_main(const char *spec, const char *config_path, bool config_optional,
                      const char *state_dir_option)
{
    struct drift_error err = { 0 };
    struct drift_settings s;
    g_autofree char *video = drift_model_path(DRIFT_VIDEO_MODEL_FILE);
    g_autofree char *audio = drift_model_path(DRIFT_AUDIO_MODEL_FILE);
    /* The daemon's configuration says where renders go ([daemon] state_dir), as for jobs. */
    struct driftd_config *cfg = driftd_config_new(video, audio);
    if (driftd_config_load(cfg, config_path, config_optional, &err) < 0) {
        log_error("--render: %s", err.message);
        driftd_config_free(cfg);
        return 2;
    }
    g_autofree char *state_dir = drift_state_dir(state_dir_option, cfg->state_dir);
    driftd_config_free(cfg);
    g_autofree char *renders = g_build_filename(state_dir, "renders", NULL);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *name = g_date_time_format(now, "render-%Y%m%dT%H%M%SZ");
    drift_settings_init_stream(&s, video, audio);
    int r = drift_spec_parse(spec, &s, &err);
    if (r >= 0)
        r = drift_spec_complete(&s, renders, name, &err);
    if (r < 0) {
        log_error("--render: %s", err.message);
        drift_settings_done(&s);
        return 2;
    }
    if (g_str_has_prefix(s.output, renders) && g_mkdir_with_parents(renders, 0750) < 0)
        log_warning("%s: %s", renders, g_strerror(errno)); /* the writer says what fails */
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct drift_render_hooks hooks = { .progress = print_progress, .cancel = &signalled };
    r = drift_render_run(&s, &hooks, &err);
    if (r < 0)
        log_error("render to %s failed: %s", s.output, err.message);
    else
        printf("%s\n", s.output);
    drift_settings_done(&s);
    return r < 0 ? 1 : 0;
}
