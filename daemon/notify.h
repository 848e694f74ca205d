/* Talking to systemd: READY=1 once the RTSP port is bound and the configured streams' models
 * are loaded, STATUS= every few seconds, WATCHDOG=1 only while every running stream's
 * generator made progress recently, RELOADING=1 and STOPPING=1. All no-ops outside systemd.
 * It reads the streams it is given and nothing else of the daemon. */
#ifndef DRIFT_DAEMON_NOTIFY_H
#define DRIFT_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

struct drift_notify {
    GPtrArray *streams;       /* struct drift_stream *, borrowed */
    int64_t started;          /* g_get_monotonic_time() at start, for the time to READY */
    bool ready;               /* READY=1 sent */
    guint status_timer, watchdog_timer;
    uint64_t watchdog_usec;
    bool watchdog_stalled;
    char *last_status;
};

/* Starts the STATUS= timer and, when WATCHDOG_USEC is set, the watchdog timer, both watching
 * streams (borrowed: it outlives drift_notify_stop). */
void drift_notify_start(struct drift_notify *n, GPtrArray *streams);
void drift_notify_stop(struct drift_notify *n);
/* READY=1 (once) with a status line. */
void drift_notify_ready(struct drift_notify *n);
void drift_notify_reloading(struct drift_notify *n);
void drift_notify_reloaded(struct drift_notify *n);
void drift_notify_stopping(struct drift_notify *n);
/* STATUS= with why the daemon fails. */
void drift_notify_failed(struct drift_notify *n, const char *why);
/* The status line of streams: "N of M streams running, K clients; live: 24 fps, 1.80x real
 * time, 2 clients; …" (transfer full). */
char *drift_notify_status_line(GPtrArray *streams);

#endif
