/* The web server's page of streams (GET /): the shipped template (daemon/web/index.html,
 * installed under DATADIR/drift/web) with a table row per stream put in at its marker. Every
 * text from the streams is HTML-escaped. */
#ifndef DRIFT_DAEMON_WEB_PAGE_H
#define DRIFT_DAEMON_WEB_PAGE_H

#include <stddef.h>

#include <drift/error.h>

/* Where the rows go, and the daemon's version, in the template. */
#define DRIFT_WEB_MARK_STREAMS "<!-- drift:streams -->"
#define DRIFT_WEB_MARK_VERSION "<!-- drift:version -->"

/* One stream as the page shows it (all borrowed). */
struct drift_web_stream_row {
    const char *name, *prompt;
    const char *state;   /* running, idle, loading, stopping, stopped, failed */
    double fps;
    const char *url;     /* rtsp://…; "" when not served */
};

/* Checks that tmpl (len bytes, any NULs refused) has each marker exactly once: 0, or -EINVAL
 * with err naming the marker. */
int drift_web_page_check(const char *tmpl, size_t len, struct drift_error *err);

/* The page: tmpl with the rows (or a row saying there are none) and version in place of the
 * markers. *ret is transfer full (g_free), untouched on failure; returns 0 or -EINVAL as
 * drift_web_page_check. */
int drift_web_page_render(const char *tmpl, size_t len, const struct drift_web_stream_row *rows,
                          size_t n, const char *version, char **ret, struct drift_error *err);

#endif
