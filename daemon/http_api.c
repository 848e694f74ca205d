/* The JSON API under /api: the objects of the D-Bus API (docs/WEB.md). Objects are written with
 * the D-Bus properties' names and values; requests carry the settings keys of a{sv} dictionaries
 * (json_settings.h) and go through the same operations as the D-Bus methods (ops.h), so a value
 * is refused with the same error name and message on both. */
#include <errno.h>
#include <string.h>

#include <drift/context.h>

#include "http.h"
#include "json_settings.h"
#include "log.h"
#include "ops.h"
#include "version.h"

struct request {
    struct drift_http *h;
    struct context *ctx;
    SoupServerMessage *msg;
    const char *method;
    const char *arg;          /* the stream name or job id of the path, or NULL */
};

/* ---- objects as JSON ----------------------------------------------------------------------- */

static void set(json_t *obj, const char *key, json_t *value)
{
    json_object_set_new(obj, key, value ? value : json_null());
}

/* org.drift1.Stream's properties (bus_stream.c), same names, same values. */
static json_t *stream_json(struct drift_stream *s)
{
    const struct drift_settings *st = &s->settings;
    struct drift_stream_live live;
    uint64_t repeated, dropped;
    drift_stream_get_live(s, &live);
    drift_stream_media_counters(s, &repeated, &dropped);
    json_t *o = json_object();
    set(o, "Name", json_string(s->name));
    set(o, "Url", json_string(s->url));
    set(o, "Prompt", json_string(st->prompt ? st->prompt : ""));
    set(o, "NegativePrompt", json_string(st->negative_prompt ? st->negative_prompt : ""));
    set(o, "Seed", drift_json_uint(st->seed));
    set(o, "Width", drift_json_uint(st->width));
    set(o, "Height", drift_json_uint(st->height));
    set(o, "Fps", json_real(st->fps));
    set(o, "Steps", drift_json_uint(st->steps));
    set(o, "Guidance", json_real(st->guidance));
    set(o, "Cache", json_string(st->cache ? st->cache : ""));
    set(o, "CacheThreshold", json_real(st->cache_threshold));
    set(o, "Audio", json_boolean(st->audio));
    set(o, "Model", json_string(st->model ? st->model : ""));
    set(o, "AudioModel", json_string(st->audio_model ? st->audio_model : ""));
    set(o, "OnDemand", json_boolean(st->on_demand));
    set(o, "IdleAfter", json_real(st->idle_after));
    set(o, "Running", json_boolean(s->state == DRIFT_STREAM_RUNNING));
    set(o, "State", json_string(drift_stream_state_name(s->state)));
    set(o, "Error", json_string(s->error ? s->error : ""));
    set(o, "Clients", json_integer(drift_stream_clients(s)));
    set(o, "Idle", json_boolean(drift_stream_idle(s)));
    set(o, "FramesGenerated", drift_json_uint(live.frames));
    set(o, "RealtimeFactor", json_real(live.realtime_factor));
    set(o, "EffectiveSteps", json_integer(live.steps));
    set(o, "StepsLowered", drift_json_uint(live.steps_lowered));
    set(o, "Degraded", json_boolean(live.degraded));
    set(o, "FramesRepeated", drift_json_uint(repeated));
    set(o, "FramesDropped", drift_json_uint(dropped));
    set(o, "AudioChunksGenerated", drift_json_uint(live.audio_chunks));
    set(o, "AudioChunksLate", drift_json_uint(live.audio_chunks_late));
    set(o, "EvaluationsRun", drift_json_uint(live.evals_run));
    set(o, "EvaluationsSkipped", drift_json_uint(live.evals_skipped));
    return o;
}

/* org.drift1.Job's properties (bus_job.c). */
static json_t *job_json(struct drift_job *j)
{
    json_t *o = json_object();
    set(o, "Id", json_string(j->id));
    set(o, "State", json_string(drift_job_state_name(j->state)));
    set(o, "Progress", json_real(j->progress));
    set(o, "Output", json_string(j->output ? j->output : ""));
    set(o, "Error", json_string(j->error ? j->error : ""));
    set(o, "NotBefore", drift_json_uint(j->not_before));
    set(o, "Priority", json_integer(j->priority));
    set(o, "Created", drift_json_uint(j->created));
    set(o, "Owner", json_string(j->owner));
    set(o, "Spec", drift_json_settings(&j->spec, DRIFT_SCOPE_JOB));
    return o;
}

