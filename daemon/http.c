/* The web server: libsoup, the checks every request passes, the page, the shipped files and the
 * answers the API and the metrics share; see http.h. */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "context.h"
#include "errors.h"
#include "http_rules.h"
#include "log.h"
#include "paths.h"
#include "version.h"
#include "web_page.h"

#define PAGE_TEMPLATE "index.html"
#define TOO_BIG "drift-body-too-big" /* set on a message whose body went past the limit */
/* Who sent a message, set on it by the early handler (access control). */
#define ROLE "drift-role"           /* enum drift_role */
#define USER "drift-user"           /* the user's name (g_free) */
#define AUTH_METHOD "drift-auth"    /* "basic" or "bearer" (static) */
#define BEARER "drift-bearer"       /* the bearer token (g_free) */
#define REALM "drift"

/* The files under /static/: a fixed list, looked up by exact name, so that no path from a
 * request ever reaches the file system. */
static const struct {
    const char *name, *type;
} static_files[] = {
    { "style.css", "text/css; charset=utf-8" },
    { "player.html", "text/html; charset=utf-8" }, /* /stream/NAME (http_whep.c) */
    { "player.js", "text/javascript; charset=utf-8" },
};

struct drift_http {
    struct context *ctx;
    SoupServer *server;
    char *url;
    char *web_dir;
    GBytes *page;                               /* the template; NULL when unusable */
    char *page_error;                           /* why it is unusable */
    GBytes *files[G_N_ELEMENTS(static_files)];  /* NULL when missing */
    GPtrArray *pending;                         /* struct drift_http_pending *, waiting */
};

struct drift_http_pending {
    int ref;                /* main thread only */
    struct drift_http *h;   /* NULL once the server went */
    char *name;
    SoupServerMessage *msg; /* NULL once nobody waits (the client left, the server went) */
    gulong finished_id, disconnected_id;
    bool paused, answered;
};

struct context *drift_http_context(struct drift_http *h)
{
    return h->ctx;
}

const char *drift_http_url(const struct drift_http *h)
{
    return h->url;
}

/* ---- answers ------------------------------------------------------------------------------ */

void drift_http_reply_json(SoupServerMessage *msg, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);
    if (!text) { /* only out of memory: jansson writes every value we build */
        soup_server_message_set_status(msg, 500, NULL);
        return;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* the NUL goes: a newline ends the body, for terminals */
    soup_server_message_set_status(msg, status, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len + 1);
}

void drift_http_reply_error(SoupServerMessage *msg, unsigned status, const char *name,
                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* jansson refuses strings that are not UTF-8: a request's bytes quoted in a message are
     * made valid first. */
    g_autofree char *valid = g_utf8_make_valid(message, -1);
    drift_http_reply_json(msg, status, json_pack("{s:s, s:s}", "error", name, "message", valid));
}

void drift_http_reply_failure(SoupServerMessage *msg, int code, const char *message)
{
    drift_http_reply_error(msg, drift_error_http_status(code), drift_error_name(code), "%s",
                           message && message[0] ? message : g_strerror(code < 0 ? -code : code));
}

bool drift_http_allow(SoupServerMessage *msg, const char *method, const char *allowed)
{
    g_auto(GStrv) list = g_strsplit(allowed, ", ", -1);
    if (g_strv_contains((const char *const *)list, method))
        return true;
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", allowed);
    drift_http_reply_error(msg, 405, DRIFT_ERROR_NOT_SUPPORTED, "method %.16s on %s; allowed: %s",
                           method, g_uri_get_path(soup_server_message_get_uri(msg)), allowed);
    return false;
}

/* ---- answers that wait for a stream -------------------------------------------------------- */

static void pending_detach(struct drift_http_pending *p)
{
    if (!p->msg)
        return;
    g_signal_handler_disconnect(p->msg, p->finished_id);
    g_signal_handler_disconnect(p->msg, p->disconnected_id);
    g_clear_object(&p->msg);
}

static void on_pending_gone(SoupServerMessage *msg, gpointer data)
{
    pending_detach(data); /* the client left: nothing to answer */
}

struct drift_http_pending *drift_http_pending_new(struct drift_http *h, SoupServerMessage *msg,
                                                  const char *name)
{
    struct drift_http_pending *p = g_new0(struct drift_http_pending, 1);
    p->ref = 1;
    p->h = h;
    p->name = g_strdup(name);
    p->msg = g_object_ref(msg);
    p->finished_id = g_signal_connect(msg, "finished", G_CALLBACK(on_pending_gone), p);
    p->disconnected_id = g_signal_connect(msg, "disconnected", G_CALLBACK(on_pending_gone), p);
    g_ptr_array_add(h->pending, p);
    return p;
}

