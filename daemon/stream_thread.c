/* The generation loop of one stream: frames (and their audio) from the backend into the live
 * output, paced by the output's bounded queue. When generation cannot keep up the output repeats
 * frames (counted by the media layer) and this loop lowers the steps per frame until it keeps
 * up again, raising them back when there is room (counted in StepsLowered, shown by Degraded).
 * An on-demand stream that nobody watched for idle_after seconds pauses between two frames
 * (Idle): the thread sleeps until a destination attaches to the output, keeping its generator
 * (the KV window, prompt and settings), then resumes at the steps asked while the output repeats
 * its last frame. What generates and where frames go is the backend's business
 * (stream_engine.c in driftd). */
#include <errno.h>

#include "log.h"
#include "stream.h"

#define PACE_WINDOW_USEC 2000000 /* default of struct drift_stream_host.pace_window_usec */
/* How long an idle thread sleeps between looks at its requests and stop flag, stamping its
 * progress for the watchdog each time; a viewer wakes it at once. */
#define IDLE_POLL_USEC 250000

struct gen {
    struct drift_stream *s;
    const struct drift_stream_backend *be;
    struct drift_stream_gen *g;
    struct drift_stream_gen_info info;
    struct drift_settings cur;        /* settings in use */
    int64_t frame;
    unsigned steps_asked, steps_now;
    uint64_t steps_lowered;
    double rtf;
    unsigned windows;                 /* measuring windows so far; the first is warm-up */
    uint64_t repeated_before;         /* the output's frames repeated at the window start */
    /* the current measuring window */
    uint64_t window_usec;
    int64_t window_start;
    double window_work;
    uint64_t window_frames;
    int64_t last_watched;             /* when the output last had a destination */
    bool waking;                      /* resumed; the first frame is not pushed yet */
};

