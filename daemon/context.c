/* struct context: start-up, streams, reload and shutdown; see context.h. */
#include "context.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <systemd/sd-daemon.h>

#include <drift/media/rtsp_server.h>

#include "admission.h"
#include "bus_names.h"
#include "generation.h"
#include "log.h"
#include "paths.h"
#include "render.h"
#include "stream_engine.h"
#include "webrtc_viewers.h"

#define SHUTDOWN_GRACE_MS 4000 /* systemd waits 5 s by our unit; we are gone before */

struct drift_stream *context_find_stream(struct context *ctx, const char *name)
{
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        if (!strcmp(s->name, name))
            return s;
    }
    return NULL;
}

struct drift_stream *context_find_stream_by_path(struct context *ctx, const char *path)
{
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        if (!strcmp(s->path, path))
            return s;
    }
    return NULL;
}

int context_rtsp_port(struct context *ctx)
{
    return ctx->rtsp ? drift_rtsp_server_port(ctx->rtsp) : 0;
}

struct drift_stream *context_add_stream(struct context *ctx, const char *name,
                                        const struct drift_settings *settings, bool from_config)
{
    struct drift_stream *s = drift_stream_new(&ctx->stream_host, name, settings);
    s->from_config = from_config;
    g_ptr_array_add(ctx->streams, s);
    drift_emit_added(&ctx->emit, s->path);
    drift_emit_changed_va(&ctx->emit, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Streams");
    return s;
}

void context_remove_stream(struct context *ctx, const char *name)
{
    struct drift_stream *s = context_find_stream(ctx, name);
    if (!s)
        return;
    drift_stream_retire(s);
    drift_emit_removed(&ctx->emit, s->path);
    s->removed = true;
    g_ptr_array_remove(ctx->streams, s);
    drift_emit_changed_va(&ctx->emit, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Streams");
    if (s->thread)
        g_ptr_array_add(ctx->stopping, s); /* freed when its thread reports back */
    else
        drift_stream_unref(s);
}

void context_update_clients(struct context *ctx)
{
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        unsigned c = drift_stream_clients(s);
        if (c == s->clients_sent)
            continue;
        log_stream(LOG_INFO, s->name, "%u client%s", c, c == 1 ? "" : "s");
        s->clients_sent = c;
        drift_emit_changed_va(&ctx->emit, s->path, DRIFT_STREAM_IFACE, "Clients");
    }
}

/* Remembers what a frame of each running stream's model costs at one step: the least seen, measured
 * over a whole window while generating (not warming up after a start or a wake, not idle). */
static void measure_streams(struct context *ctx)
{
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        if (s->state != DRIFT_STREAM_RUNNING)
            continue;
        struct drift_stream_live live;
        drift_stream_get_live(s, &live);
        if (live.idle || live.warming)
            continue;
        double sec = drift_admission_min_frame_seconds(live.realtime_factor, s->settings.fps,
                                                       live.steps, live.commit_evals);
        if (sec <= 0)
            continue;
        double *cost = g_hash_table_lookup(ctx->frame_costs, s->settings.model);
        if (!cost) {
            cost = g_new(double, 1);
            *cost = sec;
            g_hash_table_insert(ctx->frame_costs, g_strdup(s->settings.model), cost);
        }
        *cost = MIN(*cost, sec);
    }
}

static double frame_cost(struct context *ctx, const char *model)
{
    const double *cost = g_hash_table_lookup(ctx->frame_costs, model);
    return cost ? *cost : 0;
}

int context_admit(struct context *ctx, const char *name, const struct drift_settings *settings,
                  struct drift_error *err)
{
    if (!ctx->config->admission_strict)
        return 0;
    measure_streams(ctx);
    g_autoptr(GArray) loads = g_array_new(FALSE, FALSE, sizeof(struct drift_admission_load));
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        if (!strcmp(s->name, name) || !drift_stream_active(s))
            continue;
        struct drift_admission_load l = { s->name, s->settings.fps,
                                          frame_cost(ctx, s->settings.model) };
        g_array_append_val(loads, l);
    }
    struct drift_admission_load cand = { name, settings->fps, frame_cost(ctx, settings->model) };
    if (cand.frame_seconds == 0)
        log_stream(LOG_INFO, name, "admitted: its model's cost is not measured yet");
    return drift_admission_check((const struct drift_admission_load *)loads->data, loads->len,
                                 &cand, err);
}

