/* A live stream: a video generator (and optionally an audio generator) on its own thread,
 * pushing frames and PCM into a live output that is served at /NAME.
 *
 * The main thread owns the object and its settings; the generation thread owns the generators.
 * They meet in three places, all under s->lock: the request queue (changes for the generator,
 * answered asynchronously), the event queue (loaded, request done, warning, stopped) and the
 * counters.
 *
 * A stream knows neither the bus nor the RTSP server nor the engine: it reports through its
 * host (struct drift_stream_host: property changes, loaded, stopped, serve) and generates through
 * a backend (struct drift_stream_backend: the engine and the media layer in driftd, see
 * stream_engine.c). The unit tests give it fakes of both. */
#ifndef DRIFT_DAEMON_STREAM_H
#define DRIFT_DAEMON_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include <drift/error.h>

#include "emitter.h"
#include "settings.h"

struct drift_stream;
struct drift_stream_output; /* what the backend pushes into and the host serves (opaque here) */
struct drift_stream_gen;    /* a backend's generators, owned by the stream's thread */

enum drift_stream_state {
    DRIFT_STREAM_STOPPED,
    DRIFT_STREAM_LOADING,  /* the thread loads models and opens the output */
    DRIFT_STREAM_RUNNING,
    DRIFT_STREAM_STOPPING, /* asked to stop; the thread finishes its frame */
    DRIFT_STREAM_FAILED,   /* loading or generating failed; see error */
};

/* What a backend opened, as the generation loop needs it. */
struct drift_stream_gen_info {
    int width, height;        /* the model's native frame size */
    double model_fps;
    unsigned default_steps;   /* the model's */
    unsigned commit_evals;    /* evaluations a frame adds to its steps' (the model's commit) */
    int sample_rate;          /* 0: no audio */
    int fps_num, fps_den;     /* the frame rate in use */
};

/* What a stream generates with and pushes into. check and the output_ functions run on the main
 * thread, the others on the stream's thread. Every function returning int returns 0 or a
 * negative errno with err set. */
struct drift_stream_backend {
    /* Checks the model files of next that differ from cur (all when cur is NULL) before anything
     * stops: -ENOEXEC with err naming the key and the file. */
    int (*check)(const struct drift_settings *next, const struct drift_settings *cur,
                 struct drift_error *err);
    /* Loads the generators for s and opens the live output. *ret_warning (transfer full, may
     * stay NULL) says what runs degraded, e.g. no audio. Nothing is left open on failure. */
    int (*open)(const struct drift_settings *s, const char *name, struct drift_stream_gen **ret,
                struct drift_stream_output **ret_out, struct drift_stream_gen_info *ret_info,
                char **ret_warning, struct drift_error *err);
    /* Takes new live settings: the prompt only, or every live key with steps per frame. */
    int (*update)(struct drift_stream_gen *g, const struct drift_settings *s, unsigned steps,
                  bool prompt_only, struct drift_error *err);
    /* Generates frame index and the audio up to its end and pushes them into the output; may
     * block while the output is full. *ret_work: the seconds spent generating (not waiting). */
    int (*frame)(struct drift_stream_gen *g, int64_t index, double *ret_work,
                 struct drift_error *err);
    /* Frames the output has repeated so far because none was ready in time. */
    uint64_t (*repeated)(struct drift_stream_gen *g);
    /* The share of the work of the frames since the last call that does not grow with the steps
     * (decoding, conversion: all but the model's evaluations), in [0, 1]; negative when there is
     * nothing to tell. May be NULL: the loop then takes the work as proportional to the steps. */
    double (*fixed_share)(struct drift_stream_gen *g);
    /* Audio chunks generated so far, and those that came after their time (a gap); may be
     * NULL (no audio). */
    void (*audio_counters)(struct drift_stream_gen *g, uint64_t *ret_chunks, uint64_t *ret_late);
    /* The video model's evaluations so far: computed, and served by a step-level cache instead
     * (the engine's counters). May be NULL (not counted). */
    void (*eval_counters)(struct drift_stream_gen *g, uint64_t *ret_run, uint64_t *ret_skipped);
    /* Whether somebody watches the output (an RTSP media, a file writer, a publisher is
     * attached), waiting up to timeout_usec for one when nobody does (0: do not wait). NULL:
     * always watched, so the stream never idles. */
    bool (*watched)(struct drift_stream_gen *g, int64_t timeout_usec);
    /* Generation pauses (idle) or resumes: the backend quiets what runs beside the loop (the
     * audio thread). May be NULL. */
    void (*set_idle)(struct drift_stream_gen *g, bool idle);
    /* Frees the generators; the output stays (the main thread frees it once unserved). */
    void (*close)(struct drift_stream_gen *g);
    void (*output_counters)(struct drift_stream_output *out, uint64_t *ret_repeated,
                            uint64_t *ret_dropped);
    void (*output_free)(struct drift_stream_output *out);
};

