/* struct context: everything driftd owns. One per process, touched only from the main thread
 * (generation threads talk to it through g_main_context_invoke and atomics). */
#ifndef DRIFT_DAEMON_CONTEXT_H
#define DRIFT_DAEMON_CONTEXT_H

#include <stdbool.h>

#include <glib.h>
#include <systemd/sd-bus.h>

#include "config.h"

struct drift_rtsp_server;
struct drift_stream;

enum drift_bus_kind {
    DRIFT_BUS_AUTO,   /* system bus as root, user bus otherwise */
    DRIFT_BUS_SYSTEM,
    DRIFT_BUS_USER,
    DRIFT_BUS_NONE,   /* private socket only */
};

struct context {
    GMainLoop *loop;
    GMainContext *main_context;

    /* Options. */
    char *config_path;
    bool config_optional;      /* the default path may be missing */
    enum drift_bus_kind bus_kind;
    char *state_dir_option;    /* --state-dir, wins over the configuration */

    struct driftd_config *config;
    char *state_dir;           /* the one in use (fixed until restart) */

    /* D-Bus: the bus connection (may be NULL) and private-socket peers, all serving the same
     * objects. struct drift_bus_conn *. */
    GPtrArray *connections;
    int private_fd;
    guint private_watch;
    char *private_path;

    struct drift_rtsp_server *rtsp;
    GPtrArray *streams;        /* struct drift_stream *, in creation order */
    GPtrArray *stopping;       /* streams removed but whose thread has not finished yet */
    GPtrArray *jobs;           /* struct drift_job * (jobs.h), oldest first */
    guint jobs_timer, retention_timer;
    gint live_behind;          /* a live stream is behind real time: renders wait (atomic) */

    bool ready;                /* READY=1 sent */
    int64_t started;           /* g_get_monotonic_time() at start, for the time to READY */
    bool shutting_down;
    int64_t shutdown_started;  /* g_get_monotonic_time() at SIGTERM */
    unsigned loads_pending;    /* streams still loading before READY=1 */
    unsigned loads_failed;     /* configured streams that failed to load at start */
    int exit_code;
    guint status_timer, watchdog_timer, shutdown_timer;
    uint64_t watchdog_usec;
    bool watchdog_stalled;
    char *last_status;
};

/* Reads the configuration, binds the RTSP port, connects to D-Bus and starts the configured
 * streams (READY=1 follows once their models are loaded). Returns 0 or a negative errno with
 * err set. */
int context_init(struct context *ctx, struct drift_error *err);
/* Frees what context_init made; after the main loop ended. */
void context_done(struct context *ctx);

/* Helpers the bus and stream code share. */
struct drift_stream *context_find_stream(struct context *ctx, const char *name);
struct drift_stream *context_find_stream_by_path(struct context *ctx, const char *path);

/* Adds a stopped stream (settings copied) and announces it; the caller checked the name. */
struct drift_stream *context_add_stream(struct context *ctx, const char *name,
                                        const struct drift_settings *settings, bool from_config);
/* Stops a stream, stops serving it and removes it from the bus at once. */
void context_remove_stream(struct context *ctx, const char *name);
int context_rtsp_port(struct context *ctx);
/* Emits Clients for streams whose client count changed (polled: the server counts). */
void context_update_clients(struct context *ctx);

/* Called when a stream finished loading (or failed to) and when one stopped. */
void context_stream_loaded(struct context *ctx, struct drift_stream *s);
void context_stream_stopped(struct context *ctx, struct drift_stream *s);

/* Re-reads the configuration and applies it. Returns 0 or a negative errno with err set;
 * on error nothing changes. */
int context_reload(struct context *ctx, struct drift_error *err);

/* During shutdown: quits the loop once no stream or job thread is left. */
void context_check_stopped(struct context *ctx);

/* Starts an orderly stop: streams end, the loop quits (at the latest after 4 s). */
void context_shutdown(struct context *ctx);

#endif
