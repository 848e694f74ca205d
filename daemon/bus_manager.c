/* org.drift1.Manager at /org/drift1. */
#include <drift/context.h>

#include "bus.h"
#include "context.h"
#include "jobs.h"
#include "log.h"
#include "ops.h"
#include "stream.h"
#include "version.h"

static int property_streams(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error)
{
    struct context *ctx = userdata;
    int r = sd_bus_message_open_container(reply, 'a', "o");
    for (guint i = 0; r >= 0 && i < ctx->streams->len; i++)
        r = sd_bus_message_append_basic(reply, 'o',
                                        ((struct drift_stream *)ctx->streams->pdata[i])->path);
    return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_jobs(sd_bus *bus, const char *path, const char *interface,
                         const char *property, sd_bus_message *reply, void *userdata,
                         sd_bus_error *error)
{
    struct context *ctx = userdata;
    GPtrArray *list = ctx->jobs->list;
    int r = sd_bus_message_open_container(reply, 'a', "o");
    for (guint i = 0; r >= 0 && i < list->len; i++)
        r = sd_bus_message_append_basic(reply, 'o', ((struct drift_job *)list->pdata[i])->path);
    return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_isa(sd_bus *bus, const char *path, const char *interface,
                        const char *property, sd_bus_message *reply, void *userdata,
                        sd_bus_error *error)
{
    return sd_bus_message_append(reply, "s", drift_cpu_isa());
}

static int property_ready(sd_bus *bus, const char *path, const char *interface,
                          const char *property, sd_bus_message *reply, void *userdata,
                          sd_bus_error *error)
{
    struct context *ctx = userdata;
    return sd_bus_message_append(reply, "b", ctx->notify.ready);
}

static int property_rtsp_address(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error)
{
    struct context *ctx = userdata;
    return sd_bus_message_append(reply, "s", ctx->config->rtsp_address);
}

static int property_rtsp_port(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
    struct context *ctx = userdata;
    return sd_bus_message_append(reply, "u", (uint32_t)context_rtsp_port(ctx));
}

static int property_http_address(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error)
{
    struct context *ctx = userdata;
    return sd_bus_message_append(reply, "s", ctx->config->http_address);
}

static int property_http_port(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error)
{
    struct context *ctx = userdata;
    return sd_bus_message_append(reply, "u", (uint32_t)ctx->config->http_port);
}

static int property_max_streams(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
    struct context *ctx = userdata;
    return sd_bus_message_append(reply, "u", (uint32_t)ctx->config->max_streams);
}

/* Reads the a{sv} of a call into the keys given (scope: stream or job). */
static int read_given(sd_bus_message *m, unsigned scope, struct drift_settings *given,
                      sd_bus_error *error)
{
    *given = (struct drift_settings){ 0 };
    int r = drift_bus_read_settings(m, scope, given, error);
    if (r < 0)
        drift_settings_done(given);
    return r;
}

static int method_create_stream(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct context *ctx = userdata;
    const char *name;
    struct drift_settings given;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0 || (r = read_given(m, DRIFT_SCOPE_STREAM, &given, error)) < 0)
        return r;
    struct drift_stream *s = NULL;
    struct drift_error err = { 0 };
    r = drift_ops_create_stream(ctx, name, &given, &s, &err);
    drift_settings_done(&given);
    if (r < 0)
        return drift_bus_error(error, r, err.message);
    log_stream(LOG_INFO, name, "created over D-Bus");
    return sd_bus_reply_method_return(m, "o", s->path);
}

static int method_remove_stream(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct context *ctx = userdata;
    const char *name;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0)
        return r;
    struct drift_error err = { 0 };
    if ((r = drift_ops_remove_stream(ctx, name, &err)) < 0)
        return drift_bus_error(error, r, err.message);
    log_stream(LOG_INFO, name, "removed over D-Bus");
    return sd_bus_reply_method_return(m, NULL);
}

static int method_submit_job(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct context *ctx = userdata;
    struct drift_settings given;
    int r = read_given(m, DRIFT_SCOPE_JOB, &given, error);
    if (r < 0)
        return r;
    struct drift_job *j = NULL;
    struct drift_error err = { 0 };
    r = drift_ops_submit_job(ctx, &given, NULL, &j, &err);
    drift_settings_done(&given);
    if (r < 0)
        return drift_bus_error(error, r, err.message);
    return sd_bus_reply_method_return(m, "o", j->path);
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct context *ctx = userdata;
    struct drift_error err = { 0 };
    int r = drift_ops_reload(ctx, &err);
    if (r < 0)
        return drift_bus_error(error, r, err.message);
    return sd_bus_reply_method_return(m, NULL);
}

static int property_version(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error)
{
    return sd_bus_message_append(reply, "s", DRIFT_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Isa", "s", property_isa, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Streams", "ao", property_streams, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Jobs", "ao", property_jobs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Ready", "b", property_ready, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("RtspAddress", "s", property_rtsp_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("RtspPort", "u", property_rtsp_port, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("HttpAddress", "s", property_http_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("HttpPort", "u", property_http_port, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("MaxStreams", "u", property_max_streams, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD_WITH_ARGS("CreateStream", SD_BUS_ARGS("s", name, "a{sv}", settings),
                            SD_BUS_RESULT("o", stream), method_create_stream,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("RemoveStream", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                            method_remove_stream, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("SubmitJob", SD_BUS_ARGS("a{sv}", spec), SD_BUS_RESULT("o", job),
                            method_submit_job, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_ARGS("JobFinished", SD_BUS_ARGS("o", job, "s", state), 0),
    SD_BUS_VTABLE_END,
};

int drift_bus_add_manager(struct context *ctx, sd_bus *bus)
{
    return sd_bus_add_object_vtable(bus, NULL, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE,
                                    manager_vtable, ctx);
}
