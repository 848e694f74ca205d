/* org.drift1.Stream at /org/drift1/stream/<name>. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "context.h"
#include "log.h"
#include "stream.h"

#define GETTER(fn) \
    static int fn(sd_bus *bus, const char *path, const char *interface, const char *property, \
                  sd_bus_message *reply, void *userdata, sd_bus_error *error)

GETTER(property_url)
{
    struct drift_stream *s = userdata;
    return sd_bus_message_append(reply, "s", s->url ? s->url : "");
}

GETTER(property_string_setting)
{
    struct drift_stream *s = userdata;
    const char *v = !strcmp(property, "Prompt")           ? s->settings.prompt
                    : !strcmp(property, "NegativePrompt") ? s->settings.negative_prompt
                    : !strcmp(property, "Cache")          ? s->settings.cache
                    : !strcmp(property, "Model")          ? s->settings.model
                                                          : s->settings.audio_model;
    return sd_bus_message_append(reply, "s", v ? v : "");
}

GETTER(property_uint_setting)
{
    struct drift_stream *s = userdata;
    uint64_t v = !strcmp(property, "Width")    ? s->settings.width
                 : !strcmp(property, "Height") ? s->settings.height
                                               : s->settings.steps;
    return sd_bus_message_append(reply, "u", (uint32_t)v);
}

GETTER(property_guidance)
{
    struct drift_stream *s = userdata;
    return sd_bus_message_append(reply, "d", s->settings.guidance);
}

GETTER(property_running)
{
    struct drift_stream *s = userdata;
    return sd_bus_message_append(reply, "b", s->state == DRIFT_STREAM_RUNNING);
}

GETTER(property_state)
{
    struct drift_stream *s = userdata;
    return sd_bus_message_append(reply, "s", drift_stream_state_name(s->state));
}

GETTER(property_clients)
{
    return sd_bus_message_append(reply, "u", drift_stream_clients(userdata));
}

GETTER(property_live)
{
    struct drift_stream_live live;
    drift_stream_get_live(userdata, &live);
    if (!strcmp(property, "FramesGenerated"))
        return sd_bus_message_append(reply, "t", live.frames);
    if (!strcmp(property, "RealtimeFactor"))
        return sd_bus_message_append(reply, "d", live.realtime_factor);
    if (!strcmp(property, "EffectiveSteps"))
        return sd_bus_message_append(reply, "u", live.steps);
    if (!strcmp(property, "StepsLowered"))
        return sd_bus_message_append(reply, "t", live.steps_lowered);
    return sd_bus_message_append(reply, "b", live.degraded);
}

GETTER(property_media)
{
    uint64_t repeated, dropped;
    drift_stream_media_counters(userdata, &repeated, &dropped);
    return sd_bus_message_append(reply, "t", !strcmp(property, "FramesRepeated") ? repeated : dropped);
}

static int apply(struct drift_stream *s, sd_bus_message *m, const struct drift_settings *next,
                 sd_bus_error *error)
{
    struct drift_error err = { 0 };
    int r = drift_stream_apply(s, next, m, &err);
    if (r < 0)
        return drift_bus_error(error, r, err.message);
    return 1; /* answered later, when the generator took the change */
}

static int method_set_prompt(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    const char *prompt;
    int r = sd_bus_message_read(m, "s", &prompt);
    if (r < 0)
        return r;
    struct drift_settings next;
    struct drift_error err = { 0 };
    drift_settings_copy(&next, &s->settings);
    r = drift_settings_set(&next, DRIFT_SCOPE_STREAM, "prompt",
                           &(struct drift_setting_value){ .type = DRIFT_SETTING_STRING, .s = prompt },
                           &err);
    r = r < 0 ? sd_bus_error_set(error, DRIFT_ERROR_INVALID_ARGUMENT, err.message)
              : apply(s, m, &next, error);
    drift_settings_done(&next);
    return r;
}

static int method_set(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    struct drift_settings next;
    drift_settings_copy(&next, &s->settings);
    next.set = 0;
    int r = drift_bus_read_settings(m, DRIFT_SCOPE_STREAM, &next, error);
    if (r >= 0)
        r = apply(s, m, &next, error);
    drift_settings_done(&next);
    return r;
}

static int method_start(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    if (drift_stream_start(s) < 0)
        return sd_bus_error_setf(error, DRIFT_ERROR_BUSY, "stream '%s' is %s", s->name,
                                 drift_stream_state_name(s->state));
    return sd_bus_reply_method_return(m, NULL);
}