static gboolean on_clients(gpointer data)
{
    struct context *ctx = data;
    drift_viewers_check(ctx->viewers); /* viewers that went without a DELETE */
    context_update_clients(data);
    measure_streams(data);
    return G_SOURCE_CONTINUE;
}

static bool any_active(struct context *ctx)
{
    if (ctx->stopping->len || drift_jobs_active(ctx->jobs))
        return true;
    for (guint i = 0; i < ctx->streams->len; i++)
        if (((struct drift_stream *)ctx->streams->pdata[i])->thread)
            return true;
    return false;
}

static void check_stopped(struct context *ctx)
{
    if (ctx->shutting_down && !any_active(ctx))
        g_main_loop_quit(ctx->loop);
}

/* The streams' host (struct drift_stream_host). */
static void stream_loaded(void *userdata, struct drift_stream *s)
{
    struct context *ctx = userdata;
    if (ctx->notify.ready || !s->from_config || ctx->loads_pending == 0)
        return;
    if (s->state == DRIFT_STREAM_FAILED)
        ctx->loads_failed++;
    if (--ctx->loads_pending == 0 && ctx->loads_failed == ctx->streams->len) {
        /* Nothing the configuration asked for can run: say so and fail, rather than report
         * a ready daemon that serves nothing. */
        log_error("no configured stream could start (%u failed); exiting", ctx->loads_failed);
        g_autofree char *why = g_strdup_printf("no configured stream could start: %s", s->error);
        drift_notify_failed(&ctx->notify, why);
        ctx->exit_code = 1;
        context_shutdown(ctx);
    } else if (ctx->loads_pending == 0) {
        drift_notify_ready(&ctx->notify);
        drift_emit_changed_va(&ctx->emit, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Ready");
    }
}

static void stream_stopped(void *userdata, struct drift_stream *s)
{
    struct context *ctx = userdata;
    if (s->removed && g_ptr_array_remove(ctx->stopping, s))
        drift_stream_unref(s);
    check_stopped(ctx);
}

static int stream_serve(void *userdata, struct drift_stream *s, struct drift_stream_output *out,
                        char **ret_url, struct drift_error *err)
{
    struct context *ctx = userdata;
    int r = drift_rtsp_server_add_stream(ctx->rtsp, s->name, out, err);
    if (r < 0)
        return r; /* err says why, in the media layer's words */
    *ret_url = drift_rtsp_server_url(ctx->rtsp, s->name);
    return 0;
}

static void stream_unserve(void *userdata, struct drift_stream *s)
{
    struct context *ctx = userdata;
    drift_viewers_end_stream(ctx->viewers, s->name); /* before the output goes */
    drift_rtsp_server_remove_stream(ctx->rtsp, s->name);
}

static unsigned stream_clients(void *userdata, struct drift_stream *s)
{
    struct context *ctx = userdata;
    return drift_rtsp_server_clients(ctx->rtsp, s->name) +
           drift_viewers_count(ctx->viewers, s->name);
}

/* The jobs' host (struct drift_jobs_host). */
static uint64_t wall_clock(void *userdata)
{
    return (uint64_t)g_get_real_time();
}

static bool live_behind(void *userdata)
{
    struct context *ctx = userdata;
    for (guint i = 0; i < ctx->streams->len; i++)
        if (drift_stream_behind(ctx->streams->pdata[i]))
            return true;
    return false;
}

static bool live_active(void *userdata)
{
    struct context *ctx = userdata;
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        if (s->state == DRIFT_STREAM_RUNNING && !drift_stream_idle(s))
            return true;
    }
    return false;
}

