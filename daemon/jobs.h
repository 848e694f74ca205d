/* Rendering jobs (issue 7): the object model. A job is a spec (settings with DRIFT_SCOPE_JOB)
 * and a state, served at /org/drift1/job/<id>. This version publishes the model (Manager.Jobs,
 * the Job interface) but does not run renders yet: SubmitJob answers
 * org.drift1.Error.NotSupported. */
#ifndef DRIFT_DAEMON_JOBS_H
#define DRIFT_DAEMON_JOBS_H

#include <stdint.h>

#include <glib.h>
#include <systemd/sd-bus.h>

#include "settings.h"

struct context;

enum drift_job_state {
    DRIFT_JOB_SCHEDULED, /* waiting for not_before */
    DRIFT_JOB_QUEUED,
    DRIFT_JOB_RUNNING,
    DRIFT_JOB_DONE,
    DRIFT_JOB_FAILED,
    DRIFT_JOB_CANCELLED,
};

struct drift_job {
    char *id, *path;
    enum drift_job_state state;
    double progress;        /* 0..1 */
    char *output;           /* final file name */
    char *error;            /* "" unless failed */
    uint64_t not_before;    /* µs since the epoch, 0 = now */
    struct drift_settings spec;
};

const char *drift_job_state_name(enum drift_job_state state);

/* Manager.Jobs: appends the ao. */
int drift_jobs_append_paths(struct context *ctx, sd_bus_message *reply);
/* Manager.SubmitJob. */
int drift_jobs_submit(struct context *ctx, sd_bus_message *m, sd_bus_error *error);
struct drift_job *drift_jobs_find_by_path(struct context *ctx, const char *path);

#endif
