/* /stream/...: a stream's player page and WHEP (RFC 9725), the web server's door to the WebRTC
 * viewers (webrtc_viewers.h).
 *
 *   GET  /stream/NAME             the player page (web/player.html: plays NAME through WHEP)
 *   POST /stream/NAME/whep        an SDP offer (application/sdp) in; 201 with the answer and
 *                                 Location: /stream/NAME/whep/ID out
 *   DELETE /stream/NAME/whep/ID   the viewer leaves: 200
 *
 * Watching is reading (DRIFT_OP_READ: the view role may). The checks every request passes
 * (Host, Origin, login, body size) ran before (http.c). Not trickle ICE: the answer carries
 * every candidate, so PATCH on a session answers 405. */
#include <errno.h>
#include <string.h>

#include "context.h"
#include "errors.h"
#include "http.h"
#include "log.h"
#include "webrtc_viewers.h"

/* Whether the request's body says it is SDP; if not, answers 415. */
static bool is_sdp(SoupServerMessage *msg)
{
    SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
    const char *type = soup_message_headers_get_content_type(req, NULL);
    if (type && !g_ascii_strcasecmp(type, "application/sdp"))
        return true;
    drift_http_reply_error(msg, 415, DRIFT_ERROR_INVALID_ARGUMENT,
                           "Content-Type: '%.64s'; a WHEP offer is application/sdp",
                           type ? type : "(none)");
    return false;
}

/* The stream name's stream, running with an output to watch; else answers 404 or 409. */
static struct drift_stream *watchable(struct context *ctx, SoupServerMessage *msg,
                                      const char *name)
{
    struct drift_error err = { 0 };
    struct drift_stream *s = drift_ops_find_stream(ctx, name, &err);
    if (!s) {
        drift_http_reply_failure(msg, -ESRCH, err.message);
        return NULL;
    }
    if (s->state != DRIFT_STREAM_RUNNING || !s->served || !s->out) {
        drift_http_reply_error(msg, 409, DRIFT_ERROR_BUSY, "stream '%s' is %s: nothing to watch "
                               "until it runs (POST /api/streams/%s/start)", s->name,
                               drift_stream_state_name(s->state), s->name);
        return NULL;
    }
    return s;
}

static void offer(struct drift_http *h, SoupServerMessage *msg, const char *name)
{
    struct context *ctx = drift_http_context(h);
    if (!is_sdp(msg))
        return;
    struct drift_stream *s = watchable(ctx, msg, name);
    if (!s)
        return;
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
    gsize len;
    const char *sdp = g_bytes_get_data(bytes, &len);
    g_autofree char *id = NULL, *answer = NULL;
    struct drift_error err = { 0 };
    int r = drift_viewers_open(ctx->viewers, s->name, s->out, sdp, len, &id, &answer, &err);
    if (r == -EUSERS) {
        /* Full now, not wrong: the viewer may try again later (RFC 9725 §4.2). */
        soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                     "Retry-After", "10");
        drift_http_reply_error(msg, 503, DRIFT_ERROR_LIMIT, "%s", err.message);
        return;
    }
    if (r < 0) {
        if (r != -EINVAL)
            log_stream(LOG_WARNING, s->name, "WebRTC viewer refused: %s", err.message);
        drift_http_reply_failure(msg, r, err.message);
        return;
    }
    log_stream(LOG_INFO, s->name, "WebRTC viewer %.8s… joins (%s)", id,
               soup_server_message_get_remote_host(msg));
    g_autofree char *escaped = g_uri_escape_string(s->name, NULL, FALSE);
    g_autofree char *location = g_strdup_printf("/stream/%s/whep/%s", escaped, id);
    SoupMessageHeaders *resp = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(resp, "Location", location);
    soup_server_message_set_status(msg, 201, NULL);
    size_t n = strlen(answer);
    soup_server_message_set_response(msg, "application/sdp", SOUP_MEMORY_TAKE,
                                     g_steal_pointer(&answer), n);
    context_update_clients(ctx); /* Clients says so now, not at the next tick */
}

static void leave(struct drift_http *h, SoupServerMessage *msg, const char *name, const char *id)
{
    struct context *ctx = drift_http_context(h);
    if (drift_viewers_close(ctx->viewers, name, id) < 0) {
        drift_http_reply_error(msg, 404, DRIFT_ERROR_NOT_FOUND,
                               "no WebRTC session %.40s of stream '%.64s' (it ended already?)",
                               id, name);
        return;
    }
    log_stream(LOG_INFO, name, "WebRTC viewer %.8s… leaves", id);
    soup_server_message_set_status(msg, 200, NULL);
    context_update_clients(ctx);
}

void drift_http_stream_handle(struct drift_http *h, SoupServerMessage *msg, const char *method,
                              const char *rest)
{
    g_auto(GStrv) parts = g_strsplit(rest, "/", 4);
    guint n = g_strv_length(parts);
    struct context *ctx = drift_http_context(h);
    if (n == 1 && parts[0][0]) {
        if (!drift_http_allow(msg, method, "GET, HEAD") || !drift_http_permit(msg, DRIFT_OP_READ))
            return;
        struct drift_error err = { 0 };
        if (!drift_ops_find_stream(ctx, parts[0], &err))
            drift_http_reply_failure(msg, -ESRCH, err.message);
        else
            drift_http_serve_file(h, msg, "player.html");
    } else if (n == 2 && parts[0][0] && !strcmp(parts[1], "whep")) {
        if (drift_http_allow(msg, method, "POST") && drift_http_permit(msg, DRIFT_OP_READ))
            offer(h, msg, parts[0]);
    } else if (n == 3 && parts[0][0] && !strcmp(parts[1], "whep") && parts[2][0]) {
        if (drift_http_allow(msg, method, "DELETE") && drift_http_permit(msg, DRIFT_OP_READ))
            leave(h, msg, parts[0], parts[2]);
    } else {
        drift_http_reply_error(msg, 404, DRIFT_ERROR_NOT_FOUND, "no resource /stream/%.128s",
                               rest);
    }
}
