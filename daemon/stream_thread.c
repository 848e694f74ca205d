/* The generation loop of one stream: frames and audio from the engine into the live output,
 * paced by the output's bounded queue. When generation cannot keep up the output repeats
 * frames (counted by the media layer) and this loop lowers the steps per frame until it keeps
 * up again, raising them back when there is room (counted in StepsLowered, shown by Degraded). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <drift/generator.h>
#include <drift/media/stream_output.h>

#include "generation.h"
#include "log.h"
#include "stream.h"

#define WINDOW_USEC 2000000  /* real-time factor measured over this much wall time */

struct gen {
    struct drift_stream *s;
    struct drift_generation gen;      /* the generators, their infos, the frame rate */
    const struct drift_model_info *vinfo, *ainfo; /* = gen's, for short */
    struct drift_settings cur;        /* settings in use */
    char *audio_warning;              /* why the stream runs without audio */
    struct drift_stream_output *out;
    uint8_t *rgb;
    float *pcm;
    int fps_num, fps_den;             /* = gen's */
    int64_t frame, sample;
    unsigned steps_asked, steps_now;
    uint64_t steps_lowered;
    double rtf;
    unsigned windows;                 /* measuring windows so far; the first is warm-up */
    uint64_t repeated_before;         /* the output's frames_repeated at the window start */
    /* the current measuring window */
    int64_t window_start;
    double window_work;
    uint64_t window_frames;
};

static double seconds_since(int64_t t0)
{
    return (double)(g_get_monotonic_time() - t0) / 1e6;
}

static int load(struct gen *g, char **ret_message)
{
    struct drift_error e = { 0 }, ae = { 0 };
    /* Audio is an extra: a stream whose audio model cannot load runs without sound and says
     * why in its Error property, rather than not running at all. */
    if (drift_generation_open(&g->gen, &g->cur, &ae, &e) < 0)
        goto fail;
    if (ae.code < 0) {
        g->audio_warning = g_strdup_printf("%s; streaming without audio", ae.message);
        log_stream(LOG_WARNING, g->s->name, "%s", g->audio_warning);
    }
    g->vinfo = g->gen.vinfo;
    g->ainfo = g->gen.ainfo;
    g->fps_num = g->gen.fps_num;
    g->fps_den = g->gen.fps_den;
    if (g->ainfo)
        g->pcm = g_new(float, g->ainfo->chunk_samples);
    g->steps_asked = g->cur.steps ? (unsigned)g->cur.steps : (unsigned)g->vinfo->default_steps;
    g->steps_now = g->steps_asked;
    struct drift_stream_output_config oc = {
        .width = g->vinfo->width, .height = g->vinfo->height,
        .out_width = (int)g->cur.width, .out_height = (int)g->cur.height,
        .fps_num = g->fps_num, .fps_den = g->fps_den,
        .audio = g->ainfo != NULL,
        .audio_rate = g->ainfo ? g->ainfo->sample_rate : 0,
        .audio_channels = 1,
        .audio_codec = DRIFT_AUDIO_OPUS,
        .live = true,
    };
    if (drift_stream_output_init(&g->out, &oc, &e) < 0) {
        drift_error_prefix(&e, "media");
        goto fail;
    }
    g->rgb = g_malloc((size_t)g->vinfo->width * g->vinfo->height * 3);
    return 0;
fail:
    *ret_message = g_strdup(e.message[0] ? e.message : "cannot load the models");
    return e.code < 0 ? e.code : -EINVAL;
}

/* Applies the changes the main thread queued; each is answered with an event. */
static void take_requests(struct gen *g)
{
    struct drift_stream *s = g->s;
    for (;;) {
        g_mutex_lock(&s->lock);
        struct drift_stream_request *req = g_queue_pop_head(&s->requests);
        g_mutex_unlock(&s->lock);
        if (!req)
            return;
        const struct drift_settings *n = &req->settings;
        unsigned asked = n->steps ? (unsigned)n->steps : (unsigned)g->vinfo->default_steps;
        req->result = drift_generation_update(&g->gen, n, req->prompt_only ? g->steps_now : asked,
                                              req->prompt_only, &req->err);
        if (req->result >= 0) {
            if (!req->prompt_only)
                g->steps_asked = g->steps_now = asked;
            drift_settings_done(&g->cur);
            drift_settings_copy(&g->cur, n);
        }
        struct drift_stream_event *ev = g_new0(struct drift_stream_event, 1);
        ev->kind = DRIFT_EVENT_REQUEST;
        ev->request = req;
        drift_stream_post(s, ev);
    }
}

/* Every window: measure, then lower or raise the steps so that generation keeps real time.
 * Steps go down only when the output really had to repeat frames in the window (generation
 * fell behind), not for one slow measurement; the first window (plans being built) only
 * measures. */