struct drift_http_pending *drift_http_pending_ref(struct drift_http_pending *p)
{
    p->ref++;
    return p;
}

SoupServerMessage *drift_http_pending_message(struct drift_http_pending *p)
{
    return p->msg;
}

const char *drift_http_pending_name(struct drift_http_pending *p)
{
    return p->name;
}

struct drift_http *drift_http_pending_server(struct drift_http_pending *p)
{
    return p->h;
}

void drift_http_pending_wait(struct drift_http_pending *p)
{
    if (p->answered || !p->msg || p->paused)
        return;
    p->paused = true;
    soup_server_message_pause(p->msg);
}

void drift_http_pending_answered(struct drift_http_pending *p)
{
    p->answered = true;
    if (p->paused && p->msg) {
        SoupServerMessage *msg = g_object_ref(p->msg);
        pending_detach(p);
        soup_server_message_unpause(msg);
        g_object_unref(msg);
    }
}

void drift_http_pending_unref(void *data)
{
    struct drift_http_pending *p = data;
    if (--p->ref > 0)
        return;
    if (p->paused && !p->answered && p->msg) { /* the stream went without answering */
        drift_http_reply_error(p->msg, 500, DRIFT_ERROR_FAILED,
                               "stream '%s' went before it took the change", p->name);
        drift_http_pending_answered(p);
    }
    pending_detach(p);
    if (p->h)
        g_ptr_array_remove_fast(p->h->pending, p);
    g_free(p->name);
    g_free(p);
}

/* ---- the checks before a request is read --------------------------------------------------- */

/* A request refused before its body was read: libsoup still reads a body that comes without
 * "Expect: 100-continue"; it keeps none of it, and the connection closes after the answer. */
static void stop_reading(SoupServerMessage *msg)
{
    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
    soup_message_body_truncate(soup_server_message_get_request_body(msg));
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                                 "close");
}

static void refuse_body(SoupServerMessage *msg, goffset size)
{
    g_object_set_data(G_OBJECT(msg), TOO_BIG, GINT_TO_POINTER(1));
    stop_reading(msg);
    drift_http_reply_error(msg, 413, DRIFT_ERROR_LIMIT,
                           "request body: %" G_GINT64_FORMAT " bytes or more; allowed: at most %d",
                           (gint64)size, DRIFT_HTTP_BODY_MAX);
}

/* A chunked body has no length up front: count it as it comes. */
static void on_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
    goffset got = soup_server_message_get_request_body(msg)->length;
    if (got > DRIFT_HTTP_BODY_MAX && !g_object_get_data(G_OBJECT(msg), TOO_BIG))
        refuse_body(msg, got);
}

/* ---- who sends a request ------------------------------------------------------------------ */

bool drift_http_permit(SoupServerMessage *msg, enum drift_op op)
{
    const struct drift_op_rule *rule = drift_op_rule(op);
    enum drift_role role = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(msg), ROLE));
    if (role >= rule->role)
        return true;
    drift_http_reply_error(msg, 403, DRIFT_ERROR_ACCESS_DENIED,
                           "user '%s' (role %s) may not %s: it needs the role %s",
                           (const char *)g_object_get_data(G_OBJECT(msg), USER),
                           drift_role_name(role), rule->name, drift_role_name(rule->role));
    return false;
}

enum drift_role drift_http_role(SoupServerMessage *msg)
{
    return GPOINTER_TO_INT(g_object_get_data(G_OBJECT(msg), ROLE));
}

const char *drift_http_user(SoupServerMessage *msg, const char **ret_method,
                            const char **ret_token)
{
    if (ret_method)
        *ret_method = g_object_get_data(G_OBJECT(msg), AUTH_METHOD);
    if (ret_token)
        *ret_token = g_object_get_data(G_OBJECT(msg), BEARER);
    return g_object_get_data(G_OBJECT(msg), USER);
}

static void unauthorized(SoupServerMessage *msg, const char *why)
{
    stop_reading(msg);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                 "WWW-Authenticate", "Basic realm=\"" REALM "\"");
    drift_http_reply_error(msg, 401, DRIFT_ERROR_ACCESS_DENIED, "%s", why);
}

static void too_many(SoupServerMessage *msg, const char *peer, unsigned retry_s)
{
    stop_reading(msg);
    g_autofree char *after = g_strdup_printf("%u", retry_s);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
                                 after);
    drift_http_reply_error(msg, 429, DRIFT_ERROR_LIMIT,
                           "too many failed logins from %s; retry in %u s", peer, retry_s);
}