/* org.drift1.Manager's properties (bus_manager.c); streams by name and jobs by id, which is how
 * the API's paths name them. */
static json_t *manager_json(struct context *ctx)
{
    json_t *o = json_object(), *streams = json_array(), *jobs = json_array();
    for (guint i = 0; i < ctx->streams->len; i++)
        json_array_append_new(streams,
                              json_string(((struct drift_stream *)ctx->streams->pdata[i])->name));
    for (guint i = 0; i < ctx->jobs->list->len; i++)
        json_array_append_new(jobs, json_string(((struct drift_job *)ctx->jobs->list->pdata[i])->id));
    set(o, "Version", json_string(DRIFT_VERSION));
    set(o, "Isa", json_string(drift_cpu_isa()));
    set(o, "Streams", streams);
    set(o, "Jobs", jobs);
    set(o, "Ready", json_boolean(ctx->notify.ready));
    set(o, "RtspAddress", json_string(ctx->config->rtsp_address));
    set(o, "RtspPort", json_integer(context_rtsp_port(ctx)));
    set(o, "MaxStreams", json_integer(ctx->config->max_streams));
    set(o, "HttpAddress", json_string(ctx->config->http_address));
    set(o, "HttpPort", json_integer(ctx->config->http_port));
    return o;
}

/* ---- requests ------------------------------------------------------------------------------ */

/* The request's body as JSON (transfer full), or NULL with the 400 sent. */
static json_t *read_body(struct request *r)
{
    SoupMessageBody *body = soup_server_message_get_request_body(r->msg);
    g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    json_error_t je;
    json_t *j = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        drift_http_reply_error(r->msg, 400, DRIFT_ERROR_INVALID_ARGUMENT,
                               "request body: not JSON: %s (line %d, column %d)", je.text,
                               je.line, je.column);
    return j;
}

/* The body's settings (scope) into *given, or false with the 400 sent. */
static bool read_settings(struct request *r, const json_t *obj, unsigned scope,
                          struct drift_settings *given)
{
    struct drift_error err = { 0 };
    *given = (struct drift_settings){ 0 };
    if (drift_json_read_settings(obj, scope, given, &err) < 0) {
        drift_settings_done(given);
        drift_http_reply_failure(r->msg, err.code, err.message);
        return false;
    }
    return true;
}

static struct drift_stream *find_stream(struct request *r)
{
    struct drift_error err = { 0 };
    struct drift_stream *s = drift_ops_find_stream(r->ctx, r->arg, &err);
    if (!s)
        drift_http_reply_failure(r->msg, err.code, err.message);
    return s;
}

static struct drift_job *find_job(struct request *r)
{
    struct drift_error err = { 0 };
    struct drift_job *j = drift_ops_find_job(r->ctx, r->arg, &err);
    if (!j)
        drift_http_reply_failure(r->msg, err.code, err.message);
    return j;
}

static void located(struct request *r, const char *kind, const char *name)
{
    g_autofree char *where = g_strdup_printf("/api/%s/%s", kind, name);
    soup_message_headers_replace(soup_server_message_get_response_headers(r->msg), "Location",
                                 where);
}

static void get_manager(struct request *r)
{
    drift_http_reply_json(r->msg, 200, manager_json(r->ctx));
}

static void post_reload(struct request *r)
{
    struct drift_error err = { 0 };
    int e = drift_ops_reload(r->ctx, &err);
    if (e < 0)
        drift_http_reply_failure(r->msg, e, err.message);
    else
        drift_http_reply_json(r->msg, 200, manager_json(r->ctx));
}

