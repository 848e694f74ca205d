/* A stream's life on the main thread; the generation loop is in stream_thread.c. */
#include "stream.h"

#include <errno.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus_names.h"
#include "log.h"

const char *drift_stream_state_name(enum drift_stream_state state)
{
    static const char *const names[] = { "stopped", "loading", "running", "stopping", "failed" };
    return state <= DRIFT_STREAM_FAILED ? names[state] : "unknown";
}

struct drift_stream *drift_stream_new(const struct drift_stream_host *host, const char *name,
                                      const struct drift_settings *settings)
{
    struct drift_stream *s = g_new0(struct drift_stream, 1);
    s->ref = 1;
    s->host = host;
    s->name = g_strdup(name);
    char *p = NULL;
    (void)sd_bus_path_encode(DRIFT_STREAM_PREFIX, name, &p);
    s->path = g_strdup(p);
    free(p);
    s->url = g_strdup("");
    s->error = g_strdup("");
    drift_settings_copy(&s->settings, settings);
    g_mutex_init(&s->lock);
    g_queue_init(&s->requests);
    g_queue_init(&s->events);
    return s;
}

struct drift_stream *drift_stream_ref(struct drift_stream *s)
{
    g_atomic_int_inc(&s->ref);
    return s;
}

void drift_stream_request_free(struct drift_stream_request *req)
{
    if (!req)
        return;
    drift_settings_done(&req->settings);
    if (req->done_destroy)
        req->done_destroy(req->done_data);
    g_free(req);
}

static void event_free(struct drift_stream_event *ev)
{
    drift_stream_request_free(ev->request);
    g_free(ev->message);
    g_free(ev);
}

void drift_stream_unref(struct drift_stream *s)
{
    if (!s || !g_atomic_int_dec_and_test(&s->ref))
        return;
    g_queue_clear_full(&s->requests, (GDestroyNotify)drift_stream_request_free);
    g_queue_clear_full(&s->events, (GDestroyNotify)event_free);
    g_mutex_clear(&s->lock);
    drift_settings_done(&s->settings);
    drift_settings_done(&s->thread_settings);
    g_free(s->name);
    g_free(s->path);
    g_free(s->url);
    g_free(s->error);
    g_free(s);
}

bool drift_stream_active(const struct drift_stream *s)
{
    return s->state == DRIFT_STREAM_LOADING || s->state == DRIFT_STREAM_RUNNING ||
           s->state == DRIFT_STREAM_STOPPING;
}

static void set_state(struct drift_stream *s, enum drift_stream_state state, const char *error)
{
    bool was_running = s->state == DRIFT_STREAM_RUNNING;
    s->state = state;
    if (error) {
        g_free(s->error);
        s->error = g_strdup(error);
    }
    if (s->removed)
        return;
    if (was_running != (state == DRIFT_STREAM_RUNNING))
        drift_emit_changed_va(s->host->emit, s->path, DRIFT_STREAM_IFACE, "State", "Running",
                              "Error", "Url", "Idle");
    else
        drift_emit_changed_va(s->host->emit, s->path, DRIFT_STREAM_IFACE, "State", "Error");
}

int drift_stream_start(struct drift_stream *s)
{
    if (s->retired)
        return -ESHUTDOWN;
    if (s->state == DRIFT_STREAM_STOPPING) {
        s->restart_pending = true; /* starts again as soon as the thread ended */
        return 0;
    }
    if (drift_stream_active(s))
        return -EBUSY;
    g_atomic_int_set(&s->stop, 0);
    g_mutex_lock(&s->lock);
    s->live = (struct drift_stream_live){ .last_progress_usec = (uint64_t)g_get_monotonic_time() };
    g_mutex_unlock(&s->lock);
    set_state(s, DRIFT_STREAM_LOADING, "");
    drift_settings_done(&s->thread_settings);
    drift_settings_copy(&s->thread_settings, &s->settings);
    g_autofree char *thread_name = g_strdup_printf("gen-%.10s", s->name);
    s->thread = g_thread_new(thread_name, drift_stream_thread, drift_stream_ref(s));
    log_stream(LOG_INFO, s->name, "starting: model %s%s%s, %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
               " at %g fps", s->settings.model, s->settings.audio ? ", audio " : "",
               s->settings.audio ? s->settings.audio_model : "", s->settings.width,
               s->settings.height, s->settings.fps);
    return 0;
}

