/* The API's operations, shared by the D-Bus and HTTP front ends; see ops.h. */
#include "ops.h"

#include <errno.h>
#include <string.h>

#include "generation.h"
#include "log.h"

/* Streams and jobs share the machine's cores: making and removing streams is the admin's, as
 * is Reload; steering what exists and rendering is control's. */
static const struct drift_op_rule rules[DRIFT_OP_COUNT] = {
    [DRIFT_OP_READ] = { "read", DRIFT_ROLE_VIEW },
    [DRIFT_OP_LOGIN] = { "login", DRIFT_ROLE_VIEW },
    [DRIFT_OP_SET] = { "Stream.Set", DRIFT_ROLE_CONTROL },
    [DRIFT_OP_START] = { "Stream.Start", DRIFT_ROLE_CONTROL },
    [DRIFT_OP_STOP] = { "Stream.Stop", DRIFT_ROLE_CONTROL },
    [DRIFT_OP_SUBMIT_JOB] = { "Manager.SubmitJob", DRIFT_ROLE_CONTROL },
    [DRIFT_OP_CANCEL_JOB] = { "Job.Cancel", DRIFT_ROLE_CONTROL }, /* own jobs: ops_cancel_job */
    [DRIFT_OP_CREATE_STREAM] = { "Manager.CreateStream", DRIFT_ROLE_ADMIN },
    [DRIFT_OP_REMOVE_STREAM] = { "Manager.RemoveStream", DRIFT_ROLE_ADMIN },
    [DRIFT_OP_RELOAD] = { "Manager.Reload", DRIFT_ROLE_ADMIN },
};

const struct drift_op_rule *drift_op_rule(enum drift_op op)
{
    return &rules[op < DRIFT_OP_COUNT ? op : DRIFT_OP_RELOAD];
}

struct drift_stream *drift_ops_find_stream(struct context *ctx, const char *name,
                                           struct drift_error *err)
{
    struct drift_stream *s = context_find_stream(ctx, name);
    if (!s)
        drift_error_set(err, -ESRCH, "no stream named '%.64s'", name);
    return s;
}

int drift_ops_create_stream(struct context *ctx, const char *name,
                            const struct drift_settings *given, struct drift_stream **ret,
                            struct drift_error *err)
{
    int r = drift_stream_name_check(name, err);
    if (r < 0)
        return r;
    if (context_find_stream(ctx, name))
        return drift_error_set(err, -EEXIST, "stream '%s' already exists", name);
    if (ctx->streams->len >= ctx->config->max_streams)
        return drift_error_set(err, -E2BIG,
                               "%u streams exist; allowed: at most %u (max_streams in [daemon])",
                               ctx->streams->len, ctx->config->max_streams);
    struct drift_settings settings;
    drift_settings_init_stream(&settings, ctx->config->default_model,
                               ctx->config->default_audio_model);
    drift_settings_merge(&settings, given);
    /* Naming an audio model (and not the audio switch) asks for audio when it names one. */
    if (drift_settings_has(&settings, DRIFT_KEY_AUDIO_MODEL) &&
        !drift_settings_has(&settings, DRIFT_KEY_AUDIO))
        settings.audio = settings.audio_model[0] != 0;
    if (drift_check_models(&settings, NULL, err) < 0) {
        r = -ENOEXEC;
    } else if ((r = context_admit(ctx, name, &settings, err)) < 0) {
        log_stream(LOG_WARNING, name, "refused: %s", err->message);
    } else {
        struct drift_stream *s = context_add_stream(ctx, name, &settings, false);
        drift_stream_start(s);
        *ret = s;
    }
    drift_settings_done(&settings);
    return r;
}

int drift_ops_remove_stream(struct context *ctx, const char *name, struct drift_error *err)
{
    if (!drift_ops_find_stream(ctx, name, err))
        return -ESRCH;
    context_remove_stream(ctx, name);
    return 0;
}

int drift_ops_set(struct drift_stream *s, const struct drift_settings *given,
                  drift_stream_done_fn done, void *userdata, GDestroyNotify destroy,
                  struct drift_error *err)
{
    struct drift_settings next;
    drift_settings_copy(&next, &s->settings);
    next.set = 0; /* the keys given, which tell a prompt-only change from the others */
    drift_settings_merge(&next, given);
    int r = drift_stream_apply(s, &next, done, userdata, destroy, err);
    drift_settings_done(&next);
    return r;
}

int drift_ops_set_prompt(struct drift_stream *s, const char *prompt, drift_stream_done_fn done,
                         void *userdata, GDestroyNotify destroy, struct drift_error *err)
{
    struct drift_settings given = { 0 };
    int r = drift_settings_set(&given, DRIFT_SCOPE_STREAM, "prompt",
                               &(struct drift_setting_value){ .type = DRIFT_SETTING_STRING,
                                                              .s = prompt },
                               err);
    if (r < 0) {
        if (destroy)
            destroy(userdata);
        return -EINVAL;
    }
    r = drift_ops_set(s, &given, done, userdata, destroy, err);
    drift_settings_done(&given);
    return r;
}

int drift_ops_start(struct context *ctx, struct drift_stream *s, struct drift_error *err)
{
    int r;
    if (!drift_stream_active(s) && (r = context_admit(ctx, s->name, &s->settings, err)) < 0) {
        log_stream(LOG_WARNING, s->name, "not started: %s", err->message);
        return r;
    }
    if (drift_stream_start(s) < 0)
        return drift_error_set(err, -EBUSY, "stream '%s' is %s", s->name,
                               drift_stream_state_name(s->state));
    return 0;
}

int drift_ops_stop(struct drift_stream *s, struct drift_error *err)
{
    if (drift_stream_stop(s) < 0)
        return drift_error_set(err, -EBUSY, "stream '%s' is %s", s->name,
                               drift_stream_state_name(s->state));
    return 0;
}

int drift_ops_submit_job(struct context *ctx, const struct drift_settings *given,
                         const char *user, struct drift_job **ret, struct drift_error *err)
{
    struct drift_settings spec;
    drift_settings_init_stream(&spec, ctx->config->default_model,
                               ctx->config->default_audio_model);
    drift_settings_merge(&spec, given);
    return drift_jobs_submit(ctx->jobs, &spec, user, ret, err); /* takes spec */
}

struct drift_job *drift_ops_find_job(struct context *ctx, const char *id, struct drift_error *err)
{
    GPtrArray *list = ctx->jobs->list;
    for (guint i = 0; i < list->len; i++) {
        struct drift_job *j = list->pdata[i];
        if (!strcmp(j->id, id))
            return j;
    }
    drift_error_set(err, -ESRCH, "no job with id '%.64s'", id);
    return NULL;
}

int drift_ops_cancel_job(struct drift_job *job, const char *user, enum drift_role role,
                         struct drift_error *err)
{
    if (role < DRIFT_ROLE_ADMIN && g_strcmp0(job->owner, user))
        return drift_error_set(err, -EACCES, "user '%s' (role %s) may cancel their own jobs "
                               "only; job %s was submitted by %s%s%s (the role admin may cancel "
                               "any)", user ? user : "", drift_role_name(role), job->id,
                               job->owner[0] ? "'" : "", job->owner[0] ? job->owner : "no user",
                               job->owner[0] ? "'" : "");
    return drift_job_cancel(job, err);
}

int drift_ops_reload(struct context *ctx, struct drift_error *err)
{
    return context_reload(ctx, err);
}
