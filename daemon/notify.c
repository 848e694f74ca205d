/* See notify.h. */
#include "notify.h"

#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "stream.h"

char *drift_notify_status_line(GPtrArray *streams)
{
    GString *detail = g_string_new(NULL);
    unsigned running = 0, clients = 0;
    for (guint i = 0; i < streams->len; i++) {
        struct drift_stream *s = streams->pdata[i];
        struct drift_stream_live live;
        drift_stream_get_live(s, &live);
        unsigned c = drift_stream_clients(s);
        g_string_append_printf(detail, "; %s: ", s->name);
        if (s->state == DRIFT_STREAM_RUNNING) {
            running++;
            clients += c;
            if (live.idle)
                g_string_append_printf(detail, "%g fps, idle, %u client%s", s->settings.fps, c,
                                       c == 1 ? "" : "s");
            else
                g_string_append_printf(detail, "%g fps, %.2fx real time%s, %u client%s",
                                       s->settings.fps, live.realtime_factor,
                                       live.degraded ? " (degraded)" : "", c, c == 1 ? "" : "s");
        } else {
            g_string_append(detail, drift_stream_state_name(s->state));
        }
    }
    char *line = g_strdup_printf("%u of %u stream%s running, %u client%s%s", running,
                                 streams->len, streams->len == 1 ? "" : "s", clients,
                                 clients == 1 ? "" : "s", detail->str);
    g_string_free(detail, TRUE);
    return line;
}

static gboolean on_status(gpointer data)
{
    struct drift_notify *n = data;
    char *line = drift_notify_status_line(n->streams);
    if (g_strcmp0(line, n->last_status)) {
        sd_notifyf(0, "STATUS=%s", line);
        g_free(n->last_status);
        n->last_status = line;
    } else {
        g_free(line);
    }
    return G_SOURCE_CONTINUE;
}

/* The generation threads stamp their progress; this timer pings only while all running
 * streams stamped within one watchdog period, so one stuck generator stops the pings and
 * systemd restarts the daemon. A stall of the main loop stops them as well. */
static gboolean on_watchdog(gpointer data)
{
    struct drift_notify *n = data;
    uint64_t now = (uint64_t)g_get_monotonic_time();
    for (guint i = 0; i < n->streams->len; i++) {
        struct drift_stream *s = n->streams->pdata[i];
        if (drift_stream_stalled(s, now, n->watchdog_usec)) {
            if (!n->watchdog_stalled)
                log_stream(LOG_ERR, s->name, "no frame for over %.1f s: generator stalled, "
                           "not pinging the watchdog", (double)n->watchdog_usec / 1e6);
            n->watchdog_stalled = true;
            return G_SOURCE_CONTINUE;
        }
    }
    n->watchdog_stalled = false;
    sd_notify(0, "WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

void drift_notify_start(struct drift_notify *n, GPtrArray *streams)
{
    uint64_t usec = 0;
    n->streams = streams;
    n->status_timer = g_timeout_add(1000, on_status, n);
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        n->watchdog_usec = usec;
        n->watchdog_timer = g_timeout_add(MAX(usec / 4000, 10), on_watchdog, n);
        log_info("watchdog: %.1f s", (double)usec / 1e6);
    }
}

void drift_notify_stop(struct drift_notify *n)
{
    if (n->status_timer)
        g_source_remove(n->status_timer);
    if (n->watchdog_timer)
        g_source_remove(n->watchdog_timer);
    n->status_timer = n->watchdog_timer = 0;
    g_free(n->last_status);
    n->last_status = NULL;
}

void drift_notify_ready(struct drift_notify *n)
{
    if (n->ready)
        return;
    n->ready = true;
    g_autofree char *line = drift_notify_status_line(n->streams);
    sd_notifyf(0, "READY=1\nSTATUS=%s", line);
    log_info("ready after %.3f s: %s", (double)(g_get_monotonic_time() - n->started) / 1e6,
             line);
}

void drift_notify_reloading(struct drift_notify *n)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void drift_notify_reloaded(struct drift_notify *n)
{
    g_autofree char *line = drift_notify_status_line(n->streams);
    sd_notifyf(0, "READY=1\nSTATUS=%s", line);
}

void drift_notify_stopping(struct drift_notify *n)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void drift_notify_failed(struct drift_notify *n, const char *why)
{
    sd_notifyf(0, "STATUS=failed: %s", why);
}
