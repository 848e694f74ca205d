/* See render.h. */
#include "render.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include <drift/generator.h>
#include <drift/media/file_writer.h>
#include <drift/media/stream_output.h>

#include "config.h"
#include "log.h"

#define SCOPE (DRIFT_SCOPE_STREAM | DRIFT_SCOPE_JOB)

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
    cancelled = 1;
}

static int parse_item(struct drift_settings *s, const char *where, char *item,
                      struct drift_error *err)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return drift_error_set(err, -EINVAL, "%s: expected KEY=VALUE, got '%.64s'", where, item);
    *eq = 0;
    g_strstrip(item);
    char *value = g_strstrip(eq + 1);
    int r = drift_settings_set_string(s, SCOPE, item, value, err);
    if (r < 0)
        drift_error_prefix(err, "%s", where);
    return r;
}

int drift_render_parse_spec(const char *spec, struct drift_settings *settings,
                            struct drift_error *err)
{
    g_autofree char *data = NULL;
    bool is_file = g_file_test(spec, G_FILE_TEST_IS_REGULAR);
    if (is_file && !g_file_get_contents(spec, &data, NULL, NULL))
        return drift_error_set(err, -ENOENT, "%s: cannot read", spec);
    g_auto(GStrv) items = g_strsplit(is_file ? data : spec, is_file ? "\n" : ",", -1);
    for (size_t i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        if (!item[0] || item[0] == '#' || item[0] == '[')
            continue;
        g_autofree char *where = is_file ? g_strdup_printf("%s:%zu", spec, i + 1)
                                         : g_strdup_printf("--render item %zu", i + 1);
        int r = parse_item(settings, where, item, err);
        if (r < 0)
            return r;
    }
    return 0;
}

struct render {
    struct drift_settings s;
    struct drift_generator *video, *audio;
    struct drift_stream_output *out;
    struct drift_file_writer *writer;
    uint8_t *rgb;
    float *pcm;
};

static int open_all(struct render *rd, struct drift_error *err)
{
    struct drift_generator_settings gs = {
        .prompt = rd->s.prompt, .negative_prompt = rd->s.negative_prompt, .seed = rd->s.seed,
        .steps = (int)rd->s.steps, .guidance = rd->s.guidance,
        .cache = (enum drift_cache_policy)drift_cache_policy_parse(rd->s.cache),
        .cache_threshold = rd->s.cache_threshold,
    };
    int r = drift_generator_new(rd->s.model, &gs, &rd->video, err);
    if (r < 0)
        return r;
    const struct drift_model_info *vi = drift_generator_info(rd->video);
    const struct drift_model_info *ai = NULL;
    if (rd->s.audio) {
        gs.prompt = "";
        gs.negative_prompt = NULL;
        gs.steps = 0;
        if ((r = drift_generator_new(rd->s.audio_model, &gs, &rd->audio, err)) < 0)
            return r;
        ai = drift_generator_info(rd->audio);
        rd->pcm = g_new(float, ai->chunk_samples);
    }
    bool mkv = rd->s.format && !strcmp(rd->s.format, "mkv");
    struct drift_stream_output_config oc = {
        .width = vi->width, .height = vi->height,
        .out_width = (int)rd->s.width, .out_height = (int)rd->s.height,
        .fps_num = (int)lround(rd->s.fps * 1000), .fps_den = 1000,
        .audio = ai != NULL, .audio_rate = ai ? ai->sample_rate : 0, .audio_channels = 1,
        .audio_codec = mkv ? DRIFT_AUDIO_OPUS : DRIFT_AUDIO_AAC,
        .live = false,
    };
    struct drift_media_error me = { 0 };
    if (drift_stream_output_init(&rd->out, &oc, &me) < 0 ||
        drift_file_writer_init(&rd->writer, rd->out, rd->s.output,
                               mkv ? DRIFT_FILE_MKV : DRIFT_FILE_MP4, &me) < 0)
        return drift_error_set(err, me.code, "%s", me.message);
    rd->rgb = g_malloc((size_t)vi->width * vi->height * 3);
    return 0;
}

static int push_retry(struct render *rd, const float *pcm, size_t n, int64_t index, bool video)
{
    int r;
    do
        r = video ? drift_stream_output_push_video(rd->out, rd->rgb, index)
                  : drift_stream_output_push_audio(rd->out, pcm, n, index);
    while (r == -EAGAIN && !cancelled);
    return r;
}