static void adapt(struct gen *g)
{
    struct drift_stream_stats st;
    drift_stream_output_get_stats(g->out, &st);
    bool repeated = st.frames_repeated > g->repeated_before;
    g->repeated_before = st.frames_repeated;
    if (g->window_work <= 0)
        return;
    g->rtf = (double)g->window_frames * g->fps_den / g->fps_num / g->window_work;
    unsigned before = g->steps_now;
    if (g->windows++ == 0) {
    } else if (g->rtf < 0.95 && repeated && g->steps_now > 1) {
        g->steps_now--;
        g->steps_lowered++;
    } else if (g->steps_now < g->steps_asked &&
               g->rtf * g->steps_now / (g->steps_now + 1) > 1.15) {
        g->steps_now++;
    }
    if (g->steps_now != before) {
        struct drift_error e = { 0 };
        if (drift_generation_update(&g->gen, &g->cur, g->steps_now, false, &e) < 0) {
            g->steps_now = before;
        } else {
            log_stream(g->steps_now < before ? LOG_WARNING : LOG_INFO, g->s->name,
                       "%.2fx real time: steps %u -> %u (asked %u)", g->rtf, before, g->steps_now,
                       g->steps_asked);
        }
    }
    g->window_start = g_get_monotonic_time();
    g->window_work = 0;
    g->window_frames = 0;
}

static void publish(struct gen *g)
{
    struct drift_stream *s = g->s;
    g_mutex_lock(&s->lock);
    s->live.frames = (uint64_t)g->frame;
    s->live.last_progress_usec = (uint64_t)g_get_monotonic_time();
    s->live.realtime_factor = g->rtf;
    s->live.steps = g->steps_now;
    s->live.model_steps = (unsigned)g->vinfo->default_steps;
    s->live.steps_lowered = g->steps_lowered;
    s->live.degraded = g->steps_now < g->steps_asked;
    s->live.width = g->vinfo->width;
    s->live.height = g->vinfo->height;
    s->live.model_fps = g->vinfo->fps;
    s->live.sample_rate = g->ainfo ? g->ainfo->sample_rate : 0;
    g_mutex_unlock(&s->lock);
}

/* One frame and the audio that belongs to it. */
static int step(struct gen *g, struct drift_error *e)
{
    int64_t t0 = g_get_monotonic_time();
    size_t size = (size_t)g->vinfo->width * g->vinfo->height * 3;
    int r = drift_generator_next_frame(g->gen.video, g->rgb, size, e);
    if (r < 0)
        return r;
    double work = seconds_since(t0);
    drift_stream_output_push_video(g->out, g->rgb, g->frame);
    if (g->ainfo) {
        int chunk = g->ainfo->chunk_samples;
        int64_t end = drift_audio_samples_for(g->frame + 1, g->ainfo->sample_rate, g->fps_num,
                                              g->fps_den);
        while (g->sample < end) {
            int64_t t1 = g_get_monotonic_time();
            r = drift_generator_next_audio(g->gen.audio, g->pcm, (size_t)chunk, e);
            if (r < 0) {
                drift_error_prefix(e, "audio");
                return r;
            }
            work += seconds_since(t1);
            drift_stream_output_push_audio(g->out, g->pcm, (size_t)chunk, g->sample);
            g->sample += chunk;
        }
    }
    g->frame++;
    g->window_work += work;
    g->window_frames++;
    if (g->rtf == 0 && work > 0)
        g->rtf = (double)g->fps_den / g->fps_num / work;
    return 0;
}

static void run(struct gen *g, struct drift_stream_event *stopped)
{
    struct drift_stream *s = g->s;
    g->window_start = g_get_monotonic_time();
    while (!g_atomic_int_get(&s->stop)) {
        take_requests(g);
        if (s->test_stall && g->frame >= 3) {
            /* Test-only (DRIFT_TEST_STALL_STREAM): hang like a stuck generator would. */
            while (!g_atomic_int_get(&s->stop))
                g_usleep(20000);
            break;
        }
        struct drift_error e = { 0 };
        if (step(g, &e) < 0) {
            stopped->result = e.code < 0 ? e.code : -EIO;
            stopped->message = g_strdup_printf("generation failed: %s", e.message);
            return;
        }
        if (g_get_monotonic_time() - g->window_start >= WINDOW_USEC)
            adapt(g);
        publish(g);
    }
}

gpointer drift_stream_thread(gpointer data)
{
    struct drift_stream *s = data;
    struct gen g = { .s = s };
    g.cur = s->thread_settings; /* ours now; the main thread set it before creating us */
    s->thread_settings = (struct drift_settings){ 0 };
    struct drift_stream_event *loaded = g_new0(struct drift_stream_event, 1);
    struct drift_stream_event *stopped = g_new0(struct drift_stream_event, 1);
    loaded->kind = DRIFT_EVENT_LOADED;
    stopped->kind = DRIFT_EVENT_STOPPED;
    /* The main thread frees the events it is given: keep what we need in locals. */
    int result = load(&g, &loaded->message);
    loaded->result = result;
    if (result < 0) {
        stopped->result = result;
        stopped->message = g_strdup(loaded->message);
        drift_stream_output_free(g.out);
        g.out = NULL;
    }
    loaded->out = g.out;
    if (result >= 0)
        publish(&g);
    drift_stream_post(s, loaded);
    if (g.audio_warning) {
        struct drift_stream_event *warn = g_new0(struct drift_stream_event, 1);
        warn->kind = DRIFT_EVENT_FAILED;
        warn->message = g_steal_pointer(&g.audio_warning);
        drift_stream_post(s, warn);
    }
    if (result >= 0)
        run(&g, stopped);
    drift_generation_close(&g.gen);
    g_free(g.rgb);
    g_free(g.pcm);
    g_free(g.audio_warning);
    drift_settings_done(&g.cur);
    drift_stream_post(s, stopped);
    drift_stream_unref(s);
    return NULL;
}