static void jobs_idle(void *userdata)
{
    check_stopped(userdata);
}

/* Streams of the configuration that differ from what runs: new ones start, changed ones take
 * the keys that changed in the files (live where possible), dropped ones are removed. Streams
 * made over D-Bus are left alone. */
static void apply_streams(struct context *ctx, const struct driftd_config *old,
                          const struct driftd_config *next)
{
    for (guint i = 0; i < next->streams->len; i++) {
        const struct drift_stream_config *sc = next->streams->pdata[i];
        struct drift_stream *s = context_find_stream(ctx, sc->name);
        if (!s) {
            if (ctx->streams->len >= next->max_streams) {
                log_stream(LOG_WARNING, sc->name, "not started: max_streams (%u) reached",
                           next->max_streams);
                continue;
            }
            drift_stream_start(context_add_stream(ctx, sc->name, &sc->settings, true));
            continue;
        }
        const struct drift_stream_config *was = old ? driftd_config_stream(old, sc->name) : NULL;
        uint32_t changed = was ? drift_settings_diff(&was->settings, &sc->settings)
                               : drift_settings_diff(&s->settings, &sc->settings);
        s->from_config = true;
        if (!changed)
            continue;
        struct drift_settings nextset;
        drift_settings_copy(&nextset, &s->settings);
        drift_settings_merge_mask(&nextset, &sc->settings, changed);
        struct drift_error err = { 0 };
        if (drift_stream_apply(s, &nextset, NULL, NULL, NULL, &err) < 0)
            log_stream(LOG_WARNING, s->name, "reload: %s", err.message);
        else
            log_stream(LOG_INFO, s->name, "reload: settings changed");
        drift_settings_done(&nextset);
    }
    for (guint i = ctx->streams->len; i-- > 0;) {
        struct drift_stream *s = ctx->streams->pdata[i];
        if (s->from_config && !driftd_config_stream(next, s->name)) {
            log_stream(LOG_INFO, s->name, "reload: section gone, removing");
            context_remove_stream(ctx, s->name);
        }
    }
}

/* The configuration and its users file (*ret_users: NULL when [access] users is not set). */
static int load_config(struct context *ctx, struct driftd_config **ret,
                       struct drift_users **ret_users, struct drift_error *err)
{
    g_autofree char *video = drift_model_path(DRIFT_VIDEO_MODEL_FILE);
    g_autofree char *audio = drift_model_path(DRIFT_AUDIO_MODEL_FILE);
    struct driftd_config *cfg = driftd_config_new(video, audio);
    struct drift_users *users = NULL;
    int r = driftd_config_load(cfg, ctx->config_path, ctx->config_optional, err);
    if (r >= 0)
        r = driftd_config_check(cfg, err);
    if (r >= 0 && cfg->access_users && (r = drift_users_load(cfg->access_users, &users, err)) < 0)
        drift_error_prefix(err, "[access] users");
    if (r < 0) {
        driftd_config_free(cfg);
        return r;
    }
    *ret = cfg;
    *ret_users = users;
    return 0;
}

/* Says which surfaces listen where and whether they ask who is there. */
static void log_access(struct context *ctx, struct drift_users *users)
{
    const struct driftd_config *cfg = ctx->config;
    const char *tls = ctx->tls_certificate ? ", TLS" : "";
    if (!users)
        log_info("access: no users configured: RTSP (%s%s) and HTTP (%s%s) stay on loopback, "
                 "open to every local user", cfg->rtsp_address, tls,
                 cfg->http_port ? cfg->http_address : "off", tls);
    else
        log_info("access: %u users from %s: RTSP (%s%s, Basic) and HTTP (%s%s, Basic or bearer "
                 "token) require a login", drift_users_count(users), cfg->access_users,
                 cfg->rtsp_address, tls, cfg->http_port ? cfg->http_address : "off", tls);
}

