/* driftd's web server (DESIGN.md "Web"): libsoup 3 on the daemon's GLib main loop, at [http]
 * address and port (port 0: none).
 *
 *   GET /                the streams, a page made from the shipped template (web_page.h)
 *   GET /static/NAME     the shipped files the pages use (a fixed list; nothing else on disk)
 *   /api, /api/...       JSON over the objects of the D-Bus API (http_api.c, docs/WEB.md)
 *   GET /metrics         the Prometheus text format (http_metrics.c)
 *   GET /stream/NAME     a page that plays NAME over WebRTC and steers it (http_whep.c)
 *   /stream/NAME/whep    WHEP: POST an SDP offer, DELETE the session's Location (http_whep.c)
 *
 * Every request is checked first (http_rules.h): Host must name this machine (unless users are
 * configured), a change must not come from another site's page, a body may not exceed
 * DRIFT_HTTP_BODY_MAX (413, read no further than needed). With users configured
 * (docs/ACCESS.md) it must then say who sends it, by HTTP Basic or a bearer token from
 * POST /api/login: 401 with WWW-Authenticate otherwise, 429 from an address refused for its
 * failed logins; and its user's role must reach the operation's (ops.h drift_op_rule): 403. Unknown paths answer 404, known paths with other methods 405 with
 * Allow; API errors are JSON {"error": "org.drift1.Error.…", "message": …}.
 *
 * Like the bus it is a front end: main.c starts it once the context is up; it serves the
 * context's objects through the operations of ops.h, and nothing below includes it. Main thread
 * only. */
#ifndef DRIFT_DAEMON_HTTP_H
#define DRIFT_DAEMON_HTTP_H

#include <stdbool.h>

#include <jansson.h>
#include <libsoup/soup.h>

#include <drift/error.h>

#include "ops.h"

struct context;
struct drift_http;

/* Serves ctx's objects when ctx->config->http_port is not 0 (then *ret is the server, transfer
 * full: drift_http_free; else NULL). The address must be loopback unless users are configured
 * (driftd_config_check); with ctx->tls_certificate it serves HTTPS only. An address that cannot
 * be bound is an error naming [http]. The shipped web files are read from
 * drift_web_dir() now: a missing or broken one is a warning, and its page answers 500 saying
 * which file. Returns 0 or a negative errno with err set. */
int drift_http_start(struct context *ctx, struct drift_http **ret, struct drift_error *err);
/* Closes the listening socket and every connection; requests still waiting for a stream's
 * answer are dropped. NULL is fine. */
void drift_http_free(struct drift_http *h);
/* http://ADDRESS:PORT/ as bound (transfer none). */
const char *drift_http_url(const struct drift_http *h);

/* For http_api.c and http_metrics.c. */
struct context *drift_http_context(struct drift_http *h);
/* Answers msg with status and body (stolen) as JSON. */
void drift_http_reply_json(SoupServerMessage *msg, unsigned status, json_t *body);
/* Answers msg with {"error": name, "message": …} and status. */
void drift_http_reply_error(SoupServerMessage *msg, unsigned status, const char *name,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Answers msg with the error of an operation: a negative errno and its message, named and given
 * a status as errors.h says. */
void drift_http_reply_failure(SoupServerMessage *msg, int code, const char *message);
/* Whether the sender of msg may do op (always, with no users configured); if not, answers 403
 * with org.drift1.Error.AccessDenied naming the user, their role and the role op needs. */
bool drift_http_permit(SoupServerMessage *msg, enum drift_op op);
/* The role of msg's sender (DRIFT_ROLE_ADMIN with no users configured). */
enum drift_role drift_http_role(SoupServerMessage *msg);
/* Who sent msg (transfer none; NULL with no users configured) and how: "basic" or "bearer";
 * *ret_token (may be NULL) gets the bearer token (transfer none) of a "bearer" request. */
const char *drift_http_user(SoupServerMessage *msg, const char **ret_method,
                            const char **ret_token);

/* Whether method is one of allowed ("GET", "GET, POST", …); if not, answers 405 with Allow. */
bool drift_http_allow(SoupServerMessage *msg, const char *method, const char *allowed);

/* An answer that may wait for a stream (Set applies between two frames, and answers then, or
 * at once when the stream does not generate). Reference counted: the handler holds one, the
 * stream's request another (drift_http_pending_unref is its GDestroyNotify).
 *   p = drift_http_pending_new(h, msg, name);
 *   r = drift_ops_set(…, answer, drift_http_pending_ref(p), drift_http_pending_unref, &err);
 *   r < 0 ? drift_http_reply_failure(msg, …) : drift_http_pending_wait(p);
 *   drift_http_pending_unref(p);
 * answer() sets the response on drift_http_pending_message(p) (NULL: nobody waits any more, the
 * client left or the server went) and calls drift_http_pending_answered(p). */
struct drift_http_pending;
/* name: the object the answer is about (copied). Transfer full. */
struct drift_http_pending *drift_http_pending_new(struct drift_http *h, SoupServerMessage *msg,
                                                  const char *name);
struct drift_http_pending *drift_http_pending_ref(struct drift_http_pending *p);
/* The last reference of a request that was paused and never answered answers 500. */
void drift_http_pending_unref(void *p);
SoupServerMessage *drift_http_pending_message(struct drift_http_pending *p);
const char *drift_http_pending_name(struct drift_http_pending *p);
struct drift_http *drift_http_pending_server(struct drift_http_pending *p);
/* Not answered yet: the request waits (paused) for drift_http_pending_answered. */
void drift_http_pending_wait(struct drift_http_pending *p);
/* The response is set: it goes out (now, or once the handler returns). */
void drift_http_pending_answered(struct drift_http_pending *p);

/* The API (http_api.c): answers every request under /api. path is the decoded path. */
void drift_http_api_handle(struct drift_http *h, SoupServerMessage *msg, const char *method,
                           const char *path);
/* /stream/... (http_whep.c): the player page of a stream and WHEP. rest: the path after
 * "/stream/". */
void drift_http_stream_handle(struct drift_http *h, SoupServerMessage *msg, const char *method,
                              const char *rest);
/* Answers msg with the shipped file name (one of the fixed list; 404 otherwise). */
void drift_http_serve_file(struct drift_http *h, SoupServerMessage *msg, const char *name);
/* The metrics page (http_metrics.c): transfer full; NULL with err set on a bug in the names. */
char *drift_http_metrics(struct context *ctx, size_t *ret_size, struct drift_error *err);

#endif
