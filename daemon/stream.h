/* A live stream: a video generator (and optionally an audio generator) on its own thread,
 * pushing frames and PCM into a live media output that the RTSP server serves at /NAME.
 *
 * The main thread owns the object and its settings; the generation thread owns the generators.
 * They meet in three places, all under s->lock: the request queue (changes for the generator,
 * answered asynchronously), the event queue (loaded, request done, stopped) and the counters. */
#ifndef DRIFT_DAEMON_STREAM_H
#define DRIFT_DAEMON_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <systemd/sd-bus.h>

#include <drift/error.h>

#include "settings.h"

struct context;
struct drift_stream_output;

enum drift_stream_state {
    DRIFT_STREAM_STOPPED,
    DRIFT_STREAM_LOADING,  /* the thread loads models and opens the output */
    DRIFT_STREAM_RUNNING,
    DRIFT_STREAM_STOPPING, /* asked to stop; the thread finishes its frame */
    DRIFT_STREAM_FAILED,   /* loading or generating failed; see error */
};

/* What the generation thread reports; read under lock. */
struct drift_stream_live {
    uint64_t frames;             /* frames generated */
    uint64_t audio_chunks;
    uint64_t last_progress_usec; /* CLOCK_MONOTONIC of the last frame (or of the start) */
    double realtime_factor;      /* generated seconds per second of generation work */
    unsigned steps;              /* steps in use now (lowered when behind) */
    unsigned model_steps;        /* the model's default */
    uint64_t steps_lowered;      /* times the policy lowered steps to keep up */
    bool degraded;               /* running with fewer steps than asked */
    int width, height;           /* the model's native frame size */
    double model_fps;
    int sample_rate;
};

struct drift_stream {
    gint ref;
    struct context *ctx;
    char *name, *path, *url;
    struct drift_settings settings; /* as asked (main thread) */
    enum drift_stream_state state;
    char *error;                    /* why it failed, "" when it did not */
    bool from_config;               /* a [stream.NAME] section made it (reload may remove it) */
    bool restart_pending;           /* start again once stopped */
    bool removed;                   /* gone from the bus; free once the thread ended */
    bool served;                    /* added to the RTSP server */
    bool test_stall;                /* test-only: the generator hangs after a few frames */

    GThread *thread;
    struct drift_settings thread_settings; /* handed to the thread when it starts */
    gint stop;
    struct drift_stream_output *out;

    GMutex lock;
    GQueue requests;                /* struct drift_stream_request *, main -> thread */
    GQueue events;                  /* struct drift_stream_event *, thread -> main */
    struct drift_stream_live live;

    /* Last values sent with PropertiesChanged. */
    unsigned clients_sent;
};

/* Creates a stopped stream (settings are copied). */
struct drift_stream *drift_stream_new(struct context *ctx, const char *name,
                                      const struct drift_settings *settings);
struct drift_stream *drift_stream_ref(struct drift_stream *s);
void drift_stream_unref(struct drift_stream *s);

/* Starts the generation thread (stopped or failed streams; a stopping one starts again once
 * stopped). Returns 0 or -EBUSY (already loading or running). */
int drift_stream_start(struct drift_stream *s);
/* Asks the thread to stop and stops serving. Returns 0, or -EALREADY when not running. */
int drift_stream_stop(struct drift_stream *s);
bool drift_stream_active(const struct drift_stream *s);

/* Applies new settings: live keys go to the generator between two frames; model, size, rate
 * or audio changes restart the stream. When reply_to is not NULL the method call is answered
 * once the generator accepted or rejected the change (asynchronously). Returns 0 (a reply will
 * follow or was sent) or a negative errno with err set (nothing changed, caller replies). */
int drift_stream_apply(struct drift_stream *s, const struct drift_settings *next,
                       sd_bus_message *reply_to, struct drift_error *err);

/* Main thread: handles what the generation thread reported. */
void drift_stream_dispatch_events(struct drift_stream *s);

/* A consistent copy of the live counters. */
void drift_stream_get_live(struct drift_stream *s, struct drift_stream_live *ret);
unsigned drift_stream_clients(struct drift_stream *s);
/* The output's repeat and drop counters (0 when not running). */
void drift_stream_media_counters(struct drift_stream *s, uint64_t *ret_repeated,
                                 uint64_t *ret_dropped);

const char *drift_stream_state_name(enum drift_stream_state state);

/* The thread's body (stream_thread.c). */
gpointer drift_stream_thread(gpointer data);

/* Request and event records shared by stream.c and stream_thread.c. */
struct drift_stream_request {
    struct drift_settings settings; /* the complete settings to run with */
    bool prompt_only;
    sd_bus_message *reply_to;       /* may be NULL */
    int result;
    struct drift_error err;
};

enum drift_stream_event_kind {
    DRIFT_EVENT_LOADED,      /* result 0, or failed with message */
    DRIFT_EVENT_REQUEST,     /* a request was applied or refused */
    DRIFT_EVENT_FAILED,      /* generation failed while running */
    DRIFT_EVENT_STOPPED,     /* the thread is about to return */
};

struct drift_stream_event {
    enum drift_stream_event_kind kind;
    int result;
    char *message;
    struct drift_stream_output *out;           /* LOADED */
    struct drift_stream_request *request;      /* REQUEST */
};

void drift_stream_request_free(struct drift_stream_request *req);
/* Thread side: queue an event and wake the main thread. */
void drift_stream_post(struct drift_stream *s, struct drift_stream_event *ev);

#endif
