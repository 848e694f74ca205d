/* The backend of driftd's streams (struct drift_stream_backend): the engine's generators, made
 * from the settings by generation.c, and the media layer's live output that the RTSP server
 * serves. The loop that drives it is in stream_thread.c and generates the video; the audio has
 * its own thread and timeline on the output's clock (stream_audio.c), so that it goes on when
 * the video falls behind. */
#include "stream_engine.h"

#include <errno.h>

#include <drift/generator.h>
#include <drift/media/stream_output.h>

#include "generation.h"
#include "stream_audio.h"

/* How far the audio runs ahead of what the output has played: room for a loaded machine's
 * scheduling delays, below the output's audio queue (half a second and two frames). */
#define AUDIO_LEAD_USEC 400000

struct drift_stream_gen {
    struct drift_generation gen;      /* the generators, their infos, the frame rate */
    struct drift_stream_output *out;
    struct drift_stream_audio *audio; /* the audio thread, which alone uses gen.audio */
    uint8_t *rgb;
    double work;                      /* seconds in engine_frame so far */
    double work_before, model_before; /* at the last engine_fixed_share: work, model seconds */
};

static double seconds_since(int64_t t0)
{
    return (double)(g_get_monotonic_time() - t0) / 1e6;
}

static void engine_close(struct drift_stream_gen *g)
{
    drift_stream_audio_stop(g->audio, NULL); /* joined: the audio generator is ours again */
    drift_generation_close(&g->gen);
    g_free(g->rgb);
    g_free(g);
}

static int engine_open(const struct drift_settings *s, const char *name,
                       struct drift_stream_gen **ret, struct drift_stream_output **ret_out,
                       struct drift_stream_gen_info *ret_info, char **ret_warning,
                       struct drift_error *err)
{
    struct drift_stream_gen *g = g_new0(struct drift_stream_gen, 1);
    struct drift_error ae = { 0 };
    /* Audio is an extra: a stream whose audio model cannot load runs without sound and says
     * why in its Error property, rather than not running at all. */
    int r = drift_generation_open(&g->gen, s, &ae, err);
    if (r < 0) {
        g_free(g);
        return r;
    }
    const struct drift_model_info *vi = g->gen.vinfo, *ai = g->gen.ainfo;
    struct drift_stream_output_config oc = {
        .width = vi->width, .height = vi->height,
        .out_width = (int)s->width, .out_height = (int)s->height,
        .fps_num = g->gen.fps_num, .fps_den = g->gen.fps_den,
        .audio = ai != NULL,
        .audio_rate = ai ? ai->sample_rate : 0,
        .audio_channels = ai ? ai->channels : 1,
        .audio_codec = DRIFT_AUDIO_OPUS,
        .live = true,
        .audio_on_clock = ai != NULL,
    };
    r = drift_stream_output_init(&g->out, &oc, err);
    if (r < 0) {
        drift_error_prefix(err, "media");
        engine_close(g);
        return r;
    }
    if (ai && (r = drift_stream_audio_start(&g->audio, g->gen.audio, g->out, name,
                                            AUDIO_LEAD_USEC, err)) < 0) {
        drift_stream_output_free(g->out);
        engine_close(g);
        return r;
    }
    if (ae.code < 0)
        *ret_warning = g_strdup_printf("%s; streaming without audio", ae.message);
    g->rgb = g_malloc((size_t)vi->width * vi->height * 3);
    *ret_info = (struct drift_stream_gen_info){
        .width = vi->width, .height = vi->height, .model_fps = vi->fps,
        .default_steps = (unsigned)vi->default_steps,
        .commit_evals = (unsigned)vi->commit_evals,
        .sample_rate = ai ? ai->sample_rate : 0,
        .fps_num = g->gen.fps_num, .fps_den = g->gen.fps_den,
    };
    *ret_out = g->out;
    *ret = g;
    return 0;
}

/* The video here, the audio on its thread (which waits for this caller only while it finishes
 * a chunk): a prompt change reaches both. */
