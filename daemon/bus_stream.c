/* org.drift1.Stream at /org/drift1/stream/<name>. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "context.h"
#include "ops.h"
#include "stream.h"

#define GETTER(fn) \
    static int fn(sd_bus *bus, const char *path, const char *interface, const char *property, \
                  sd_bus_message *reply, void *userdata, sd_bus_error *error)

/* Getters given a field by the vtable's offset: sd-bus passes userdata + offset. */
GETTER(property_string_field)
{
    const char *v = *(char *const *)userdata;
    return sd_bus_message_append(reply, "s", v ? v : "");
}

GETTER(property_uint64_as_uint32)
{
    uint64_t v = *(const uint64_t *)userdata;
    return sd_bus_message_append(reply, "u", (uint32_t)MIN(v, UINT32_MAX));
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

/* The generation thread's counters, read under the stream's lock: one getter per property. */
#define LIVE_GETTER(fn, type, field)                       \
    GETTER(fn)                                             \
    {                                                      \
        struct drift_stream_live live;                     \
        drift_stream_get_live(userdata, &live);            \
        return sd_bus_message_append(reply, type, field); \
    }
LIVE_GETTER(property_frames_generated, "t", live.frames)
LIVE_GETTER(property_realtime_factor, "d", live.realtime_factor)
LIVE_GETTER(property_effective_steps, "u", live.steps)
LIVE_GETTER(property_steps_lowered, "t", live.steps_lowered)
LIVE_GETTER(property_degraded, "b", (int)live.degraded)
LIVE_GETTER(property_audio_chunks_generated, "t", live.audio_chunks)
LIVE_GETTER(property_audio_chunks_late, "t", live.audio_chunks_late)
LIVE_GETTER(property_evaluations_run, "t", live.evals_run)
LIVE_GETTER(property_evaluations_skipped, "t", live.evals_skipped)

GETTER(property_idle)
{
    return sd_bus_message_append(reply, "b", (int)drift_stream_idle(userdata));
}

GETTER(property_frames_repeated)
{
    uint64_t repeated, dropped;
    drift_stream_media_counters(userdata, &repeated, &dropped);
    return sd_bus_message_append(reply, "t", repeated);
}

GETTER(property_frames_dropped)
{
    uint64_t repeated, dropped;
    drift_stream_media_counters(userdata, &repeated, &dropped);
    return sd_bus_message_append(reply, "t", dropped);
}

/* The method call m is answered once the generator took the change or refused it. */
static void answer(void *userdata, int result, const char *message)
{
    sd_bus_message *m = userdata;
    if (result >= 0) {
        (void)sd_bus_reply_method_return(m, NULL);
        return;
    }
    sd_bus_error e = SD_BUS_ERROR_NULL;
    drift_bus_error(&e, result, message);
    (void)sd_bus_reply_method_error(m, &e);
    sd_bus_error_free(&e);
}

static void message_unref(void *m)
{
    sd_bus_message_unref(m);
}

static int method_set_prompt(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    const char *prompt;
    int r = sd_bus_message_read(m, "s", &prompt);
    if (r < 0)
        return r;
    struct drift_error err = { 0 };
    r = drift_ops_set_prompt(s, prompt, answer, sd_bus_message_ref(m), message_unref, &err);
    if (r < 0)
        return drift_bus_error(error, r, err.message);
    return 1; /* answered later, when the generator took the change */
}

static int method_set(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    struct drift_settings given = { 0 };
    int r = drift_bus_read_settings(m, DRIFT_SCOPE_STREAM, &given, error);
    struct drift_error err = { 0 };
    if (r >= 0 &&
        (r = drift_ops_set(s, &given, answer, sd_bus_message_ref(m), message_unref, &err)) < 0)
        r = drift_bus_error(error, r, err.message);
    drift_settings_done(&given);
    return r < 0 ? r : 1; /* answered later, when the generator took the change */
}

static int method_start(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_stream *s = userdata;
    struct drift_error err = { 0 };
    int r = drift_ops_start(s->host->userdata, s, &err);
    return r < 0 ? drift_bus_error(error, r, err.message) : sd_bus_reply_method_return(m, NULL);
}

static int method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    struct drift_error err = { 0 };
    int r = drift_ops_stop(userdata, &err);
    return r < 0 ? drift_bus_error(error, r, err.message) : sd_bus_reply_method_return(m, NULL);
}

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define SETTING(field) offsetof(struct drift_stream, settings.field)
/* Counters change every frame: read them, they are not signalled. */
#define POLLED 0