/* The name and password of a Basic Authorization value (after "Basic "), or false. */
static bool basic_credentials(const char *b64, char **ret_user, char **ret_password)
{
    g_autofree char *trimmed = g_strstrip(g_strdup(b64));
    gsize len = 0;
    g_autofree guchar *raw = g_base64_decode(trimmed, &len);
    g_autofree char *text = raw ? g_strndup((const char *)raw, len) : NULL;
    char *colon = text ? strchr(text, ':') : NULL;
    if (raw)
        memset(raw, 0, len);
    if (!colon)
        return false;
    *ret_user = g_strndup(text, colon - text);
    *ret_password = g_strdup(colon + 1);
    memset(text, 0, strlen(text));
    return true;
}

/* Sets who sent msg, or answers it (401, 429) and returns false. */
static bool authenticate(struct drift_http *h, SoupServerMessage *msg)
{
    struct drift_guard *g = h->ctx->guard;
    if (!drift_guard_on(g)) { /* only this machine can reach the server: its users may all */
        g_object_set_data(G_OBJECT(msg), ROLE, GINT_TO_POINTER(DRIFT_ROLE_ADMIN));
        return true;
    }
    const char *peer = soup_server_message_get_remote_host(msg);
    const char *value = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                     "Authorization");
    int64_t now = g_get_monotonic_time();
    unsigned retry;
    peer = peer ? peer : "?";
    if (drift_guard_blocked(g, peer, now, &retry) < 0) {
        too_many(msg, peer, retry);
        return false;
    }
    enum drift_role role = DRIFT_ROLE_NONE;
    char *user = NULL, *password = NULL;
    struct drift_error err = { 0 };
    int r;
    const char *how;
    if (value && !g_ascii_strncasecmp(value, "Basic ", 6)) {
        how = "basic";
        if (!basic_credentials(value + 6, &user, &password)) {
            unauthorized(msg, "Authorization: Basic needs base64 of NAME:PASSWORD");
            return false;
        }
        r = drift_guard_login(g, user, password, peer, now, &role, &err);
        memset(password, 0, strlen(password));
        g_free(password);
    } else if (value && !g_ascii_strncasecmp(value, "Bearer ", 7)) {
        how = "bearer";
        g_autofree char *token = g_strstrip(g_strdup(value + 7));
        r = drift_guard_token_check(g, token, peer, now, &user, &role, &err);
        if (r == 0)
            g_object_set_data_full(G_OBJECT(msg), BEARER, g_steal_pointer(&token), g_free);
    } else {
        unauthorized(msg, "who are you? this server needs a name and password (HTTP Basic) or "
                          "a bearer token (POST /api/login)");
        return false;
    }
    if (r == -EAGAIN) {
        g_free(user);
        (void)drift_guard_blocked(g, peer, now, &retry);
        too_many(msg, peer, retry);
        return false;
    }
    if (r < 0) {
        g_free(user);
        log_warning("http: %s", err.message);
        unauthorized(msg, !strcmp(how, "basic") ? "wrong name or password"
                                                 : "unknown or expired token");
        return false;
    }
    g_object_set_data(G_OBJECT(msg), ROLE, GINT_TO_POINTER(role));
    g_object_set_data_full(G_OBJECT(msg), USER, user, g_free);
    g_object_set_data(G_OBJECT(msg), AUTH_METHOD, (gpointer)how);
    return true;
}

static void early_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
    struct drift_http *h = data;
    SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
    const char *host = soup_message_headers_get_one(req, "Host");
    const char *method = soup_server_message_get_method(msg);
    /* DNS rebinding cannot get past a login (the other site has no password): with users,
     * the server answers to its names too. */
    if (!drift_guard_on(h->ctx->guard) && !drift_http_host_allowed(host)) {
        stop_reading(msg);
        drift_http_reply_error(msg, 403, DRIFT_ERROR_ACCESS_DENIED,
                               "Host '%.64s' is not this machine: use its address or localhost",
                               host);
        return;
    }
    bool changes = strcmp(method, "GET") && strcmp(method, "HEAD");
    if (changes && !drift_http_origin_allowed(soup_message_headers_get_one(req, "Origin"), host)) {
        stop_reading(msg);
        drift_http_reply_error(msg, 403, DRIFT_ERROR_ACCESS_DENIED,
                               "Origin '%.64s' is another site: changes come from this one",
                               soup_message_headers_get_one(req, "Origin"));
        return;
    }
    if (!authenticate(h, msg))
        return;
    if (soup_message_headers_get_encoding(req) == SOUP_ENCODING_CONTENT_LENGTH &&
        soup_message_headers_get_content_length(req) > DRIFT_HTTP_BODY_MAX)
        refuse_body(msg, soup_message_headers_get_content_length(req));
    else if (soup_message_headers_get_encoding(req) == SOUP_ENCODING_CHUNKED)
        g_signal_connect(msg, "got-chunk", G_CALLBACK(on_chunk), NULL);
}