static void unserve(struct drift_stream *s)
{
    if (!s->served)
        return;
    if (s->host->unserve)
        s->host->unserve(s->host->userdata, s);
    s->served = false;
    g_free(s->url);
    s->url = g_strdup("");
}

int drift_stream_stop(struct drift_stream *s)
{
    if (s->state == DRIFT_STREAM_STOPPING)
        s->restart_pending = false;
    if (s->state != DRIFT_STREAM_LOADING && s->state != DRIFT_STREAM_RUNNING)
        return -EALREADY;
    g_atomic_int_set(&s->stop, 1);
    s->restart_pending = false;
    unserve(s); /* clients go now; the thread finishes its frame in the background */
    set_state(s, DRIFT_STREAM_STOPPING, NULL);
    log_stream(LOG_INFO, s->name, "stopping");
    return 0;
}

/* Settings the generator can take between frames versus those that need a new output. */
static bool needs_restart(const struct drift_settings *a, const struct drift_settings *b)
{
    return g_strcmp0(a->model, b->model) || g_strcmp0(a->audio_model, b->audio_model) ||
           a->width != b->width || a->height != b->height || a->fps != b->fps ||
           a->audio != b->audio;
}

static void answer(struct drift_stream_request *req, int result, const char *message)
{
    if (req->done)
        req->done(req->done_data, result, message);
    req->done = NULL;
}

static void emit_settings_changed(struct drift_stream *s)
{
    drift_emit_changed_va(s->host->emit, s->path, DRIFT_STREAM_IFACE, "Prompt", "NegativePrompt",
                          "Seed", "Width", "Height", "Fps", "Steps", "Guidance", "Cache",
                          "CacheThreshold", "Audio", "Model", "AudioModel", "OnDemand",
                          "IdleAfter");
}

int drift_stream_apply(struct drift_stream *s, const struct drift_settings *next,
                       drift_stream_done_fn done, void *userdata, GDestroyNotify destroy,
                       struct drift_error *err)
{
    struct drift_stream_request *req = g_new0(struct drift_stream_request, 1);
    req->done = done;
    req->done_data = userdata;
    req->done_destroy = destroy;
    int r = 0;
    if (s->state == DRIFT_STREAM_STOPPING)
        r = drift_error_set(err, -EBUSY, "stream '%s' is stopping; try again", s->name);
    /* A new model is checked before the old one stops: a bad file keeps the stream running. */
    else if (s->host->backend->check)
        r = s->host->backend->check(next, &s->settings, err);
    if (r < 0) {
        req->done = NULL;
        drift_stream_request_free(req);
        return r;
    }
    bool restart = needs_restart(&s->settings, next);
    bool generating = s->state == DRIFT_STREAM_RUNNING || s->state == DRIFT_STREAM_LOADING;
    if (!generating || restart) {
        /* Not generating, or a new output is needed: take the settings now; a running stream
         * restarts with them (its clients reconnect). */
        drift_settings_done(&s->settings);
        drift_settings_copy(&s->settings, next);
        emit_settings_changed(s);
        if (restart && drift_stream_stop(s) == 0) {
            s->restart_pending = true;
            log_stream(LOG_INFO, s->name, "restarting for a new model, size, rate or audio");
        }
        answer(req, 0, NULL);
        drift_stream_request_free(req);
        return 0;
    }
    drift_settings_copy(&req->settings, next);
    req->prompt_only = true;
    for (int k = 0; k < _DRIFT_KEY_MAX; k++)
        if (k != DRIFT_KEY_PROMPT && (next->set & (1u << k)))
            req->prompt_only = false;
    g_mutex_lock(&s->lock);
    g_queue_push_tail(&s->requests, req);
    g_mutex_unlock(&s->lock);
    return 0;
}

