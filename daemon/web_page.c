/* See web_page.h. */
#include "web_page.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

static const char *find(const char *hay, size_t len, const char *needle)
{
    return g_strstr_len(hay, (gssize)len, needle);
}

int drift_web_page_check(const char *tmpl, size_t len, struct drift_error *err)
{
    if (memchr(tmpl, '\0', len))
        return drift_error_set(err, -EINVAL, "page template: contains a NUL byte");
    const char *marks[] = { DRIFT_WEB_MARK_STREAMS, DRIFT_WEB_MARK_VERSION };
    for (size_t i = 0; i < G_N_ELEMENTS(marks); i++) {
        const char *at = find(tmpl, len, marks[i]);
        if (!at)
            return drift_error_set(err, -EINVAL, "page template: no %s", marks[i]);
        size_t past = (size_t)(at - tmpl) + strlen(marks[i]);
        if (find(at + strlen(marks[i]), len - past, marks[i]))
            return drift_error_set(err, -EINVAL, "page template: %s more than once", marks[i]);
    }
    return 0;
}

static void append_escaped(GString *out, const char *text)
{
    g_autofree char *e = g_markup_escape_text(text ? text : "", -1);
    g_string_append(out, e);
}

static void append_rows(GString *out, const struct drift_web_stream_row *rows, size_t n)
{
    if (n == 0)
        g_string_append(out, "<tr><td colspan=\"5\">no streams</td></tr>\n");
    for (size_t i = 0; i < n; i++) {
        const struct drift_web_stream_row *r = &rows[i];
        char fps[G_ASCII_DTOSTR_BUF_SIZE];
        /* The name links to the stream's player page (WebRTC, http_whep.c). */
        g_autofree char *path = g_uri_escape_string(r->name ? r->name : "", NULL, FALSE);
        g_string_append(out, "<tr><td class=\"name\"><a href=\"/stream/");
        append_escaped(out, path);
        g_string_append(out, "\">");
        append_escaped(out, r->name);
        g_string_append(out, "</a></td><td class=\"prompt\">");
        append_escaped(out, r->prompt);
        g_string_append(out, "</td><td class=\"state\">");
        append_escaped(out, r->state);
        g_string_append_printf(out, "</td><td class=\"fps\">%s</td><td class=\"url\">",
                               g_ascii_formatd(fps, sizeof fps, "%g", r->fps));
        if (r->url && r->url[0]) {
            g_string_append(out, "<a href=\"");
            append_escaped(out, r->url);
            g_string_append(out, "\">");
            append_escaped(out, r->url);
            g_string_append(out, "</a>");
        } else {
            g_string_append(out, "-");
        }
        g_string_append(out, "</td></tr>\n");
    }
}

int drift_web_page_render(const char *tmpl, size_t len, const struct drift_web_stream_row *rows,
                          size_t n, const char *version, char **ret, struct drift_error *err)
{
    int r = drift_web_page_check(tmpl, len, err);
    if (r < 0)
        return r;
    GString *out = g_string_sized_new(len + 256 * n);
    const char *p = tmpl, *end = tmpl + len;
    while (p < end) {
        const char *s = find(p, (size_t)(end - p), DRIFT_WEB_MARK_STREAMS);
        const char *v = find(p, (size_t)(end - p), DRIFT_WEB_MARK_VERSION);
        const char *next = s && (!v || s < v) ? s : v;
        if (!next) {
            g_string_append_len(out, p, end - p);
            break;
        }
        g_string_append_len(out, p, next - p);
        if (next == s) {
            append_rows(out, rows, n);
            p = s + strlen(DRIFT_WEB_MARK_STREAMS);
        } else {
            append_escaped(out, version);
            p = v + strlen(DRIFT_WEB_MARK_VERSION);
        }
    }
    *ret = g_string_free(out, FALSE);
    return 0;
}