/* POST /api/streams {"name": NAME, "settings": {KEY: VALUE…}}: Manager.CreateStream. */
static void create_stream(struct request *r)
{
    json_t *body = read_body(r), *name = NULL, *settings = NULL;
    if (!body)
        return;
    json_error_t je;
    int u = json_unpack_ex(body, &je, JSON_STRICT, "{s:o, s?o}", "name", &name, "settings",
                           &settings);
    const char *why = u < 0 ? je.text : !json_is_string(name) ? "name: not a string" : NULL;
    if (why) {
        drift_http_reply_error(r->msg, 400, DRIFT_ERROR_INVALID_ARGUMENT,
                               "request body: %s; allowed: {\"name\": NAME, \"settings\": {KEY: VALUE…}}",
                               why);
        json_decref(body);
        return;
    }
    struct drift_settings given;
    json_t *empty = json_object();
    if (read_settings(r, settings ? settings : empty, DRIFT_SCOPE_STREAM, &given)) {
        struct drift_stream *s = NULL;
        struct drift_error err = { 0 };
        int e = drift_ops_create_stream(r->ctx, json_string_value(name), &given, &s, &err);
        if (e < 0) {
            drift_http_reply_failure(r->msg, e, err.message);
        } else {
            log_stream(LOG_INFO, s->name, "created over HTTP");
            located(r, "streams", s->name);
            drift_http_reply_json(r->msg, 201, stream_json(s));
        }
        drift_settings_done(&given);
    }
    json_decref(empty);
    json_decref(body);
}

static void streams(struct request *r)
{
    if (!strcmp(r->method, "POST")) {
        create_stream(r);
        return;
    }
    json_t *list = json_array();
    for (guint i = 0; i < r->ctx->streams->len; i++)
        json_array_append_new(list, stream_json(r->ctx->streams->pdata[i]));
    drift_http_reply_json(r->msg, 200, list);
}

/* Stream.Set answered: the stream as it is now, or the generator's refusal. */
static void set_answered(void *userdata, int result, const char *message)
{
    struct drift_http_pending *p = userdata;
    SoupServerMessage *msg = drift_http_pending_message(p);
    if (!msg)
        return; /* the client left */
    struct context *ctx = drift_http_context(drift_http_pending_server(p));
    struct drift_stream *s = context_find_stream(ctx, drift_http_pending_name(p));
    if (result < 0)
        drift_http_reply_failure(msg, result, message);
    else if (s)
        drift_http_reply_json(msg, 200, stream_json(s));
    else
        drift_http_reply_error(msg, 404, DRIFT_ERROR_NOT_FOUND, "stream '%s' went",
                               drift_http_pending_name(p));
    drift_http_pending_answered(p);
}

/* PATCH /api/streams/NAME {KEY: VALUE…}: Stream.Set (SetPrompt is {"prompt": …}). */
static void patch_stream(struct request *r, struct drift_stream *s)
{
    json_t *body = read_body(r);
    struct drift_settings given;
    if (!body)
        return;
    if (read_settings(r, body, DRIFT_SCOPE_STREAM, &given)) {
        struct drift_error err = { 0 };
        struct drift_http_pending *p = drift_http_pending_new(r->h, r->msg, s->name);
        int e = drift_ops_set(s, &given, set_answered, drift_http_pending_ref(p),
                              drift_http_pending_unref, &err);
        if (e < 0)
            drift_http_reply_failure(r->msg, e, err.message);
        else
            drift_http_pending_wait(p); /* unless it was answered at once */
        drift_http_pending_unref(p);
        drift_settings_done(&given);
    }
    json_decref(body);
}

static void stream(struct request *r)
{
    struct drift_stream *s = find_stream(r);
    if (!s)
        return;
    if (!strcmp(r->method, "PATCH")) {
        patch_stream(r, s);
    } else if (!strcmp(r->method, "DELETE")) {
        struct drift_error err = { 0 };
        int e = drift_ops_remove_stream(r->ctx, r->arg, &err);
        if (e < 0) {
            drift_http_reply_failure(r->msg, e, err.message);
            return;
        }
        log_stream(LOG_INFO, r->arg, "removed over HTTP");
        soup_server_message_set_status(r->msg, 204, NULL);
    } else {
        drift_http_reply_json(r->msg, 200, stream_json(s));
    }
}

static void stream_start(struct request *r)
{
    struct drift_stream *s = find_stream(r);
    struct drift_error err = { 0 };
    int e;
    if (!s)
        return;
    if ((e = drift_ops_start(r->ctx, s, &err)) < 0)
        drift_http_reply_failure(r->msg, e, err.message);
    else
        drift_http_reply_json(r->msg, 200, stream_json(s));
}