/* The certificate for RTSPS and HTTPS: [access] tls_certificate and tls_key, else systemd's
 * credentials tls.crt and tls.key ($CREDENTIALS_DIRECTORY, LoadCredential=), else none
 * (*ret NULL). */
static int load_tls(const struct driftd_config *cfg, GTlsCertificate **ret,
                    struct drift_error *err)
{
    g_autofree char *crt = NULL, *key = NULL;
    const char *from = "[access] tls_certificate", *dir = g_getenv("CREDENTIALS_DIRECTORY");
    *ret = NULL;
    if (cfg->tls_certificate) {
        crt = g_strdup(cfg->tls_certificate);
        key = g_strdup(cfg->tls_key);
    } else if (dir) {
        crt = g_build_filename(dir, "tls.crt", NULL);
        key = g_build_filename(dir, "tls.key", NULL);
        bool have_crt = g_file_test(crt, G_FILE_TEST_EXISTS);
        bool have_key = g_file_test(key, G_FILE_TEST_EXISTS);
        if (!have_crt && !have_key)
            return 0;
        if (!have_crt || !have_key)
            return drift_error_set(err, -ENOENT, "credential %s: missing, but %s is there: TLS "
                                   "needs both", have_crt ? key : crt, have_crt ? crt : key);
        from = "credential tls.crt";
    } else {
        return 0;
    }
    if (!g_tls_backend_supports_tls(g_tls_backend_get_default()))
        return drift_error_set(err, -EOPNOTSUPP, "%s: GLib has no TLS backend here (Debian: "
                               "glib-networking)", from);
    g_autoptr(GError) e = NULL;
    GTlsCertificate *c = g_tls_certificate_new_from_files(crt, key, &e);
    if (!c)
        return drift_error_set(err, -EINVAL, "%s: %s with key %s: %s", from, crt, key,
                               e->message);
    *ret = c;
    return 0;
}

/* The RTSP server's question (drift_rtsp_auth), on its client threads. No credentials when
 * they are required is not a failed login: players ask without first, as HTTP clients do. */
static int rtsp_check(void *userdata, const char *user, const char *password, const char *peer)
{
    struct drift_guard *g = ((struct context *)userdata)->guard;
    int64_t now = g_get_monotonic_time();
    unsigned retry;
    if (!drift_guard_on(g))
        return 0;
    if (drift_guard_blocked(g, peer, now, &retry) < 0)
        return -EAGAIN;
    if (!user)
        return -EACCES;
    enum drift_role role = DRIFT_ROLE_NONE;
    struct drift_error err = { 0 };
    int r = drift_guard_login(g, user, password, peer, now, &role, &err);
    if (r == -EACCES)
        log_warning("rtsp: %s", err.message);
    return r < 0 ? r : role >= DRIFT_ROLE_VIEW ? 0 : -EACCES;
}

