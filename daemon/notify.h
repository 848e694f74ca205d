/* Talking to systemd: READY=1 once the RTSP port is bound and the configured streams' models
 * are loaded, STATUS= every few seconds, WATCHDOG=1 only while every running stream's
 * generator made progress recently, RELOADING=1 and STOPPING=1. All no-ops outside systemd. */
#ifndef DRIFT_DAEMON_NOTIFY_H
#define DRIFT_DAEMON_NOTIFY_H

struct context;

/* Starts the STATUS= timer and, when WATCHDOG_USEC is set, the watchdog timer. */
void drift_notify_start(struct context *ctx);
void drift_notify_stop(struct context *ctx);
/* READY=1 (once) with a status line. */
void drift_notify_ready(struct context *ctx);
void drift_notify_reloading(struct context *ctx);
void drift_notify_reloaded(struct context *ctx);
void drift_notify_stopping(struct context *ctx);
/* The status line: "N streams, M clients; live: 24 fps, 1.80x real time, 2 clients; …"
 * (transfer full). */
char *drift_notify_status_line(struct context *ctx);

#endif
