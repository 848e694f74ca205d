/* The operations of driftd's API (DESIGN.md "D-Bus API"), one implementation each, shared by its
 * front ends: the bus (bus_manager.c, bus_stream.c, bus_job.c) and the HTTP API (http_api.c).
 *
 * A front end reads its request (an a{sv}, a JSON object) into a struct drift_settings through
 * the settings table (drift_settings_set), so keys, types and ranges are checked the same way
 * whichever door a value came in by; then it calls one of these, which applies every further
 * rule (names, limits, models, admission, state) and fails with a negative errno and err set.
 * drift_error_name() (errors.h) names the org.drift1.Error of that errno for every front end.
 *
 * Main thread only. Objects returned are borrowed from the context. */
#ifndef DRIFT_DAEMON_OPS_H
#define DRIFT_DAEMON_OPS_H

#include <drift/error.h>

#include "context.h"
#include "errors.h"
#include "jobs.h"
#include "settings.h"
#include "stream.h"


/* Who may call which operation from the network (DESIGN.md "Access", docs/ACCESS.md): the
 * one table the web server's routes and docs/ACCESS.md follow. D-Bus callers are not asked:
 * the bus policy (units/org.drift1.conf) decides there. */
enum drift_op {
    DRIFT_OP_READ,          /* the page, /metrics, any object's properties; watching */
    DRIFT_OP_LOGIN,         /* a bearer token for oneself (POST /api/login), logout */
    DRIFT_OP_SET,           /* Stream.Set, SetPrompt */
    DRIFT_OP_START,         /* Stream.Start */
    DRIFT_OP_STOP,          /* Stream.Stop */
    DRIFT_OP_SUBMIT_JOB,    /* Manager.SubmitJob */
    DRIFT_OP_CANCEL_JOB,    /* Job.Cancel */
    DRIFT_OP_CREATE_STREAM, /* Manager.CreateStream */
    DRIFT_OP_REMOVE_STREAM, /* Manager.RemoveStream */
    DRIFT_OP_RELOAD,        /* Manager.Reload */
    DRIFT_OP_COUNT,
};

struct drift_op_rule {
    const char *name;     /* as in messages: "Stream.Set" */
    enum drift_role role; /* the least role that may */
};

/* The rule of op (a row of the table; transfer none). */
const struct drift_op_rule *drift_op_rule(enum drift_op op);

/* Manager.CreateStream: a stream called name with the stream defaults and the keys given set
 * (given->set), started. Fails with -EINVAL (name), -EEXIST, -E2BIG (max_streams), -ENOEXEC
 * (model), -EBUSY (admission). *ret (borrowed) is untouched on failure. */
int drift_ops_create_stream(struct context *ctx, const char *name,
                            const struct drift_settings *given, struct drift_stream **ret,
                            struct drift_error *err);
/* Manager.RemoveStream. -ESRCH when there is no such stream. */
int drift_ops_remove_stream(struct context *ctx, const char *name, struct drift_error *err);

/* The stream called name, or NULL with err set (-ESRCH, "no stream named …"). */
struct drift_stream *drift_ops_find_stream(struct context *ctx, const char *name,
                                           struct drift_error *err);

/* Stream.Set (and SetPrompt: given with the prompt only): the stream's settings with the keys
 * given set over them. Live keys reach the generator between two frames, others restart the
 * stream. done(userdata, result, message) answers once the generator took or refused the
 * change, then destroy(userdata) runs; on an immediate failure (-EBUSY stopping, -ENOEXEC
 * model) done is not called and destroy(userdata) was. */
int drift_ops_set(struct drift_stream *s, const struct drift_settings *given,
                  drift_stream_done_fn done, void *userdata, GDestroyNotify destroy,
                  struct drift_error *err);
/* Stream.SetPrompt: drift_ops_set with the prompt only, checked by the table (-EINVAL). On a
 * failure to check, destroy(userdata) runs too. */
int drift_ops_set_prompt(struct drift_stream *s, const char *prompt, drift_stream_done_fn done,
                         void *userdata, GDestroyNotify destroy, struct drift_error *err);
/* Stream.Start: admission first (-EBUSY with what runs), then -EBUSY when already loading or
 * running. */
int drift_ops_start(struct context *ctx, struct drift_stream *s, struct drift_error *err);
/* Stream.Stop: -EBUSY when not running. */
int drift_ops_stop(struct drift_stream *s, struct drift_error *err);

/* Manager.SubmitJob: a job with the stream defaults and the keys given (scope job), owned by
 * user (the network user submitting it; NULL: none). *ret (borrowed) is untouched on failure:
 * -E2BIG, -EINVAL, -EEXIST (output), -ENOEXEC, -EIO. */
int drift_ops_submit_job(struct context *ctx, const struct drift_settings *given,
                         const char *user, struct drift_job **ret, struct drift_error *err);
/* The job with that id, or NULL with err set (-ESRCH). */
struct drift_job *drift_ops_find_job(struct context *ctx, const char *id, struct drift_error *err);
/* Job.Cancel by user with role: below admin only one's own jobs (-EACCES naming the owner);
 * -EALREADY when finished. The bus passes NULL and DRIFT_ROLE_ADMIN (its policy decides). */
int drift_ops_cancel_job(struct drift_job *job, const char *user, enum drift_role role,
                         struct drift_error *err);

/* Manager.Reload. */
int drift_ops_reload(struct context *ctx, struct drift_error *err);

#endif
