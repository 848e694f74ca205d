/* What the web server accepts before it looks at a request, as pure functions (http.c applies
 * them; tests/daemon/test_http_rules.c specifies them).
 *
 * Without access control the server listens on loopback only, which a browser on this machine
 * can still be made to reach by another site: by DNS rebinding (a name of the other site's that
 * resolves to 127.0.0.1, sent as Host) and by cross-site requests (a form or script of the other
 * site posting to 127.0.0.1, sent with that site's Origin). So a request must name this machine
 * in Host, and a request that changes something and carries an Origin must come from the
 * origin it is sent to. */
#ifndef DRIFT_DAEMON_HTTP_RULES_H
#define DRIFT_DAEMON_HTTP_RULES_H

#include <stdbool.h>

/* Request bodies (the API's JSON) larger than this are refused with 413. */
#define DRIFT_HTTP_BODY_MAX (64 * 1024)

/* Whether a Host header names this machine: an IP address literal (IPv6 in brackets) or
 * "localhost", with an optional :PORT. NULL (HTTP/1.0 without Host) is accepted. */
bool drift_http_host_allowed(const char *host);

/* Whether a request with this Origin header (NULL: none, as from curl or a script) may change
 * something at host (the request's Host header): no Origin, or one whose host and port are
 * host's. "null" (an opaque origin) is refused. */
bool drift_http_origin_allowed(const char *origin, const char *host);

#endif