static const sd_bus_vtable stream_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", NULL, offsetof(struct drift_stream, name),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Url", "s", property_string_field, offsetof(struct drift_stream, url), CHANGES),
    SD_BUS_PROPERTY("Prompt", "s", property_string_field, SETTING(prompt), CHANGES),
    SD_BUS_PROPERTY("NegativePrompt", "s", property_string_field, SETTING(negative_prompt), CHANGES),
    SD_BUS_PROPERTY("Seed", "t", NULL, SETTING(seed), CHANGES),
    SD_BUS_PROPERTY("Width", "u", property_uint64_as_uint32, SETTING(width), CHANGES),
    SD_BUS_PROPERTY("Height", "u", property_uint64_as_uint32, SETTING(height), CHANGES),
    SD_BUS_PROPERTY("Fps", "d", NULL, SETTING(fps), CHANGES),
    SD_BUS_PROPERTY("Steps", "u", property_uint64_as_uint32, SETTING(steps), CHANGES),
    SD_BUS_PROPERTY("Guidance", "d", NULL, SETTING(guidance), CHANGES),
    SD_BUS_PROPERTY("Cache", "s", property_string_field, SETTING(cache), CHANGES),
    SD_BUS_PROPERTY("CacheThreshold", "d", NULL, SETTING(cache_threshold), CHANGES),
    SD_BUS_PROPERTY("Audio", "b", NULL, SETTING(audio), CHANGES),
    SD_BUS_PROPERTY("Model", "s", property_string_field, SETTING(model), CHANGES),
    SD_BUS_PROPERTY("AudioModel", "s", property_string_field, SETTING(audio_model), CHANGES),
    SD_BUS_PROPERTY("OnDemand", "b", NULL, SETTING(on_demand), CHANGES),
    SD_BUS_PROPERTY("IdleAfter", "d", NULL, SETTING(idle_after), CHANGES),
    SD_BUS_PROPERTY("Running", "b", property_running, 0, CHANGES),
    SD_BUS_PROPERTY("State", "s", property_state, 0, CHANGES),
    SD_BUS_PROPERTY("Error", "s", property_string_field, offsetof(struct drift_stream, error), CHANGES),
    SD_BUS_PROPERTY("Clients", "u", property_clients, 0, CHANGES),
    SD_BUS_PROPERTY("Idle", "b", property_idle, 0, CHANGES),
    SD_BUS_PROPERTY("FramesGenerated", "t", property_frames_generated, 0, POLLED),
    SD_BUS_PROPERTY("RealtimeFactor", "d", property_realtime_factor, 0, POLLED),
    SD_BUS_PROPERTY("EffectiveSteps", "u", property_effective_steps, 0, POLLED),
    SD_BUS_PROPERTY("StepsLowered", "t", property_steps_lowered, 0, POLLED),
    SD_BUS_PROPERTY("Degraded", "b", property_degraded, 0, POLLED),
    SD_BUS_PROPERTY("FramesRepeated", "t", property_frames_repeated, 0, POLLED),
    SD_BUS_PROPERTY("FramesDropped", "t", property_frames_dropped, 0, POLLED),
    SD_BUS_PROPERTY("AudioChunksGenerated", "t", property_audio_chunks_generated, 0, POLLED),
    SD_BUS_PROPERTY("AudioChunksLate", "t", property_audio_chunks_late, 0, POLLED),
    SD_BUS_PROPERTY("EvaluationsRun", "t", property_evaluations_run, 0, POLLED),
    SD_BUS_PROPERTY("EvaluationsSkipped", "t", property_evaluations_skipped, 0, POLLED),
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