/* ---- the page and the files ---------------------------------------------------------------- */

static void serve_page(struct drift_http *h, SoupServerMessage *msg)
{
    if (!h->page) {
        drift_http_reply_error(msg, 500, DRIFT_ERROR_FAILED, "%s", h->page_error);
        return;
    }
    GPtrArray *streams = h->ctx->streams;
    g_autofree struct drift_web_stream_row *rows = g_new0(struct drift_web_stream_row,
                                                           streams->len + 1);
    for (guint i = 0; i < streams->len; i++) {
        struct drift_stream *s = streams->pdata[i];
        rows[i] = (struct drift_web_stream_row){
            .name = s->name, .prompt = s->settings.prompt, .fps = s->settings.fps, .url = s->url,
            .state = drift_stream_idle(s) ? "idle" : drift_stream_state_name(s->state),
        };
    }
    gsize len;
    const char *tmpl = g_bytes_get_data(h->page, &len);
    char *page = NULL;
    struct drift_error err = { 0 };
    if (drift_web_page_render(tmpl, len, rows, streams->len, DRIFT_VERSION, &page, &err) < 0) {
        drift_http_reply_error(msg, 500, DRIFT_ERROR_FAILED, "%s", err.message);
        return;
    }
    soup_server_message_set_status(msg, 200, NULL);
    soup_server_message_set_response(msg, "text/html; charset=utf-8", SOUP_MEMORY_TAKE, page,
                                     strlen(page));
}

void drift_http_serve_file(struct drift_http *h, SoupServerMessage *msg, const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(static_files); i++) {
        if (strcmp(static_files[i].name, name))
            continue;
        if (!h->files[i])
            break;
        soup_server_message_set_status(msg, 200, NULL);
        soup_server_message_set_response(msg, static_files[i].type, SOUP_MEMORY_COPY,
                                         g_bytes_get_data(h->files[i], NULL),
                                         g_bytes_get_size(h->files[i]));
        return;
    }
    drift_http_reply_error(msg, 404, DRIFT_ERROR_NOT_FOUND, "no file /static/%.64s", name);
}

static void serve_metrics(struct drift_http *h, SoupServerMessage *msg)
{
    size_t size;
    struct drift_error err = { 0 };
    char *text = drift_http_metrics(h->ctx, &size, &err);
    if (!text) {
        log_error("http: /metrics: %s", err.message);
        drift_http_reply_error(msg, 500, DRIFT_ERROR_FAILED, "%s", err.message);
        return;
    }
    soup_server_message_set_status(msg, 200, NULL);
    soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
                                     SOUP_MEMORY_TAKE, text, size);
}

/* Reads the shipped files once: what the server serves does not change under it. */
static void load_web_files(struct drift_http *h)
{
    g_autofree char *path = g_build_filename(h->web_dir, PAGE_TEMPLATE, NULL);
    g_autofree char *text = NULL;
    gsize len;
    g_autoptr(GError) e = NULL;
    struct drift_error err = { 0 };
    if (!g_file_get_contents(path, &text, &len, &e))
        h->page_error = g_strdup_printf("the page's template: %s (DRIFT_WEB_DIR)", e->message);
    else if (drift_web_page_check(text, len, &err) < 0)
        h->page_error = g_strdup_printf("%s: %s", path, err.message);
    else
        h->page = g_bytes_new_take(g_steal_pointer(&text), len);
    if (h->page_error)
        log_warning("http: %s; / answers with that", h->page_error);
    for (size_t i = 0; i < G_N_ELEMENTS(static_files); i++) {
        g_autofree char *p = g_build_filename(h->web_dir, static_files[i].name, NULL);
        g_autofree char *data = NULL;
        if (!g_file_get_contents(p, &data, &len, NULL)) {
            log_warning("http: %s missing; /static/%s answers 404", p, static_files[i].name);
            continue;
        }
        h->files[i] = g_bytes_new_take(g_steal_pointer(&data), len);
    }
}

/* ---- routing ------------------------------------------------------------------------------- */