int context_reload(struct context *ctx, struct drift_error *err)
{
    struct driftd_config *next = NULL;
    struct drift_users *users = NULL;
    int r = load_config(ctx, &next, &users, err);
    if (r < 0) {
        log_error("reload refused, nothing changed: %s", err->message);
        return r;
    }
    /* New models are checked first: a bad file refuses the whole reload and changes nothing. */
    for (guint i = 0; i < next->streams->len; i++) {
        const struct drift_stream_config *sc = next->streams->pdata[i];
        struct drift_stream *s = context_find_stream(ctx, sc->name);
        r = drift_check_models(&sc->settings, s ? &s->settings : NULL, err);
        if (r < 0) {
            drift_error_prefix(err, "[stream.%s]", sc->name);
            log_error("reload refused, nothing changed: %s", err->message);
            driftd_config_free(next);
            drift_users_free(users);
            return r;
        }
    }
    /* The servers stay bound where they are: the loopback rule holds for those addresses. */
    g_autofree char *rtsp_address = g_strdup(next->rtsp_address);
    g_autofree char *http_address = g_strdup(next->http_address);
    g_free(next->rtsp_address);
    next->rtsp_address = g_strdup(ctx->config->rtsp_address);
    g_free(next->http_address);
    next->http_address = g_strdup(ctx->config->http_address);
    unsigned http_port = next->http_port;
    next->http_port = ctx->config->http_port;
    if ((r = driftd_config_check(next, err)) < 0) {
        drift_error_prefix(err, "as bound until the next start");
        log_error("reload refused, nothing changed: %s", err->message);
        driftd_config_free(next);
        drift_users_free(users);
        return r;
    }
    drift_notify_reloading(&ctx->notify);
    if (g_strcmp0(rtsp_address, ctx->config->rtsp_address) ||
        next->rtsp_port != ctx->config->rtsp_port)
        log_warning("reload: [rtsp] address and port take effect at the next start");
    if (g_strcmp0(http_address, ctx->config->http_address) ||
        http_port != ctx->config->http_port)
        log_warning("reload: [http] address and port take effect at the next start");
    if (g_strcmp0(next->tls_certificate, ctx->config->tls_certificate) ||
        g_strcmp0(next->tls_key, ctx->config->tls_key))
        log_warning("reload: [access] tls_certificate and tls_key take effect at the next start");
    /* What the servers are bound to stays what the properties say. */
    next->rtsp_port = ctx->config->rtsp_port;
    drift_guard_set_users(ctx->guard, users);
    apply_streams(ctx, ctx->config, next);
    drift_jobs_set_config(ctx->jobs, next);
    driftd_config_free(ctx->config);
    ctx->config = next;
    drift_emit_changed_va(&ctx->emit, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "MaxStreams");
    drift_notify_reloaded(&ctx->notify);
    log_info("configuration reloaded from %s", ctx->config_path);
    log_access(ctx, users);
    return 0;
}

static gboolean on_shutdown_timeout(gpointer data)
{
    struct context *ctx = data;
    log_warning("streams did not stop within %d ms; leaving anyway", SHUTDOWN_GRACE_MS);
    ctx->shutdown_timer = 0;
    g_main_loop_quit(ctx->loop);
    return G_SOURCE_REMOVE;
}

void context_shutdown(struct context *ctx)
{
    if (ctx->shutting_down)
        return;
    ctx->shutting_down = true;
    ctx->shutdown_started = g_get_monotonic_time();
    drift_notify_stopping(&ctx->notify);
    log_info("stopping");
    for (guint i = 0; i < ctx->streams->len; i++)
        drift_stream_retire(ctx->streams->pdata[i]);
    drift_jobs_shutdown(ctx->jobs); /* interrupted renders run again at the next start */
    if (!any_active(ctx)) {
        g_main_loop_quit(ctx->loop);
        return;
    }
    ctx->shutdown_timer = g_timeout_add(SHUTDOWN_GRACE_MS, on_shutdown_timeout, ctx);
}

static void prepare_state_dir(struct context *ctx)
{
    /* It stays what it was at start: jobs refer to files in it. */
    ctx->state_dir = drift_state_dir(ctx->state_dir_option, ctx->config->state_dir);
    const char *subdirs[] = { "jobs", "renders" };
    for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
        g_autofree char *p = g_build_filename(ctx->state_dir, subdirs[i], NULL);
        if (g_mkdir_with_parents(p, 0750) < 0)
            log_warning("state directory %s: %s (renders will not work)", p, g_strerror(errno));
    }
}

