/* org.drift1.Job at /org/drift1/job/<id>. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "context.h"
#include "jobs.h"
#include "ops.h"

static int job_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                    void **found, sd_bus_error *error)
{
    struct context *ctx = userdata;
    struct drift_job *j = drift_jobs_find_by_path(ctx->jobs, path);
    if (!j)
        return 0;
    *found = j;
    return 1;
}

static int job_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                         sd_bus_error *error)
{
    struct context *ctx = userdata;
    GPtrArray *list = ctx->jobs->list;
    char **v = calloc(list->len + 1, sizeof(char *));
    if (!v)
        return -ENOMEM;
    for (guint i = 0; i < list->len; i++)
        v[i] = strdup(((struct drift_job *)list->pdata[i])->path);
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

/* Every key of the spec with its D-Bus type, as SubmitJob would take it. */
static int property_spec(sd_bus *bus, const char *path, const char *interface,
                         const char *property, sd_bus_message *reply, void *userdata,
                         sd_bus_error *error)
{
    struct drift_job *j = userdata;
    int r = sd_bus_message_open_container(reply, 'a', "{sv}");
    for (int k = 0; r >= 0 && k < _DRIFT_KEY_MAX; k++) {
        const char *name = drift_setting_desc(k)->name;
        if (!(drift_setting_desc(k)->scope & DRIFT_SCOPE_JOB))
            continue; /* a live stream's key */
        struct drift_setting_value v = drift_setting_get(&j->spec, k);
        switch (v.type) {
        case DRIFT_SETTING_STRING:
            r = sd_bus_message_append(reply, "{sv}", name, "s", v.s ? v.s : "");
            break;
        case DRIFT_SETTING_UINT: r = sd_bus_message_append(reply, "{sv}", name, "t", v.u); break;
        case DRIFT_SETTING_DOUBLE: r = sd_bus_message_append(reply, "{sv}", name, "d", v.d); break;
        case DRIFT_SETTING_BOOL: r = sd_bus_message_append(reply, "{sv}", name, "b", (int)v.b); break;
        }
    }
    return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_error err = { 0 };
    int r = drift_ops_cancel_job(userdata, NULL, DRIFT_ROLE_ADMIN, &err); /* bus policy decides */
    return r < 0 ? drift_bus_error(error, r, err.message) : sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable job_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Id", "s", NULL, offsetof(struct drift_job, id),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("State", "s", property_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Progress", "d", NULL, offsetof(struct drift_job, progress),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Output", "s", NULL, offsetof(struct drift_job, output),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Error", "s", NULL, offsetof(struct drift_job, error),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NotBefore", "t", NULL, offsetof(struct drift_job, not_before),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Priority", "u", NULL, offsetof(struct drift_job, priority),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Created", "t", NULL, offsetof(struct drift_job, created),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Owner", "s", NULL, offsetof(struct drift_job, owner),
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
