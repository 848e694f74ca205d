/* See bus_source.h. */
#include "bus_source.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>

struct bus_source {
    GSource source;
    sd_bus *bus;
    gpointer tag;
    GIOCondition polled; /* what the fd is polled for now */
    drift_bus_closed_fn closed;
    void *userdata;
    bool closed_called;
};

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static gboolean prepare(GSource *source, gint *timeout)
{
    struct bus_source *s = (struct bus_source *)source;
    int events = sd_bus_get_events(s->bus);
    GIOCondition wanted = events > 0 ? (GIOCondition)events : 0;
    /* Only on a change: g_source_modify_unix_fd wakes the main context up every time it is
     * called, so calling it from every prepare() turns the main loop into a busy loop. */
    if (wanted != s->polled) {
        g_source_modify_unix_fd(source, s->tag, wanted);
        s->polled = wanted;
    }
    uint64_t until = 0;
    *timeout = -1;
    if (sd_bus_get_timeout(s->bus, &until) > 0 && until != UINT64_MAX) {
        uint64_t now = now_usec();
        if (until <= now)
            return TRUE;
        uint64_t ms = (until - now + 999) / 1000;
        *timeout = ms > G_MAXINT ? G_MAXINT : (gint)ms;
    }
    return FALSE;
}

static gboolean check(GSource *source)
{
    struct bus_source *s = (struct bus_source *)source;
    if (g_source_query_unix_fd(source, s->tag))
        return TRUE;
    uint64_t until = 0;
    return sd_bus_get_timeout(s->bus, &until) > 0 && until != UINT64_MAX && until <= now_usec();
}

static gboolean dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    struct bus_source *s = (struct bus_source *)source;
    int r;
    /* Process until sd-bus has nothing more to do, but yield to other sources now and then. */
    for (int i = 0; i < 64; i++) {
        r = sd_bus_process(s->bus, NULL);
        if (r <= 0)
            break;
    }
    if ((r < 0 || !sd_bus_is_open(s->bus)) && !s->closed_called) {
        s->closed_called = true;
        if (s->closed)
            s->closed(s->bus, s->userdata);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void finalize(GSource *source)
{
    struct bus_source *s = (struct bus_source *)source;
    sd_bus_unref(s->bus);
}

static GSourceFuncs funcs = {
    .prepare = prepare,
    .check = check,
    .dispatch = dispatch,
    .finalize = finalize,
};

GSource *drift_bus_source_attach(sd_bus *bus, GMainContext *context, drift_bus_closed_fn closed,
                                 void *userdata)
{
    GSource *source = g_source_new(&funcs, sizeof(struct bus_source));
    struct bus_source *s = (struct bus_source *)source;
    s->bus = sd_bus_ref(bus);
    s->closed = closed;
    s->userdata = userdata;
    s->polled = G_IO_IN;
    s->tag = g_source_add_unix_fd(source, sd_bus_get_fd(bus), s->polled);
    g_source_set_name(source, "sd-bus");
    g_source_attach(source, context);
    return source;
}
