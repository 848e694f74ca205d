/* The WebRTC viewers of every stream; see webrtc_viewers.h. */
#include "webrtc_viewers.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <glib.h>

#include <drift/media/webrtc_session.h>

#include "log.h"

struct viewer {
    char *id;
    char *stream;
    struct drift_webrtc_session *session;
};

struct drift_viewers {
    unsigned max;
    GPtrArray *list; /* struct viewer *, owned */
};

static void viewer_free(void *data)
{
    struct viewer *w = data;
    drift_webrtc_session_free(w->session);
    g_free(w->id);
    g_free(w->stream);
    g_free(w);
}

struct drift_viewers *drift_viewers_new(unsigned max)
{
    struct drift_viewers *v = g_new0(struct drift_viewers, 1);
    v->max = max;
    v->list = g_ptr_array_new_with_free_func(viewer_free);
    return v;
}

void drift_viewers_free(struct drift_viewers *v)
{
    if (!v)
        return;
    g_ptr_array_unref(v->list);
    g_free(v);
}

/* The id is all a DELETE needs to end a session: unguessable, like a bearer token. */
static int new_id(char **ret, struct drift_error *err)
{
    guint8 bytes[16];
    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
        return drift_error_set(err, -EIO, "getrandom: %s", g_strerror(errno));
    GString *s = g_string_sized_new(2 * sizeof(bytes));
    for (size_t i = 0; i < sizeof(bytes); i++)
        g_string_append_printf(s, "%02x", bytes[i]);
    *ret = g_string_free(s, FALSE);
    return 0;
}

int drift_viewers_open(struct drift_viewers *v, const char *stream, struct drift_stream_output *out,
                       const char *sdp, size_t len, char **ret_id, char **ret_answer,
                       struct drift_error *err)
{
    if (v->list->len >= v->max)
        return drift_error_set(err, -EUSERS, "%u WebRTC viewers watch already; allowed: %u "
                               "([http] webrtc_sessions)", v->list->len, v->max);
    g_autofree char *id = NULL;
    int r = new_id(&id, err);
    if (r < 0)
        return r;
    struct drift_webrtc_session *session;
    char *answer;
    r = drift_webrtc_session_init(&session, &answer, out, sdp, len, 0, err);
    if (r < 0)
        return r;
    struct viewer *w = g_new0(struct viewer, 1);
    w->id = g_strdup(id);
    w->stream = g_strdup(stream);
    w->session = session;
    g_ptr_array_add(v->list, w);
    *ret_id = g_steal_pointer(&id);
    *ret_answer = answer;
    return 0;
}

int drift_viewers_close(struct drift_viewers *v, const char *stream, const char *id)
{
    for (guint i = 0; i < v->list->len; i++) {
        struct viewer *w = v->list->pdata[i];
        if (!strcmp(w->id, id) && !strcmp(w->stream, stream)) {
            g_ptr_array_remove_index(v->list, i);
            return 0;
        }
    }
    return -ENOENT;
}

void drift_viewers_end_stream(struct drift_viewers *v, const char *stream)
{
    for (guint i = v->list->len; i-- > 0;) {
        struct viewer *w = v->list->pdata[i];
        if (!strcmp(w->stream, stream)) {
            log_stream(LOG_INFO, stream, "WebRTC viewer %.8s… ends: the stream stops", w->id);
            g_ptr_array_remove_index(v->list, i);
        }
    }
}

void drift_viewers_check(struct drift_viewers *v)
{
    for (guint i = v->list->len; i-- > 0;) {
        struct viewer *w = v->list->pdata[i];
        struct drift_error err = { 0 };
        if (drift_webrtc_session_check(w->session, &err) == 0)
            continue;
        log_stream(LOG_INFO, w->stream, "WebRTC viewer %.8s… ends: %s", w->id, err.message);
        g_ptr_array_remove_index(v->list, i);
    }
}

unsigned drift_viewers_count(const struct drift_viewers *v, const char *stream)
{
    if (!v)
        return 0;
    unsigned n = 0;
    for (guint i = 0; i < v->list->len; i++) {
        const struct viewer *w = v->list->pdata[i];
        n += !stream || !strcmp(w->stream, stream);
    }
    return n;
}

unsigned drift_viewers_max(const struct drift_viewers *v)
{
    return v->max;
}
