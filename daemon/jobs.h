/* Rendering jobs (issue 7): a spec (stream keys + seconds, output, format, not_before,
 * priority) and a state, served at /org/drift1/job/<id> and kept as STATE/jobs/<id>.job, which is
 * replaced atomically at every change of state.
 *
 * scheduled --(not_before)--> queued --(a slot)--> running --> done | failed | cancelled
 *
 * Each running job renders on its own thread (niced, and pausing while a live stream falls
 * behind), into a temporary file that the media layer renames only when complete. After a
 * crash a job that was running restarts from the beginning (no generator checkpoint). */
#ifndef DRIFT_DAEMON_JOBS_H
#define DRIFT_DAEMON_JOBS_H

#include <stdint.h>

#include <glib.h>
#include <systemd/sd-bus.h>

#include "settings.h"

struct context;

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
    struct context *ctx;
    char *id, *path, *file;
    enum drift_job_state state;
    double progress;          /* 0..1, as last published */
    char *output, *error;     /* error: "" unless failed */
    uint64_t not_before;      /* µs since the epoch, 0 = now */
    uint64_t created, finished; /* µs since the epoch */
    uint32_t priority;
    struct drift_settings spec; /* complete */

    GThread *thread;
    unsigned nice;            /* of the render thread */
    gint cancel;
    GMutex lock;
    double thread_progress;   /* under lock */
};

const char *drift_job_state_name(enum drift_job_state state);
int drift_job_state_from_name(const char *name);

/* Loads every job file (malformed ones are reported and moved aside as NAME.bad), requeues
 * those that were running, and starts the scheduler. */
int drift_jobs_init(struct context *ctx);
/* Cancels running renders for shutdown (they run again at the next start). */
void drift_jobs_shutdown(struct context *ctx);
bool drift_jobs_active(struct context *ctx);
void drift_jobs_free(struct context *ctx);

/* Manager.Jobs: appends the ao. */
int drift_jobs_append_paths(struct context *ctx, sd_bus_message *reply);
/* Manager.SubmitJob. */
int drift_jobs_submit(struct context *ctx, sd_bus_message *m, sd_bus_error *error);
/* Job.Cancel. */
int drift_job_cancel(struct drift_job *job, sd_bus_error *error);
struct drift_job *drift_jobs_find_by_path(struct context *ctx, const char *path);

/* Serialisation (jobs_file.c). */
char *drift_job_to_text(const struct drift_job *job, size_t *ret_size);
/* Fills job from text; err names the file and what is wrong. */
int drift_job_from_text(struct drift_job *job, const char *file, const char *text, size_t size,
                        struct drift_error *err);

#endif