static void handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                    GHashTable *query, gpointer data)
{
    struct drift_http *h = data;
    const char *method = soup_server_message_get_method(msg);
    if (g_object_get_data(G_OBJECT(msg), TOO_BIG)) {
        refuse_body(msg, soup_server_message_get_request_body(msg)->length);
        return;
    }
    if (!strcmp(path, "/api") || g_str_has_prefix(path, "/api/")) {
        drift_http_api_handle(h, msg, method, path);
    } else if (!strcmp(path, "/")) {
        if (drift_http_allow(msg, method, "GET, HEAD") && drift_http_permit(msg, DRIFT_OP_READ))
            serve_page(h, msg);
    } else if (!strcmp(path, "/metrics")) {
        if (drift_http_allow(msg, method, "GET, HEAD") && drift_http_permit(msg, DRIFT_OP_READ))
            serve_metrics(h, msg);
    } else if (g_str_has_prefix(path, "/static/")) {
        if (drift_http_allow(msg, method, "GET, HEAD") && drift_http_permit(msg, DRIFT_OP_READ))
            drift_http_serve_file(h, msg, path + strlen("/static/"));
    } else if (g_str_has_prefix(path, "/stream/")) {
        drift_http_stream_handle(h, msg, method, path + strlen("/stream/"));
    } else {
        drift_http_reply_error(msg, 404, DRIFT_ERROR_NOT_FOUND, "no resource %.128s", path);
    }
}

static void on_request_finished(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    log_debug("http: %s %s %u (%s)", soup_server_message_get_method(msg),
              g_uri_get_path(soup_server_message_get_uri(msg)),
              soup_server_message_get_status(msg), soup_server_message_get_remote_host(msg));
}

int drift_http_start(struct context *ctx, struct drift_http **ret, struct drift_error *err)
{
    const struct driftd_config *cfg = ctx->config;
    *ret = NULL;
    if (cfg->http_port == 0) {
        log_info("HTTP server off ([http] port = 0)");
        return 0;
    }
    g_autoptr(GInetAddress) address = g_inet_address_new_from_string(cfg->http_address);
    /* config.c checked; twice is safe */
    if (!address || (!drift_guard_on(ctx->guard) && !g_inet_address_get_is_loopback(address)))
        return drift_error_set(err, -EINVAL, "[http] address: %.64s is not a loopback address "
                               "and no users are configured", cfg->http_address);
    struct drift_http *h = g_new0(struct drift_http, 1);
    h->ctx = ctx;
    h->pending = g_ptr_array_new();
    h->web_dir = drift_web_dir();
    h->server = soup_server_new("server-header", "driftd/" DRIFT_VERSION " ",
                                "tls-certificate", ctx->tls_certificate, NULL);
    soup_server_add_early_handler(h->server, NULL, early_handler, h, NULL);
    soup_server_add_handler(h->server, NULL, handler, h, NULL);
    g_signal_connect(h->server, "request-finished", G_CALLBACK(on_request_finished), h);
    g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(address, (guint16)cfg->http_port);
    g_autoptr(GError) e = NULL;
    if (!soup_server_listen(h->server, sa, ctx->tls_certificate ? SOUP_SERVER_LISTEN_HTTPS : 0,
                            &e)) {
        int r = e->domain == G_IO_ERROR && e->code == G_IO_ERROR_ADDRESS_IN_USE ? -EADDRINUSE : -EIO;
        drift_error_set(err, r, "[http] address %s, port %u: %s", cfg->http_address,
                        cfg->http_port, e->message);
        drift_http_free(h);
        return r;
    }
    g_autofree char *host = g_inet_address_to_string(address);
    h->url = g_strdup_printf(g_inet_address_get_family(address) == G_SOCKET_FAMILY_IPV6
                                 ? "%s://[%s]:%u/" : "%s://%s:%u/",
                             ctx->tls_certificate ? "https" : "http", host, cfg->http_port);
    load_web_files(h);
    log_info("HTTP server listening on %s (web files: %s)%s", h->url, h->web_dir,
             drift_guard_on(ctx->guard) ? "; logins required" : "");
    *ret = h;
    return 0;
}

void drift_http_free(struct drift_http *h)
{
    if (!h)
        return;
    /* Answers still owed belong to stream requests, which outlive us: they find no server. */
    for (guint i = 0; i < h->pending->len; i++) {
        struct drift_http_pending *p = h->pending->pdata[i];
        pending_detach(p);
        p->h = NULL;
    }
    g_ptr_array_unref(h->pending);
    if (h->server) {
        soup_server_disconnect(h->server);
        g_object_unref(h->server);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(static_files); i++)
        if (h->files[i])
            g_bytes_unref(h->files[i]);
    if (h->page)
        g_bytes_unref(h->page);
    g_free(h->page_error);
    g_free(h->web_dir);
    g_free(h->url);
    g_free(h);
}
