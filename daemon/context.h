/* struct context: everything driftd owns. One per process, touched only from the main thread
 * (generation threads talk to it through g_main_context_invoke and atomics).
 *
 * The context owns the streams, the jobs and the RTSP server, and is their host: streams and
 * jobs report to it through their callback tables (stream.h, jobs.h), and it passes what
 * changed on to ctx->emit. It does not know the bus: main.c connects the bus (bus.h), which
 * serves the context's objects and is the emitter. */
#ifndef DRIFT_DAEMON_CONTEXT_H
#define DRIFT_DAEMON_CONTEXT_H

#include <stdbool.h>

#include <gio/gio.h>
#include <glib.h>

#include "access_guard.h"
#include "config.h"
#include "emitter.h"
#include "jobs.h"
#include "notify.h"
#include "stream.h"

struct drift_rtsp_server;

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
    /* Users, tokens and failed logins of the RTSP and web servers (access_guard.h); the users
     * are replaced on reload. Thread-safe: RTSP checks run on the RTSP server's threads. */
    struct drift_guard *guard;
    /* RTSPS and HTTPS ([access] tls_certificate/tls_key, else the credentials tls.crt and
     * tls.key); NULL = plain. Read at start. */
    GTlsCertificate *tls_certificate;
    char *state_dir;           /* the one in use (fixed until restart) */

    /* D-Bus (bus.c's; the context does not touch them): the bus connection (may be NULL) and
     * private-socket peers, all serving the same objects. struct drift_bus_conn *. */
    GPtrArray *connections;
    int private_fd;
    guint private_watch;
    char *private_path;

    /* Where changes of streams, jobs and the manager are said (the bus in driftd). */
    struct drift_emitter emit;
    struct drift_stream_host stream_host;
    struct drift_jobs_host jobs_host;

    struct drift_rtsp_server *rtsp;
    /* WebRTC viewers of every stream (WHEP; webrtc_viewers.h): ended with their stream's
     * output, checked every second, freed first in context_done. */
    struct drift_viewers *viewers;
    GPtrArray *streams;        /* struct drift_stream *, in creation order */
    GPtrArray *stopping;       /* streams removed but whose thread has not finished yet */
    struct drift_jobs *jobs;
    struct drift_notify notify;

    /* The least seconds of work a frame of each model at one step was measured to cost here
     * (model path -> double *), for admission (admission.h). */
    GHashTable *frame_costs;

    bool shutting_down;
    int64_t shutdown_started;  /* g_get_monotonic_time() at SIGTERM */
    unsigned loads_pending;    /* streams still loading before READY=1 */
    unsigned loads_failed;     /* configured streams that failed to load at start */
    int exit_code;
    guint clients_timer, shutdown_timer;
};

/* Reads the configuration, prepares the state directory and binds the RTSP port. Returns 0 or
 * a negative errno with err set. */
int context_init(struct context *ctx, struct drift_error *err);
/* Starts the configured streams (READY=1 follows once their models are loaded), the jobs and
 * the timers; after the bus is connected and ctx->emit set. */
void context_start(struct context *ctx);
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

/* Admission of a live stream called name with settings beside the other active streams:
 * 0, or -EBUSY with err saying what runs and what it needs ([daemon] admission = strict and
 * the measured capacity cannot hold them all at one step per frame). */
int context_admit(struct context *ctx, const char *name, const struct drift_settings *settings,
                  struct drift_error *err);

/* Re-reads the configuration and applies it. Returns 0 or a negative errno with err set;
 * on error nothing changes. */
int context_reload(struct context *ctx, struct drift_error *err);

/* Starts an orderly stop: streams end, the loop quits (at the latest after 4 s). */
void context_shutdown(struct context *ctx);

#endif