static int method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    if (drift_stream_stop(s) < 0)
        return sd_bus_error_setf(error, DRIFT_ERROR_BUSY, "stream '%s' is %s", s->name,
                                 drift_stream_state_name(s->state));
    return sd_bus_reply_method_return(m, NULL);
}

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
/* Counters change every frame: read them, they are not signalled. */
#define POLLED 0

static const sd_bus_vtable stream_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", NULL, offsetof(struct drift_stream, name),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Url", "s", property_url, 0, CHANGES),
    SD_BUS_PROPERTY("Prompt", "s", property_string_setting, 0, CHANGES),
    SD_BUS_PROPERTY("NegativePrompt", "s", property_string_setting, 0, CHANGES),
    SD_BUS_PROPERTY("Seed", "t", NULL, offsetof(struct drift_stream, settings.seed), CHANGES),
    SD_BUS_PROPERTY("Width", "u", property_uint_setting, 0, CHANGES),
    SD_BUS_PROPERTY("Height", "u", property_uint_setting, 0, CHANGES),
    SD_BUS_PROPERTY("Fps", "d", NULL, offsetof(struct drift_stream, settings.fps), CHANGES),
    SD_BUS_PROPERTY("Steps", "u", property_uint_setting, 0, CHANGES),
    SD_BUS_PROPERTY("Guidance", "d", property_guidance, 0, CHANGES),
    SD_BUS_PROPERTY("Cache", "s", property_string_setting, 0, CHANGES),
    SD_BUS_PROPERTY("CacheThreshold", "d", NULL,
                    offsetof(struct drift_stream, settings.cache_threshold), CHANGES),
    SD_BUS_PROPERTY("Audio", "b", NULL, offsetof(struct drift_stream, settings.audio), CHANGES),
    SD_BUS_PROPERTY("Model", "s", property_string_setting, 0, CHANGES),
    SD_BUS_PROPERTY("AudioModel", "s", property_string_setting, 0, CHANGES),
    SD_BUS_PROPERTY("Running", "b", property_running, 0, CHANGES),
    SD_BUS_PROPERTY("State", "s", property_state, 0, CHANGES),
    SD_BUS_PROPERTY("Error", "s", NULL, offsetof(struct drift_stream, error), CHANGES),
    SD_BUS_PROPERTY("Clients", "u", property_clients, 0, CHANGES),
    SD_BUS_PROPERTY("FramesGenerated", "t", property_live, 0, POLLED),
    SD_BUS_PROPERTY("RealtimeFactor", "d", property_live, 0, POLLED),
    SD_BUS_PROPERTY("EffectiveSteps", "u", property_live, 0, POLLED),
    SD_BUS_PROPERTY("StepsLowered", "t", property_live, 0, POLLED),
    SD_BUS_PROPERTY("Degraded", "b", property_live, 0, POLLED),
    SD_BUS_PROPERTY("FramesRepeated", "t", property_media, 0, POLLED),
    SD_BUS_PROPERTY("FramesDropped", "t", property_media, 0, POLLED),
    SD_BUS_METHOD_WITH_ARGS("SetPrompt", SD_BUS_ARGS("s", prompt), SD_BUS_NO_RESULT,
                            method_set_prompt, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Set", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_set,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Start", NULL, NULL, method_start, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Stop", NULL, NULL, method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static int stream_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **found, sd_bus_error *error)
{
    struct drift_stream *s = context_find_stream_by_path(userdata, path);
    if (!s)
        return 0;
    *found = s;
    return 1;
}

static int stream_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                            sd_bus_error *error)
{
    struct context *ctx = userdata;
    char **v = calloc(ctx->streams->len + 1, sizeof(char *));
    if (!v)
        return -ENOMEM;
    for (guint i = 0; i < ctx->streams->len; i++)
        v[i] = strdup(((struct drift_stream *)ctx->streams->pdata[i])->path);
    *nodes = v;
    return 0;
}

int drift_bus_add_streams(struct context *ctx, sd_bus *bus)
{
    int r = sd_bus_add_fallback_vtable(bus, NULL, DRIFT_STREAM_PREFIX, DRIFT_STREAM_IFACE,
                                       stream_vtable, stream_find, ctx);
    if (r < 0)
        return r;
    return sd_bus_add_node_enumerator(bus, NULL, DRIFT_STREAM_PREFIX, stream_enumerate, ctx);
}
