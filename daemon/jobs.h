/* Rendering jobs (issue 7): a spec (stream keys + seconds, output, format, not_before,
 * priority) and a state, served at /org/drift1/job/<id> and kept as STATE/jobs/<id>.job, which is
 * replaced atomically at every change of state.
 *
 * scheduled --(not_before)--> queued --(a slot)--> running --> done | failed | cancelled
 *
 * Each running job renders on its own thread (niced, and pausing while a live stream falls
 * behind), into a temporary file that the media layer renames only when complete. After a
 * crash a job that was running restarts from the beginning (no generator checkpoint).
 *
 * The scheduler knows neither the bus nor the streams nor the renderer: it reports through an
 * emitter, renders, reads the clock and asks whether live streams fall behind through its host
 * (struct drift_jobs_host). The unit tests give it a fake renderer and a fake clock. */
#ifndef DRIFT_DAEMON_JOBS_H
#define DRIFT_DAEMON_JOBS_H

#include <stdint.h>

#include <glib.h>

#include "config.h"
#include "emitter.h"
#include "render.h"
#include "settings.h"

struct drift_jobs;

#define DRIFT_JOBS_MAX 1024 /* job records kept at once */

enum drift_job_state {
    DRIFT_JOB_SCHEDULED,
    DRIFT_JOB_QUEUED,
    DRIFT_JOB_RUNNING,
    DRIFT_JOB_DONE,
    DRIFT_JOB_FAILED,
    DRIFT_JOB_CANCELLED,
};

struct drift_job {
    gint ref;
    struct drift_jobs *jobs;
    char *id, *path, *file;
    enum drift_job_state state;
    double progress;          /* 0..1, as last published */
    char *output, *error;     /* error: "" unless failed */
    uint64_t not_before;      /* µs since the epoch, 0 = now */
    uint64_t created, finished; /* µs since the epoch */
    uint32_t priority;
    char *owner;              /* the user who submitted it over the network (docs/ACCESS.md);
                                 "" from D-Bus or with no users configured; never NULL */
    struct drift_settings spec; /* complete */

    GThread *thread;
    char thread_name[16];     /* the render thread's, which its OpenMP team inherits */
    unsigned nice;            /* of the render thread */
    bool sched_idle;          /* the render's threads run SCHED_IDLE (render thread only) */
    bool policy_stuck;        /* they could not leave SCHED_IDLE (no RLIMIT_NICE room) */
    gint cancel;
    GMutex lock;
    double thread_progress;   /* under lock */
};

/* What the scheduler needs from outside. Called on the main thread unless said otherwise. */
struct drift_jobs_host {
    const struct drift_emitter *emit; /* may be NULL */
    GMainContext *main_context;       /* where render threads report back */
    /* Renders one job on its own thread (drift_render_run in driftd). */
    int (*render)(const struct drift_settings *spec, const struct drift_render_hooks *hooks,
                  struct drift_error *err);
    /* The wall clock in µs since the epoch (g_get_real_time in driftd): not_before is compared
     * with it at every tick, so a clock set forward or back is followed. */
    uint64_t (*now)(void *userdata);
    /* Whether a live stream falls behind real time: renders wait between frames while it does.
     * May be NULL (never). */
    bool (*live_behind)(void *userdata);
    /* Whether a live stream generates now (running, not idle): renders then take only the
     * CPU time nothing else wants (SCHED_IDLE). May be NULL (never). */
    bool (*live_active)(void *userdata);
    /* A render thread ended while shutting down. May be NULL. */
    void (*idle)(void *userdata);
    void *userdata;
};

struct drift_jobs {
    const struct drift_jobs_host *host;
    const struct driftd_config *config; /* borrowed; see drift_jobs_set_config */
    char *state_dir;
    GPtrArray *list;          /* struct drift_job *, oldest first */
    guint tick_timer, retention_timer;
    gint live_behind;         /* a live stream is behind real time: renders wait (atomic) */
    gint live_active;         /* a live stream generates: renders run SCHED_IDLE (atomic) */
    bool shutting_down;
};

const char *drift_job_state_name(enum drift_job_state state);
int drift_job_state_from_name(const char *name);

/* A scheduler keeping its files under STATE_DIR/jobs and outputs under STATE_DIR/renders.
 * host and config are borrowed. */
struct drift_jobs *drift_jobs_new(const struct drift_jobs_host *host, const char *state_dir,
                                  const struct driftd_config *config);
/* Loads every job file (malformed ones are reported and moved aside as NAME.bad), requeues
 * those that were running, and starts the scheduler's timers. */
int drift_jobs_start(struct drift_jobs *jobs);
/* The configuration changed (reload): concurrency, nice and retention follow it. */
void drift_jobs_set_config(struct drift_jobs *jobs, const struct driftd_config *config);
/* Starts what may start now: scheduled jobs whose time came, queued jobs by priority then age,
 * up to the concurrency; publishes progress. Runs every tick. */
void drift_jobs_schedule(struct drift_jobs *jobs);
/* Cancels running renders for shutdown (they run again at the next start). */
void drift_jobs_shutdown(struct drift_jobs *jobs);
bool drift_jobs_active(struct drift_jobs *jobs);
void drift_jobs_free(struct drift_jobs *jobs);

/* Manager.SubmitJob: takes spec (complete stream defaults plus the keys given; emptied), checks
 * it and adds the job, owned by owner (copied; NULL: none). Returns 0 and the job (borrowed), or a negative errno with err set:
 * -E2BIG (too many jobs), -EINVAL (spec), -EEXIST (output taken), -ENOEXEC (model), -EIO. */
int drift_jobs_submit(struct drift_jobs *jobs, struct drift_settings *spec, const char *owner,
                      struct drift_job **ret, struct drift_error *err);
/* Job.Cancel. Returns 0 or -EALREADY (finished) with err set. */
int drift_job_cancel(struct drift_job *job, struct drift_error *err);
struct drift_job *drift_jobs_find_by_path(struct drift_jobs *jobs, const char *path);

/* Serialisation (jobs_file.c). */
char *drift_job_to_text(const struct drift_job *job, size_t *ret_size);
/* Fills job from text; err names the file and what is wrong. */
int drift_job_from_text(struct drift_job *job, const char *file, const char *text, size_t size,
                        struct drift_error *err);

#endif