static unsigned steps_of(const struct gen *g, const struct drift_settings *s)
{
    return s->steps ? (unsigned)s->steps : g->info.default_steps;
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
        unsigned asked = steps_of(g, n);
        unsigned steps = req->prompt_only ? g->steps_now : asked;
        req->result = g->be->update(g->g, n, steps, req->prompt_only, &req->err);
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

/* The realtime factor one more step per frame would leave. A frame's model evaluations grow
 * with the steps (the sampler's, plus the one that commits the frame to the window when the
 * model commits with a pass); the rest (decoding, conversion) does not. Taking all of it as
 * proportional to the steps would keep a model whose decoder costs a fifth of a frame stuck at
 * one step when it could run all of them. */
static double rtf_with_one_more_step(struct gen *g)
{
    double fixed = g->be->fixed_share ? g->be->fixed_share(g->g) : -1;
    double evals = g->steps_now + g->info.commit_evals;
    if (fixed < 0) /* nothing measured: work proportional to the steps */
        return g->rtf * evals / (evals + 1);
    return g->rtf / (fixed + (1 - fixed) * (evals + 1) / evals);
}

/* Every window: measure, then lower or raise the steps so that generation keeps real time.
 * Steps go down only when the output really had to repeat frames in the window (generation
 * fell behind), not for one slow measurement; they go up again when the measured cost of one
 * more step leaves 15 % to spare. The first window (plans being built) only measures. */
static void adapt(struct gen *g)
{
    uint64_t repeated_now = g->be->repeated(g->g);
    bool repeated = repeated_now > g->repeated_before;
    g->repeated_before = repeated_now;
    if (g->window_work > 0) {
        g->rtf = (double)g->window_frames * g->info.fps_den / g->info.fps_num / g->window_work;
        double rtf_up = rtf_with_one_more_step(g);
        unsigned before = g->steps_now;
        if (g->windows++ == 0) {
        } else if (g->rtf < 0.95 && repeated && g->steps_now > 1) {
            g->steps_now--;
            g->steps_lowered++;
        } else if (g->steps_now < g->steps_asked && rtf_up > 1.15) {
            g->steps_now++;
        }
        if (g->steps_now != before) {
            struct drift_error e = { 0 };
            if (g->be->update(g->g, &g->cur, g->steps_now, false, &e) < 0) {
                g->steps_now = before;
            } else {
                log_stream(g->steps_now < before ? LOG_WARNING : LOG_INFO, g->s->name,
                           "%.2fx real time: steps %u -> %u (asked %u)", g->rtf, before,
                           g->steps_now, g->steps_asked);
            }
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
    s->live.model_steps = g->info.default_steps;
    s->live.commit_evals = g->info.commit_evals;
    s->live.steps_lowered = g->steps_lowered;
    s->live.degraded = g->steps_now < g->steps_asked;
    s->live.warming = g->windows == 0;
    s->live.width = g->info.width;
    s->live.height = g->info.height;
    s->live.model_fps = g->info.model_fps;
    s->live.sample_rate = g->info.sample_rate;
    if (g->be->audio_counters)
        g->be->audio_counters(g->g, &s->live.audio_chunks, &s->live.audio_chunks_late);
    if (g->be->eval_counters)
        g->be->eval_counters(g->g, &s->live.evals_run, &s->live.evals_skipped);
    g_mutex_unlock(&s->lock);
}

/* One frame and the audio that belongs to it. */
static int step(struct gen *g, struct drift_error *e)
{
    double work = 0;
    int r = g->be->frame(g->g, g->frame, &work, e);
    if (r < 0)
        return r;
    g->frame++;
    g->window_work += work;
    g->window_frames++;
    if (g->rtf == 0 && work > 0)
        g->rtf = (double)g->info.fps_den / g->info.fps_num / work;
    return 0;
}

static void post_idle(struct gen *g, bool idle)
{
    struct drift_stream_event *ev = g_new0(struct drift_stream_event, 1);
    ev->kind = DRIFT_EVENT_IDLE;
    ev->result = idle;
    drift_stream_post(g->s, ev);
}

/* An on-demand stream idles once its output had no destination for idle_after seconds. */
static bool should_idle(struct gen *g)
{
    if (!g->be->watched || !g->cur.on_demand)
        return false;
    int64_t now = g_get_monotonic_time();
    if (g->be->watched(g->g, 0)) {
        g->last_watched = now;
        return false;
    }
    return (double)(now - g->last_watched) >= g->cur.idle_after * 1e6;
}

/* Sleeps until somebody watches (or on_demand is turned off, or the stream stops), answering
 * requests meanwhile, then resumes at the steps asked with a fresh measuring window. */
static void idle(struct gen *g)
{
    struct drift_stream *s = g->s;
    uint64_t repeated = g->be->repeated(g->g);
    if (g->be->set_idle)
        g->be->set_idle(g->g, true);
    g_mutex_lock(&s->lock);
    s->live.idle = true;
    if (!s->live.hiding_repeats)
        s->live.repeated_at_idle = repeated;
    s->live.hiding_repeats = true;
    g_mutex_unlock(&s->lock);
    post_idle(g, true);
    while (!g_atomic_int_get(&s->stop)) {
        take_requests(g);
        if (!g->cur.on_demand || g->be->watched(g->g, IDLE_POLL_USEC))
            break;
        g_mutex_lock(&s->lock);
        s->live.last_progress_usec = (uint64_t)g_get_monotonic_time(); /* alive, for the watchdog */
        g_mutex_unlock(&s->lock);
    }
    if (g_atomic_int_get(&s->stop))
        return; /* stopping while idle: nothing resumes (Idle ends with Running) */
    if (g->be->set_idle)
        g->be->set_idle(g->g, false);
    if (g->steps_now != g->steps_asked) {
        struct drift_error e = { 0 };
        if (g->be->update(g->g, &g->cur, g->steps_asked, false, &e) == 0)
            g->steps_now = g->steps_asked; /* full settings; the controller measures anew */
    }
    g->last_watched = g->window_start = g_get_monotonic_time();
    g->window_work = 0;
    g->window_frames = 0;
    g->windows = 0;
    g->waking = true;
    g_mutex_lock(&s->lock);
    s->live.idle = false;
    s->live.warming = true;
    g_mutex_unlock(&s->lock);
    post_idle(g, false);
}

/* The first frame after waking is in the output: the repeats until now were the pause's. */
static void woken(struct gen *g)
{
    struct drift_stream *s = g->s;
    uint64_t repeated = g->be->repeated(g->g);
    g_mutex_lock(&s->lock);
    if (repeated > s->live.repeated_at_idle)
        s->live.repeated_hidden += repeated - s->live.repeated_at_idle;
    s->live.hiding_repeats = false;
    g_mutex_unlock(&s->lock);
    g->repeated_before = repeated;
    g->waking = false;
}

static void run(struct gen *g, struct drift_stream_event *stopped)
{
    struct drift_stream *s = g->s;
    g->window_start = g->last_watched = g_get_monotonic_time();
    while (!g_atomic_int_get(&s->stop)) {
        take_requests(g);
        if (should_idle(g)) {
            idle(g);
            continue;
        }
        struct drift_error e = { 0 };
        if (step(g, &e) < 0) {
            stopped->result = e.code < 0 ? e.code : -EIO;
            stopped->message = g_strdup_printf("generation failed: %s", e.message);
            return;
        }
        if (g->waking)
            woken(g);
        if ((uint64_t)(g_get_monotonic_time() - g->window_start) >= g->window_usec)
            adapt(g);
        publish(g);
    }
}

gpointer drift_stream_thread(gpointer data)
{
    struct drift_stream *s = data;
    struct gen g = { .s = s, .be = s->host->backend };
    g.window_usec = s->host->pace_window_usec ? s->host->pace_window_usec : PACE_WINDOW_USEC;
    g.cur = s->thread_settings; /* ours now; the main thread set it before creating us */
    s->thread_settings = (struct drift_settings){ 0 };
    struct drift_stream_event *loaded = g_new0(struct drift_stream_event, 1);
    struct drift_stream_event *stopped = g_new0(struct drift_stream_event, 1);
    loaded->kind = DRIFT_EVENT_LOADED;
    stopped->kind = DRIFT_EVENT_STOPPED;
    struct drift_error e = { 0 };
    char *warning = NULL;
    int result = g.be->open(&g.cur, s->name, &g.g, &loaded->out, &g.info, &warning, &e);
    /* The main thread frees the events it is given: keep what we need in locals. */
    loaded->result = result;
    if (result < 0) {
        loaded->out = NULL;
        loaded->message = g_strdup(e.message[0] ? e.message : "cannot load the models");
        stopped->result = result;
        stopped->message = g_strdup(loaded->message);
    } else {
        g.steps_asked = g.steps_now = steps_of(&g, &g.cur);
        publish(&g);
    }
    drift_stream_post(s, loaded);
    if (warning) {
        struct drift_stream_event *warn = g_new0(struct drift_stream_event, 1);
        warn->kind = DRIFT_EVENT_WARNING;
        warn->message = warning;
        drift_stream_post(s, warn);
    }
    if (result >= 0) {
        run(&g, stopped);
        g.be->close(g.g);
    }
    drift_settings_done(&g.cur);
    drift_stream_post(s, stopped);
    drift_stream_unref(s);
    return NULL;
}