static int generate(struct render *rd, struct drift_error *err)
{
    const struct drift_model_info *vi = drift_generator_info(rd->video);
    int64_t frames = (int64_t)llround(rd->s.seconds * rd->s.fps), sample = 0;
    for (int64_t k = 0; k < frames; k++) {
        if (cancelled)
            return drift_error_set(err, -ECANCELED, "cancelled");
        int r = drift_generator_next_frame(rd->video, rd->rgb, (size_t)vi->width * vi->height * 3, err);
        if (r < 0 || (r = push_retry(rd, NULL, 0, k, true)) < 0)
            return r < 0 && !err->code ? drift_error_set(err, r, "media: cannot queue frame %" G_GINT64_FORMAT, k) : r;
        if (rd->audio) {
            const struct drift_model_info *ai = drift_generator_info(rd->audio);
            int64_t end = (int64_t)llround((k + 1) * ai->sample_rate / rd->s.fps);
            while (sample < end) {
                if ((r = drift_generator_next_audio(rd->audio, rd->pcm, (size_t)ai->chunk_samples, err)) < 0 ||
                    (r = push_retry(rd, rd->pcm, (size_t)ai->chunk_samples, sample, false)) < 0)
                    return r;
                sample += ai->chunk_samples;
            }
        }
        if (isatty(2) || (k + 1) % (int64_t)fmax(1, rd->s.fps) == 0)
            fprintf(stderr, "\rdriftd: frame %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "%s", k + 1,
                    frames, isatty(2) ? "" : "\n");
    }
    if (isatty(2))
        fputc('\n', stderr);
    if (drift_stream_output_finish(rd->out) < 0)
        return drift_error_set(err, -EIO, "media: %s", drift_stream_output_last_error(rd->out));
    struct drift_media_error me = { 0 };
    if (drift_file_writer_finish(rd->writer, 60000, &me) < 0)
        return drift_error_set(err, me.code, "%s", me.message);
    return 0;
}

static void render_done(struct render *rd)
{
    drift_file_writer_free(rd->writer); /* unfinished: removes the temporary file */
    drift_stream_output_free(rd->out);
    drift_generator_free(rd->video);
    drift_generator_free(rd->audio);
    g_free(rd->rgb);
    g_free(rd->pcm);
    drift_settings_done(&rd->s);
}

/* Fills what the spec left out: models and sizes from the configuration's defaults, output
 * under the state directory, format from the output's extension. */
static int complete_spec(struct render *rd, const char *state_dir, struct drift_error *err)
{
    if (!drift_settings_has(&rd->s, DRIFT_KEY_SECONDS))
        return drift_error_set(err, -EINVAL, "seconds: missing; allowed: %s",
                               drift_setting_desc(DRIFT_KEY_SECONDS)->range);
    if (!rd->s.output) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
        rd->s.output = g_strdup_printf("%s/renders/render-%s.%s", state_dir, stamp,
                                       rd->s.format ? rd->s.format : "mp4");
    }
    if (!rd->s.format)
        rd->s.format = g_strdup(g_str_has_suffix(rd->s.output, ".mkv") ? "mkv" : "mp4");
    if (drift_settings_has(&rd->s, DRIFT_KEY_AUDIO_MODEL) && !drift_settings_has(&rd->s, DRIFT_KEY_AUDIO))
        rd->s.audio = rd->s.audio_model[0] != 0;
    return 0;
}

int drift_render_main(const char *spec, const char *config_path, bool config_optional,
                      const char *state_dir)
{
    struct drift_error err = { 0 };
    struct render rd = { 0 };
    const char *dir = g_getenv("DRIFT_MODELS_DIR");
    g_autofree char *video = g_build_filename(dir ? dir : DRIFT_MODELS_DIR_DEFAULT,
                                              "drift-video.safetensors", NULL);
    g_autofree char *audio = g_build_filename(dir ? dir : DRIFT_MODELS_DIR_DEFAULT,
                                              "drift-audio.safetensors", NULL);
    drift_settings_init_stream(&rd.s, video, audio);
    int r = drift_render_parse_spec(spec, &rd.s, &err);
    if (r >= 0)
        r = complete_spec(&rd, state_dir ? state_dir : (g_getenv("STATE_DIRECTORY") ?: "/var/lib/drift"), &err);
    if (r < 0) {
        log_error("--render: %s", err.message);
        drift_settings_done(&rd.s);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    r = open_all(&rd, &err);
    if (r >= 0)
        r = generate(&rd, &err);
    if (r < 0)
        log_error("render to %s failed: %s", rd.s.output, err.message);
    else
        printf("%s\n", rd.s.output);
    render_done(&rd);
    return r < 0 ? 1 : 0;
}