int context_init(struct context *ctx, struct drift_error *err)
{
    ctx->streams = g_ptr_array_new();
    ctx->stopping = g_ptr_array_new();
    ctx->frame_costs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    ctx->private_fd = -1;
    ctx->stream_host = (struct drift_stream_host){
        .backend = &drift_stream_engine_backend,
        .emit = &ctx->emit,
        .main_context = ctx->main_context,
        .loaded = stream_loaded,
        .stopped = stream_stopped,
        .serve = stream_serve,
        .unserve = stream_unserve,
        .clients = stream_clients,
        .userdata = ctx,
    };
    ctx->jobs_host = (struct drift_jobs_host){
        .emit = &ctx->emit,
        .main_context = ctx->main_context,
        .render = drift_render_run,
        .now = wall_clock,
        .live_behind = live_behind,
        .live_active = live_active,
        .idle = jobs_idle,
        .userdata = ctx,
    };
    struct drift_users *users = NULL;
    int r = load_config(ctx, &ctx->config, &users, err);
    if (r < 0)
        return r;
    ctx->guard = drift_guard_new();
    drift_guard_set_users(ctx->guard, users);
    if ((r = load_tls(ctx->config, &ctx->tls_certificate, err)) < 0)
        return r;
    log_access(ctx, users);
    prepare_state_dir(ctx);
    ctx->jobs = drift_jobs_new(&ctx->jobs_host, ctx->state_dir, ctx->config);
    ctx->viewers = drift_viewers_new(ctx->config->http_webrtc_sessions);
    /* Always there: a reload may turn access control on or off. */
    struct drift_rtsp_auth auth = { .check = rtsp_check, .userdata = ctx };
    struct drift_rtsp_server_config rc = {
        .address = ctx->config->rtsp_address,
        .port = (int)ctx->config->rtsp_port,
        .context = ctx->main_context,
        .auth = &auth,
        .tls_certificate = ctx->tls_certificate,
    };
    r = drift_media_init(err);
    if (r == 0)
        r = drift_rtsp_server_init(&ctx->rtsp, &rc, err);
    if (r < 0) {
        drift_error_prefix(err, "rtsp");
        return r;
    }
    log_info("RTSP server listening on %s port %d", ctx->config->rtsp_address,
             drift_rtsp_server_port(ctx->rtsp));
    return 0;
}

void context_start(struct context *ctx)
{
    drift_notify_start(&ctx->notify, ctx->streams);
    ctx->clients_timer = g_timeout_add(1000, on_clients, ctx);
    for (guint i = 0; i < ctx->config->streams->len; i++) {
        const struct drift_stream_config *sc = ctx->config->streams->pdata[i];
        if (ctx->streams->len >= ctx->config->max_streams) {
            log_stream(LOG_WARNING, sc->name, "not started: max_streams (%u) reached",
                       ctx->config->max_streams);
            continue;
        }
        ctx->loads_pending++;
        drift_stream_start(context_add_stream(ctx, sc->name, &sc->settings, true));
    }
    /* Jobs last: media is initialised by now (GStreamer once, from this thread) and live
     * streams are on their way. */
    drift_jobs_start(ctx->jobs);
    if (ctx->loads_pending == 0)
        drift_notify_ready(&ctx->notify);
}

void context_done(struct context *ctx)
{
    /* Sessions feed on the streams' outputs, which go below. */
    drift_viewers_free(ctx->viewers);
    ctx->viewers = NULL;
    drift_notify_stop(&ctx->notify);
    if (ctx->clients_timer)
        g_source_remove(ctx->clients_timer);
    if (ctx->shutdown_timer)
        g_source_remove(ctx->shutdown_timer);
    bool stuck = false;
    for (guint i = 0; ctx->streams && i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        drift_stream_dispatch_events(s);
        if (s->thread) {
            stuck = true; /* a hung generator: the process exit ends it */
            continue;
        }
        drift_stream_unref(s);
    }
    if (ctx->streams)
        g_ptr_array_unref(ctx->streams);
    if (!stuck && ctx->stopping && !ctx->stopping->len) {
        drift_rtsp_server_free(ctx->rtsp);
        /* After the server: its client threads ask the guard. */
        drift_guard_free(ctx->guard);
    }
    if (ctx->stopping)
        g_ptr_array_unref(ctx->stopping);
    drift_jobs_free(ctx->jobs);
    driftd_config_free(ctx->config);
    g_clear_object(&ctx->tls_certificate);
    g_free(ctx->state_dir);
    if (ctx->frame_costs)
        g_hash_table_unref(ctx->frame_costs);
}