/* Where a stream reports; the context in driftd. Called on the main thread. */
struct drift_stream_host {
    const struct drift_stream_backend *backend;
    const struct drift_emitter *emit;   /* property changes; may be NULL */
    GMainContext *main_context;         /* where the thread's events are handled */
    uint64_t pace_window_usec;          /* realtime factor measured over this; 0 = 2 s */
    /* The thread finished loading: the stream is running, stopping or failed now. */
    void (*loaded)(void *userdata, struct drift_stream *s);
    /* The thread ended: the stream is stopped or failed now. */
    void (*stopped)(void *userdata, struct drift_stream *s);
    /* Serves out at the stream's name: 0 and the URL (transfer full), or a negative errno with
     * err set. */
    int (*serve)(void *userdata, struct drift_stream *s, struct drift_stream_output *out,
                 char **ret_url, struct drift_error *err);
    void (*unserve)(void *userdata, struct drift_stream *s);
    unsigned (*clients)(void *userdata, struct drift_stream *s);
    void *userdata;
};

/* What the generation thread reports; read under lock. */
struct drift_stream_live {
    uint64_t frames;             /* frames generated */
    uint64_t last_progress_usec; /* CLOCK_MONOTONIC of the last frame (or of the start) */
    double realtime_factor;      /* generated seconds per second of generation work */
    unsigned steps;              /* steps in use now (lowered when behind) */
    unsigned model_steps;        /* the model's default */
    unsigned commit_evals;       /* evaluations a frame adds to its steps' */
    uint64_t steps_lowered;      /* times the policy lowered steps to keep up */
    bool degraded;               /* running with fewer steps than asked */
    int width, height;           /* the model's native frame size */
    double model_fps;
    int sample_rate;
    uint64_t audio_chunks;       /* audio chunks generated (the audio has its own thread) */
    uint64_t audio_chunks_late;  /* of those, the ones after a gap: the clock passed the audio */
    uint64_t evals_run;          /* the video model's evaluations computed */
    uint64_t evals_skipped;      /* and those a step-level cache served instead */
    bool idle;                   /* on demand and unwatched: generation paused */
    bool warming;                /* the first measuring window after a start or a wake */
    /* The output's repeats while idle and until the first frame after waking are not the
     * generator falling behind: they are left out of FramesRepeated. */
    bool hiding_repeats;         /* idle, or woken and the first frame not pushed yet */
    uint64_t repeated_at_idle;   /* the output's repeat counter when the stream went idle */
    uint64_t repeated_hidden;    /* repeats left out so far */
};