static void stream_stop(struct request *r)
{
    struct drift_stream *s = find_stream(r);
    struct drift_error err = { 0 };
    int e;
    if (!s)
        return;
    if ((e = drift_ops_stop(s, &err)) < 0)
        drift_http_reply_failure(r->msg, e, err.message);
    else
        drift_http_reply_json(r->msg, 200, stream_json(s));
}

/* POST /api/jobs {KEY: VALUE…}: Manager.SubmitJob. */
static void submit_job(struct request *r)
{
    json_t *body = read_body(r);
    struct drift_settings given;
    if (!body)
        return;
    if (read_settings(r, body, DRIFT_SCOPE_JOB, &given)) {
        struct drift_job *j = NULL;
        struct drift_error err = { 0 };
        int e = drift_ops_submit_job(r->ctx, &given, drift_http_user(r->msg, NULL, NULL), &j,
                                     &err);
        if (e < 0) {
            drift_http_reply_failure(r->msg, e, err.message);
        } else {
            located(r, "jobs", j->id);
            drift_http_reply_json(r->msg, 201, job_json(j));
        }
        drift_settings_done(&given);
    }
    json_decref(body);
}

static void jobs(struct request *r)
{
    if (!strcmp(r->method, "POST")) {
        submit_job(r);
        return;
    }
    json_t *list = json_array();
    for (guint i = 0; i < r->ctx->jobs->list->len; i++)
        json_array_append_new(list, job_json(r->ctx->jobs->list->pdata[i]));
    drift_http_reply_json(r->msg, 200, list);
}

static void job(struct request *r)
{
    struct drift_job *j = find_job(r);
    if (j)
        drift_http_reply_json(r->msg, 200, job_json(j));
}

static void job_cancel(struct request *r)
{
    struct drift_job *j = find_job(r);
    struct drift_error err = { 0 };
    int e;
    if (!j)
        return;
    if ((e = drift_ops_cancel_job(j, drift_http_user(r->msg, NULL, NULL),
                                  drift_http_role(r->msg), &err)) < 0)
        drift_http_reply_failure(r->msg, e, err.message);
    else
        drift_http_reply_json(r->msg, 200, job_json(j));
}

/* POST /api/login (HTTP Basic): a bearer token for the user; DELETE /api/login (with the
 * token): it ends. docs/ACCESS.md. */
static void login(struct request *r)
{
    const char *how = NULL, *token = NULL;
    const char *user = drift_http_user(r->msg, &how, &token);
    struct drift_guard *g = r->ctx->guard;
    if (!user) {
        drift_http_reply_failure(r->msg, -EOPNOTSUPP,
                                 "no users are configured ([access] users): nobody logs in");
        return;
    }
    if (!strcmp(r->method, "DELETE")) {
        if (!token) {
            drift_http_reply_error(r->msg, 400, DRIFT_ERROR_INVALID_ARGUMENT,
                                   "DELETE /api/login ends the bearer token it is sent with");
            return;
        }
        drift_guard_token_revoke(g, token);
        log_info("http: %s logged out", user);
        soup_server_message_set_status(r->msg, 204, NULL);
        return;
    }
    if (strcmp(how, "basic")) {
        drift_http_reply_error(r->msg, 400, DRIFT_ERROR_INVALID_ARGUMENT,
                               "POST /api/login takes a name and password (HTTP Basic), not a token");
        return;
    }
    char *issued = NULL;
    struct drift_error err = { 0 };
    int e = drift_guard_token_issue(g, user, g_get_monotonic_time(), &issued, &err);
    if (e < 0) {
        drift_http_reply_failure(r->msg, e, err.message);
        return;
    }
    log_info("http: %s logged in from %s", user, soup_server_message_get_remote_host(r->msg));
    enum drift_role role = drift_guard_role(g, user);
    drift_http_reply_json(r->msg, 200, json_pack("{s:s, s:s, s:s, s:i}", "token", issued,
                                                 "user", user, "role", drift_role_name(role),
                                                 "expires_in", DRIFT_GUARD_TOKEN_LIFETIME_S));
    memset(issued, 0, strlen(issued));
    g_free(issued);
}

