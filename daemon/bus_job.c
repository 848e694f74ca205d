/* org.drift1.Job at /org/drift1/job/<id>, and the Manager's job methods. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "context.h"
#include "jobs.h"

const char *drift_job_state_name(enum drift_job_state state)
{
    static const char *const names[] = { "scheduled", "queued", "running", "done", "failed",
                                         "cancelled" };
    return state <= DRIFT_JOB_CANCELLED ? names[state] : "unknown";
}

struct drift_job *drift_jobs_find_by_path(struct context *ctx, const char *path)
{
    for (guint i = 0; ctx->jobs && i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (!strcmp(j->path, path))
            return j;
    }
    return NULL;
}

int drift_jobs_append_paths(struct context *ctx, sd_bus_message *reply)
{
    int r = sd_bus_message_open_container(reply, 'a', "o");
    for (guint i = 0; r >= 0 && ctx->jobs && i < ctx->jobs->len; i++)
        r = sd_bus_message_append_basic(reply, 'o', ((struct drift_job *)ctx->jobs->pdata[i])->path);
    return r < 0 ? r : sd_bus_message_close_container(reply);
}

int drift_jobs_submit(struct context *ctx, sd_bus_message *m, sd_bus_error *error)
{
    /* Check the spec first, so that callers learn about bad keys even now. */
    struct drift_settings spec = { 0 };
    int r = drift_bus_read_settings(m, DRIFT_SCOPE_JOB, &spec, error);
    drift_settings_done(&spec);
    if (r < 0)
        return r;
    return sd_bus_error_set(error, DRIFT_ERROR_NOT_SUPPORTED,
                            "rendering jobs are not implemented in this driftd yet (issue 7); "
                            "live streams are");
}

static int job_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                    void **found, sd_bus_error *error)
{
    struct drift_job *j = drift_jobs_find_by_path(userdata, path);
    if (!j)
        return 0;
    *found = j;
    return 1;
}

static int job_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                         sd_bus_error *error)
{
    struct context *ctx = userdata;
    guint n = ctx->jobs ? ctx->jobs->len : 0;
    char **v = calloc(n + 1, sizeof(char *));
    if (!v)
        return -ENOMEM;
    for (guint i = 0; i < n; i++)
        v[i] = strdup(((struct drift_job *)ctx->jobs->pdata[i])->path);
    *nodes = v;
    return 0;
}

static int property_state(sd_bus *bus, const char *path, const char *interface,
                          const char *property, sd_bus_message *reply, void *userdata,
                          sd_bus_error *error)
{
    struct drift_job *j = userdata;
    return sd_bus_message_append(reply, "s", drift_job_state_name(j->state));
}

static int property_spec(sd_bus *bus, const char *path, const char *interface,
                         const char *property, sd_bus_message *reply, void *userdata,
                         sd_bus_error *error)
{
    struct drift_job *j = userdata;
    const struct drift_settings *s = &j->spec;
    int r = sd_bus_message_open_container(reply, 'a', "{sv}");
    if (r >= 0 && s->prompt)
        r = sd_bus_message_append(reply, "{sv}", "prompt", "s", s->prompt);
    if (r >= 0 && drift_settings_has(s, DRIFT_KEY_SECONDS))
        r = sd_bus_message_append(reply, "{sv}", "seconds", "d", s->seconds);
    if (r >= 0 && s->model)
        r = sd_bus_message_append(reply, "{sv}", "model", "s", s->model);
    return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_job *j = userdata;
    if (j->state >= DRIFT_JOB_DONE)
        return sd_bus_error_setf(error, DRIFT_ERROR_BUSY, "job %s is already %s", j->id,
                                 drift_job_state_name(j->state));
    return sd_bus_error_set(error, DRIFT_ERROR_NOT_SUPPORTED, "jobs are not implemented yet");
}

static const sd_bus_vtable job_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Id", "s", NULL, offsetof(struct drift_job, id),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("State", "s", property_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Progress", "d", NULL, offsetof(struct drift_job, progress),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Output", "s", NULL, offsetof(struct drift_job, output),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Error", "s", NULL, offsetof(struct drift_job, error),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NotBefore", "t", NULL, offsetof(struct drift_job, not_before),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Spec", "a{sv}", property_spec, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int drift_bus_add_jobs(struct context *ctx, sd_bus *bus)
{
    int r = sd_bus_add_fallback_vtable(bus, NULL, DRIFT_JOB_PREFIX, DRIFT_JOB_IFACE, job_vtable,
                                       job_find, ctx);
    if (r < 0)
        return r;
    return sd_bus_add_node_enumerator(bus, NULL, DRIFT_JOB_PREFIX, job_enumerate, ctx);
}