static void handle_loaded(struct drift_stream *s, struct drift_stream_event *ev)
{
    const struct drift_stream_host *h = s->host;
    s->out = ev->out;
    if (ev->result < 0) {
        log_stream(LOG_ERR, s->name, "cannot start: %s", ev->message);
        set_state(s, DRIFT_STREAM_FAILED, ev->message);
    } else if (!g_atomic_int_get(&s->stop)) {
        struct drift_error err = { 0 };
        char *url = NULL;
        if (h->serve && h->serve(h->userdata, s, s->out, &url, &err) < 0) {
            log_stream(LOG_ERR, s->name, "cannot serve: %s", err.message);
            g_atomic_int_set(&s->stop, 1);
            set_state(s, DRIFT_STREAM_STOPPING, err.message);
        } else {
            s->served = true;
            g_free(s->url);
            s->url = url ? url : g_strdup("");
            log_stream(LOG_INFO, s->name, "serving %s", s->url);
            set_state(s, DRIFT_STREAM_RUNNING, "");
        }
    }
    if (h->loaded)
        h->loaded(h->userdata, s);
}

static void handle_stopped(struct drift_stream *s, struct drift_stream_event *ev)
{
    unserve(s);
    if (s->thread)
        g_thread_join(s->thread);
    s->thread = NULL;
    if (s->out)
        s->host->backend->output_free(s->out);
    s->out = NULL;
    /* Requests that arrived too late for the thread are answered here. */
    g_mutex_lock(&s->lock);
    GQueue late = s->requests;
    g_queue_init(&s->requests);
    g_mutex_unlock(&s->lock);
    for (GList *l = late.head; l; l = l->next) {
        struct drift_stream_request *req = l->data;
        drift_settings_done(&s->settings);
        drift_settings_copy(&s->settings, &req->settings);
        answer(req, 0, NULL);
    }
    g_queue_clear_full(&late, (GDestroyNotify)drift_stream_request_free);
    bool failed = ev->result < 0;
    if (failed)
        log_stream(LOG_ERR, s->name, "stopped: %s", ev->message);
    else
        log_stream(LOG_INFO, s->name, "stopped");
    set_state(s, failed ? DRIFT_STREAM_FAILED : DRIFT_STREAM_STOPPED, failed ? ev->message : NULL);
    bool restart = s->restart_pending && !s->retired;
    s->restart_pending = false;
    if (s->host->stopped)
        s->host->stopped(s->host->userdata, s); /* may drop the last reference but the caller's */
    if (restart)
        drift_stream_start(s);
}

static void handle_request(struct drift_stream *s, struct drift_stream_event *ev)
{
    struct drift_stream_request *req = ev->request;
    if (req->result >= 0) {
        drift_settings_done(&s->settings);
        drift_settings_copy(&s->settings, &req->settings);
        if (!s->removed)
            emit_settings_changed(s);
    }
    answer(req, req->result, req->err.message);
}

static void handle_idle(struct drift_stream *s, struct drift_stream_event *ev)
{
    if (ev->result)
        log_stream(LOG_INFO, s->name, "idle: nobody watched for %g s; generation paused",
                   s->settings.idle_after);
    else
        log_stream(LOG_INFO, s->name, "watched: generation resumes");
    if (!s->removed)
        drift_emit_changed_va(s->host->emit, s->path, DRIFT_STREAM_IFACE, "Idle");
}

static void handle_warning(struct drift_stream *s, struct drift_stream_event *ev)
{
    log_stream(LOG_WARNING, s->name, "%s", ev->message);
    set_state(s, s->state, ev->message);
}