struct drift_stream {
    gint ref;
    const struct drift_stream_host *host;
    char *name, *path, *url;
    struct drift_settings settings; /* as asked (main thread) */
    enum drift_stream_state state;
    char *error;                    /* why it failed or what runs degraded; "" when neither */
    bool from_config;               /* a [stream.NAME] section made it (reload may remove it) */
    bool restart_pending;           /* start again once stopped */
    bool retired;                   /* stopped for good: removed or shutting down */
    bool removed;                   /* gone from the bus: nothing more is emitted */
    bool served;                    /* the host serves its output */

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

/* Creates a stopped stream (settings are copied) reporting to host (borrowed: it outlives the
 * stream). */
struct drift_stream *drift_stream_new(const struct drift_stream_host *host, const char *name,
                                      const struct drift_settings *settings);
struct drift_stream *drift_stream_ref(struct drift_stream *s);
void drift_stream_unref(struct drift_stream *s);

/* Starts the generation thread (stopped or failed streams; a stopping one starts again once
 * stopped). Returns 0, -EBUSY (already loading or running) or -ESHUTDOWN (retired). */
int drift_stream_start(struct drift_stream *s);
/* Asks the thread to stop and stops serving. Returns 0, or -EALREADY when not running. A
 * stopping stream's pending restart is dropped. */
int drift_stream_stop(struct drift_stream *s);
/* Stops for good: no start or restart follows (removal, shutdown). */
void drift_stream_retire(struct drift_stream *s);
bool drift_stream_active(const struct drift_stream *s);

/* Answers a change once the generator took it (result 0) or refused it (negative errno and a
 * message). */
typedef void (*drift_stream_done_fn)(void *userdata, int result, const char *message);

/* Applies new settings: live keys go to the generator between two frames; model, size, rate
 * or audio changes restart the stream. When done is not NULL it is called once the generator
 * accepted or rejected the change (later, on the main thread), and then destroy(userdata).
 * Returns 0 (done was or will be called) or a negative errno with err set (nothing changed,
 * done is not called, destroy(userdata) was). */
int drift_stream_apply(struct drift_stream *s, const struct drift_settings *next,
                       drift_stream_done_fn done, void *userdata, GDestroyNotify destroy,
                       struct drift_error *err);

/* Main thread: handles what the generation thread reported. */
void drift_stream_dispatch_events(struct drift_stream *s);

/* A consistent copy of the live counters. */
void drift_stream_get_live(struct drift_stream *s, struct drift_stream_live *ret);
unsigned drift_stream_clients(struct drift_stream *s);
/* The output's repeat and drop counters (0 when not running). */
void drift_stream_media_counters(struct drift_stream *s, uint64_t *ret_repeated,
                                 uint64_t *ret_dropped);
/* Whether a running stream generates now, or pauses until a viewer comes (on demand). */
bool drift_stream_idle(struct drift_stream *s);
/* Whether a running stream falls behind real time, or has just started or woken and is
 * measuring (renders give way to it). An idle stream is never behind. */
bool drift_stream_behind(struct drift_stream *s);
/* Whether a running stream made no frame for longer than usec (a stalled generator). */
bool drift_stream_stalled(struct drift_stream *s, uint64_t now_usec, uint64_t usec);

const char *drift_stream_state_name(enum drift_stream_state state);

/* The thread's body (stream_thread.c). */
gpointer drift_stream_thread(gpointer data);

/* Request and event records shared by stream.c and stream_thread.c. */
struct drift_stream_request {
    struct drift_settings settings; /* the complete settings to run with */
    bool prompt_only;
    drift_stream_done_fn done;      /* may be NULL */
    void *done_data;
    GDestroyNotify done_destroy;
    int result;
    struct drift_error err;
};

enum drift_stream_event_kind {
    DRIFT_EVENT_LOADED,      /* result 0, or failed with message */
    DRIFT_EVENT_REQUEST,     /* a request was applied or refused */
    DRIFT_EVENT_WARNING,     /* running, but degraded (message says how) */
    DRIFT_EVENT_STOPPED,     /* the thread is about to return; result < 0: it failed */
    DRIFT_EVENT_IDLE,        /* generation paused (result 1: nobody watched) or resumed (0) */
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