/* ---- routing ------------------------------------------------------------------------------- */

/* One row per resource: its path under /api/ ("*" is one segment: a stream name, a job id), the
 * methods it takes with the operation each is (ops.h: who may), and its handler. HEAD goes
 * with GET. */
static const struct route {
    const char *pattern;
    struct {
        const char *method;
        enum drift_op op;
    } methods[4];
    void (*handle)(struct request *r);
} routes[] = {
    { "", { { "GET", DRIFT_OP_READ } }, get_manager },
    { "reload", { { "POST", DRIFT_OP_RELOAD } }, post_reload },
    { "login", { { "POST", DRIFT_OP_LOGIN }, { "DELETE", DRIFT_OP_LOGIN } }, login },
    { "streams", { { "GET", DRIFT_OP_READ }, { "POST", DRIFT_OP_CREATE_STREAM } }, streams },
    { "streams/*",
      { { "GET", DRIFT_OP_READ }, { "PATCH", DRIFT_OP_SET }, { "DELETE", DRIFT_OP_REMOVE_STREAM } },
      stream },
    { "streams/*/start", { { "POST", DRIFT_OP_START } }, stream_start },
    { "streams/*/stop", { { "POST", DRIFT_OP_STOP } }, stream_stop },
    { "jobs", { { "GET", DRIFT_OP_READ }, { "POST", DRIFT_OP_SUBMIT_JOB } }, jobs },
    { "jobs/*", { { "GET", DRIFT_OP_READ } }, job },
    { "jobs/*/cancel", { { "POST", DRIFT_OP_CANCEL_JOB } }, job_cancel },
};

/* "GET, HEAD, POST": the methods of a route, for Allow (transfer full). */
static char *allowed_methods(const struct route *route)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(route->methods) && route->methods[i].method; i++) {
        g_string_append_printf(s, "%s%s", s->len ? ", " : "", route->methods[i].method);
        if (!strcmp(route->methods[i].method, "GET"))
            g_string_append(s, ", HEAD");
    }
    return g_string_free(s, FALSE);
}

/* The operation of method on route; only for a method the route allows. */
static enum drift_op route_op(const struct route *route, const char *method)
{
    if (!strcmp(method, "HEAD"))
        method = "GET";
    for (size_t i = 0; i < G_N_ELEMENTS(route->methods) && route->methods[i].method; i++)
        if (!strcmp(route->methods[i].method, method))
            return route->methods[i].op;
    return DRIFT_OP_RELOAD; /* not reached: the strictest */
}

/* Whether the segments of rest match pattern; *ret_arg gets the "*" segment. */
static bool match(const char *pattern, char **segs, const char **ret_arg)
{
    g_auto(GStrv) pat = pattern[0] ? g_strsplit(pattern, "/", -1) : g_new0(char *, 1);
    size_t n = 0;
    *ret_arg = NULL;
    for (; pat[n]; n++) {
        if (!segs[n] || !segs[n][0])
            return false;
        if (!strcmp(pat[n], "*"))
            *ret_arg = segs[n];
        else if (strcmp(pat[n], segs[n]))
            return false;
    }
    return segs[n] == NULL;
}

void drift_http_api_handle(struct drift_http *h, SoupServerMessage *msg, const char *method,
                           const char *path)
{
    const char *rest = path + strlen("/api");
    if (rest[0] == '/')
        rest++;
    g_auto(GStrv) segs = rest[0] ? g_strsplit(rest, "/", -1) : g_new0(char *, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(routes); i++) {
        struct request r = { h, drift_http_context(h), msg, method, NULL };
        if (!match(routes[i].pattern, segs, &r.arg))
            continue;
        g_autofree char *allowed = allowed_methods(&routes[i]);
        if (drift_http_allow(msg, method, allowed) &&
            drift_http_permit(msg, route_op(&routes[i], method)))
            routes[i].handle(&r);
        return;
    }
    drift_http_reply_error(msg, 404, DRIFT_ERROR_NOT_FOUND, "no resource %.128s", path);
}