void drift_stream_dispatch_events(struct drift_stream *s)
{
    drift_stream_ref(s); /* a handler may hand the host its last reference */
    for (;;) {
        g_mutex_lock(&s->lock);
        struct drift_stream_event *ev = g_queue_pop_head(&s->events);
        g_mutex_unlock(&s->lock);
        if (!ev)
            break;
        switch (ev->kind) {
        case DRIFT_EVENT_LOADED: handle_loaded(s, ev); break;
        case DRIFT_EVENT_REQUEST: handle_request(s, ev); break;
        case DRIFT_EVENT_WARNING: handle_warning(s, ev); break;
        case DRIFT_EVENT_STOPPED: handle_stopped(s, ev); break;
        case DRIFT_EVENT_IDLE: handle_idle(s, ev); break;
        }
        event_free(ev);
    }
    drift_stream_unref(s);
}

static gboolean dispatch_cb(gpointer data)
{
    drift_stream_dispatch_events(data);
    return G_SOURCE_REMOVE;
}

void drift_stream_post(struct drift_stream *s, struct drift_stream_event *ev)
{
    g_mutex_lock(&s->lock);
    g_queue_push_tail(&s->events, ev);
    g_mutex_unlock(&s->lock);
    /* Always through a source: invoking directly would run the handlers on this thread
     * whenever the main context happens to be free. */
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, dispatch_cb, drift_stream_ref(s), (GDestroyNotify)drift_stream_unref);
    g_source_attach(src, s->host->main_context);
    g_source_unref(src);
}

void drift_stream_get_live(struct drift_stream *s, struct drift_stream_live *ret)
{
    g_mutex_lock(&s->lock);
    *ret = s->live;
    g_mutex_unlock(&s->lock);
}

unsigned drift_stream_clients(struct drift_stream *s)
{
    return s->served && s->host->clients ? s->host->clients(s->host->userdata, s) : 0;
}

void drift_stream_media_counters(struct drift_stream *s, uint64_t *ret_repeated,
                                 uint64_t *ret_dropped)
{
    *ret_repeated = *ret_dropped = 0;
    if (!s->out || s->state != DRIFT_STREAM_RUNNING)
        return;
    s->host->backend->output_counters(s->out, ret_repeated, ret_dropped);
    /* What the output repeated while the stream idled (and until its first frame after
     * waking) is the pause, not generation falling behind. */
    struct drift_stream_live live;
    drift_stream_get_live(s, &live);
    uint64_t r = live.hiding_repeats ? MIN(*ret_repeated, live.repeated_at_idle) : *ret_repeated;
    *ret_repeated = r > live.repeated_hidden ? r - live.repeated_hidden : 0;
}

bool drift_stream_idle(struct drift_stream *s)
{
    if (s->state != DRIFT_STREAM_RUNNING)
        return false;
    struct drift_stream_live live;
    drift_stream_get_live(s, &live);
    return live.idle;
}

bool drift_stream_behind(struct drift_stream *s)
{
    if (s->state != DRIFT_STREAM_RUNNING)
        return false;
    struct drift_stream_live live;
    drift_stream_get_live(s, &live);
    if (live.idle)
        return false;
    return live.degraded || (live.warming && live.frames > 0) ||
           (live.realtime_factor > 0 && live.realtime_factor < 1.05 &&
            live.frames > (uint64_t)(3 * s->settings.fps));
}

bool drift_stream_stalled(struct drift_stream *s, uint64_t now_usec, uint64_t usec)
{
    if (s->state != DRIFT_STREAM_RUNNING)
        return false;
    struct drift_stream_live live;
    drift_stream_get_live(s, &live);
    return now_usec > live.last_progress_usec && now_usec - live.last_progress_usec > usec;
}

void drift_stream_retire(struct drift_stream *s)
{
    s->retired = true;
    drift_stream_stop(s);
}