static int engine_update(struct drift_stream_gen *g, const struct drift_settings *s,
                         unsigned steps, bool prompt_only, struct drift_error *err)
{
    int r = drift_generation_update_video(&g->gen, s, steps, prompt_only, err);
    if (r == 0 && g->audio)
        r = drift_stream_audio_update(g->audio, s, err);
    return r;
}

/* One video frame; the audio thread keeps its own pace. An error that stopped the audio thread
 * stops the stream here. */
static int engine_frame(struct drift_stream_gen *g, int64_t index, double *ret_work,
                        struct drift_error *e)
{
    const struct drift_model_info *vi = g->gen.vinfo;
    if (g->audio) {
        int r = drift_stream_audio_status(g->audio, e);
        if (r < 0)
            return r;
    }
    int64_t t0 = g_get_monotonic_time();
    size_t size = (size_t)vi->width * vi->height * 3;
    int r = drift_generator_next_frame(g->gen.video, g->rgb, size, e);
    if (r < 0)
        return r;
    *ret_work = seconds_since(t0);
    g->work += *ret_work;
    drift_stream_output_push_video(g->out, g->rgb, index);
    return 0;
}

static double engine_fixed_share(struct drift_stream_gen *g)
{
    struct drift_generator_counters c;
    drift_generator_get_counters(g->gen.video, &c);
    double work = g->work - g->work_before, model = c.seconds_model - g->model_before;
    g->work_before = g->work;
    g->model_before = c.seconds_model;
    if (!(work > 0))
        return -1;
    double fixed = 1.0 - model / work;
    return fixed < 0 ? 0 : fixed > 1 ? 1 : fixed;
}

static void engine_audio_counters(struct drift_stream_gen *g, uint64_t *ret_chunks,
                                  uint64_t *ret_late)
{
    struct drift_stream_audio_counters c = { 0 };
    if (g->audio)
        drift_stream_audio_get_counters(g->audio, &c);
    *ret_chunks = c.chunks;
    *ret_late = c.late;
}

static void engine_eval_counters(struct drift_stream_gen *g, uint64_t *ret_run,
                                 uint64_t *ret_skipped)
{
    struct drift_generator_counters c;
    drift_generator_get_counters(g->gen.video, &c);
    *ret_run = c.evals_run;
    *ret_skipped = c.evals_skipped;
}

static uint64_t engine_repeated(struct drift_stream_gen *g)
{
    struct drift_stream_stats st;
    drift_stream_output_get_stats(g->out, &st);
    return st.frames_repeated;
}

static bool engine_watched(struct drift_stream_gen *g, int64_t timeout_usec)
{
    return drift_stream_output_wait_watched(g->out, timeout_usec);
}

/* While the video pauses the audio thread pauses too: nobody hears it. */
static void engine_set_idle(struct drift_stream_gen *g, bool idle)
{
    if (g->audio)
        drift_stream_audio_pause(g->audio, idle);
    /* On the stream's thread: its OpenMP team goes while it sleeps, so that a render's team does
     * not share libgomp's count of threads with it (docs/PERFORMANCE.md, capacity). */
    if (idle)
        drift_release_threads();
}

static void output_counters(struct drift_stream_output *out, uint64_t *ret_repeated,
                            uint64_t *ret_dropped)
{
    struct drift_stream_stats st = { 0 };
    drift_stream_output_get_stats(out, &st);
    *ret_repeated = st.frames_repeated;
    *ret_dropped = st.frames_dropped;
}

const struct drift_stream_backend drift_stream_engine_backend = {
    .check = drift_check_models,
    .open = engine_open,
    .update = engine_update,
    .frame = engine_frame,
    .repeated = engine_repeated,
    .fixed_share = engine_fixed_share,
    .audio_counters = engine_audio_counters,
    .eval_counters = engine_eval_counters,
    .watched = engine_watched,
    .set_idle = engine_set_idle,
    .close = engine_close,
    .output_counters = output_counters,
    .output_free = drift_stream_output_free,
};
