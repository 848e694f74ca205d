/* A stream's life on the main thread; the generation loop is in stream_thread.c. */
#include "stream.h"

#include <errno.h>
#include <string.h>

#include <drift/generator.h>
#include <drift/media/rtsp_server.h>
#include <drift/media/stream_output.h>

#include "bus.h"
#include "context.h"
#include "generation.h"
#include "log.h"

const char *drift_stream_state_name(enum drift_stream_state state)
{
    static const char *const names[] = { "stopped", "loading", "running", "stopping", "failed" };
    return state <= DRIFT_STREAM_FAILED ? names[state] : "unknown";
}

struct drift_stream *drift_stream_new(struct context *ctx, const char *name,
                                      const struct drift_settings *settings)
{
    struct drift_stream *s = g_new0(struct drift_stream, 1);
    s->ref = 1;
    s->ctx = ctx;
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
    const char *stall = g_getenv("DRIFT_TEST_STALL_STREAM");
    s->test_stall = stall && !strcmp(stall, name);
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
    sd_bus_message_unref(req->reply_to);
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
        drift_bus_emit_changed_va(s->ctx, s->path, DRIFT_STREAM_IFACE, "State", "Running",
                                  "Error", "Url");
    else
        drift_bus_emit_changed_va(s->ctx, s->path, DRIFT_STREAM_IFACE, "State", "Error");
}

int drift_stream_start(struct drift_stream *s)
{
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
    drift_rtsp_server_remove_stream(s->ctx->rtsp, s->name);
    s->served = false;
    g_free(s->url);
    s->url = g_strdup("");
}

int drift_stream_stop(struct drift_stream *s)
{
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

static void reply(sd_bus_message *m, int result, const char *message)
{
    if (!m)
        return;
    if (result >= 0) {
        (void)sd_bus_reply_method_return(m, NULL);
        return;
    }
    sd_bus_error e = SD_BUS_ERROR_NULL;
    drift_bus_error(&e, result, message);
    (void)sd_bus_reply_method_error(m, &e);
    sd_bus_error_free(&e);
}

static void emit_settings_changed(struct drift_stream *s)
{
    drift_bus_emit_changed_va(s->ctx, s->path, DRIFT_STREAM_IFACE, "Prompt", "NegativePrompt",
                              "Seed", "Width", "Height", "Fps", "Steps", "Guidance", "Cache",
                              "CacheThreshold", "Audio", "Model", "AudioModel");
}

int drift_stream_apply(struct drift_stream *s, const struct drift_settings *next,
                       sd_bus_message *reply_to, struct drift_error *err)
{
    if (s->state == DRIFT_STREAM_STOPPING)
        return drift_error_set(err, -EBUSY, "stream '%s' is stopping; try again", s->name);
    bool restart = needs_restart(&s->settings, next);
    /* A new model is checked before the old one stops: a bad file keeps the stream running. */
    int r = drift_check_models(next, &s->settings, err);
    if (r < 0)
        return r;
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
        reply(reply_to, 0, NULL);
        return 0;
    }
    struct drift_stream_request *req = g_new0(struct drift_stream_request, 1);
    drift_settings_copy(&req->settings, next);
    req->prompt_only = true;
    for (int k = 0; k < _DRIFT_KEY_MAX; k++)
        if (k != DRIFT_KEY_PROMPT && (next->set & (1u << k)))
            req->prompt_only = false;
    req->reply_to = sd_bus_message_ref(reply_to);
    g_mutex_lock(&s->lock);
    g_queue_push_tail(&s->requests, req);
    g_mutex_unlock(&s->lock);
    return 0;
}

static void handle_loaded(struct drift_stream *s, struct drift_stream_event *ev)
{
    struct context *ctx = s->ctx;
    if (ev->result < 0) {
        log_stream(LOG_ERR, s->name, "cannot start: %s", ev->message);
        set_state(s, DRIFT_STREAM_FAILED, ev->message);
    } else if (!g_atomic_int_get(&s->stop)) {
        s->out = ev->out;
        struct drift_error merr = { 0 };
        if (drift_rtsp_server_add_stream(ctx->rtsp, s->name, s->out, &merr) < 0) {
            log_stream(LOG_ERR, s->name, "cannot serve: %s", merr.message);
            g_atomic_int_set(&s->stop, 1);
            set_state(s, DRIFT_STREAM_STOPPING, merr.message);
        } else {
            s->served = true;
            g_free(s->url);
            s->url = drift_rtsp_server_url(ctx->rtsp, s->name);
            log_stream(LOG_INFO, s->name, "serving %s", s->url);
            set_state(s, DRIFT_STREAM_RUNNING, "");
        }
    } else {
        s->out = ev->out;
    }
    context_stream_loaded(ctx, s);
}

static void handle_stopped(struct drift_stream *s, struct drift_stream_event *ev)
{
    unserve(s);
    if (s->thread)
        g_thread_join(s->thread);
    s->thread = NULL;
    drift_stream_output_free(s->out);
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
        reply(req->reply_to, 0, NULL);
    }
    g_queue_clear_full(&late, (GDestroyNotify)drift_stream_request_free);
    bool failed = ev->result < 0;
    if (failed)
        log_stream(LOG_ERR, s->name, "stopped: %s", ev->message);
    else
        log_stream(LOG_INFO, s->name, "stopped");
    set_state(s, failed ? DRIFT_STREAM_FAILED : DRIFT_STREAM_STOPPED, failed ? ev->message : NULL);
    context_stream_stopped(s->ctx, s);
    if (s->restart_pending && !s->removed && !s->ctx->shutting_down) {
        s->restart_pending = false;
        drift_stream_start(s);
    }
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
    reply(req->reply_to, req->result, req->err.message);
}

void drift_stream_dispatch_events(struct drift_stream *s)
{
    for (;;) {
        g_mutex_lock(&s->lock);
        struct drift_stream_event *ev = g_queue_pop_head(&s->events);
        g_mutex_unlock(&s->lock);
        if (!ev)
            return;
        switch (ev->kind) {
        case DRIFT_EVENT_LOADED: handle_loaded(s, ev); break;
        case DRIFT_EVENT_REQUEST: handle_request(s, ev); break;
        case DRIFT_EVENT_FAILED: set_state(s, s->state, ev->message); break;
        case DRIFT_EVENT_STOPPED: handle_stopped(s, ev); break;
        }
        event_free(ev);
    }
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
    g_main_context_invoke_full(s->ctx->main_context, G_PRIORITY_DEFAULT, dispatch_cb,
                               drift_stream_ref(s), (GDestroyNotify)drift_stream_unref);
}

void drift_stream_get_live(struct drift_stream *s, struct drift_stream_live *ret)
{
    g_mutex_lock(&s->lock);
    *ret = s->live;
    g_mutex_unlock(&s->lock);
}

unsigned drift_stream_clients(struct drift_stream *s)
{
    return s->served ? drift_rtsp_server_clients(s->ctx->rtsp, s->name) : 0;
}

void drift_stream_media_counters(struct drift_stream *s, uint64_t *ret_repeated,
                                 uint64_t *ret_dropped)
{
    struct drift_stream_stats st = { 0 };
    if (s->out && s->state == DRIFT_STREAM_RUNNING)
        drift_stream_output_get_stats(s->out, &st);
    *ret_repeated = st.frames_repeated;
    *ret_dropped = st.frames_dropped;
}
