/* driftctl's commands. Each returns an exit code: 0 ok, 1 failure, 2 usage. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "bus_names.h"
#include "ctl.h"
#include "settings.h"

static int usage(const char *text)
{
    fprintf(stderr, "usage: driftctl %s\n", text);
    return CTL_EXIT_USAGE;
}

int ctl_append_settings(sd_bus_message *m, unsigned scope, int argc, char **argv)
{
    int r = sd_bus_message_open_container(m, 'a', "{sv}");
    for (int i = 0; r >= 0 && i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "driftctl: '%s' is not KEY=VALUE\n", argv[i]);
            return -1;
        }
        g_autofree char *key = g_strndup(argv[i], eq - argv[i]);
        const char *text = eq + 1;
        int k = drift_setting_lookup(key);
        if (k < 0) { /* the daemon names the known keys */
            r = sd_bus_message_append(m, "{sv}", key, "s", text);
            continue;
        }
        struct drift_setting_value v;
        struct drift_error err = { 0 };
        if (drift_setting_parse(drift_setting_desc(k), text, &v, &err) < 0) {
            fprintf(stderr, "driftctl: %s\n", err.message);
            return -1;
        }
        switch (v.type) {
        case DRIFT_SETTING_STRING: r = sd_bus_message_append(m, "{sv}", key, "s", v.s); break;
        case DRIFT_SETTING_UINT: r = sd_bus_message_append(m, "{sv}", key, "t", v.u); break;
        case DRIFT_SETTING_DOUBLE: r = sd_bus_message_append(m, "{sv}", key, "d", v.d); break;
        case DRIFT_SETTING_BOOL: r = sd_bus_message_append(m, "{sv}", key, "b", (int)v.b); break;
        }
    }
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r < 0)
        fprintf(stderr, "driftctl: %s\n", strerror(-r));
    return r < 0 ? -1 : 0;
}

/* Every stream's properties, as a JSON array. */
static json_t *all_streams(struct ctl *c, json_t *manager)
{
    json_t *out = json_array(), *p;
    size_t i;
    json_array_foreach(json_object_get(manager, "Streams"), i, p) {
        json_t *s = ctl_get_all(c, json_string_value(p), DRIFT_STREAM_IFACE);
        if (s)
            json_array_append_new(out, s);
    }
    return out;
}

int ctl_status(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return usage("status");
    json_t *m = ctl_get_all(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE);
    if (!m)
        return CTL_EXIT_FAILURE;
    json_t *streams = all_streams(c, m);
    if (c->json) {
        json_object_set(m, "StreamDetails", streams);
        ctl_print_json(m);
    } else {
        printf("driftd %s on %s, %s, RTSP %s port %.0f\n", ctl_str(m, "Version"), ctl_str(m, "Isa"),
               json_is_true(json_object_get(m, "Ready")) ? "ready" : "starting",
               ctl_str(m, "RtspAddress"), ctl_num(m, "RtspPort"));
        printf("%zu stream%s, %zu job%s\n\n", json_array_size(streams),
               json_array_size(streams) == 1 ? "" : "s",
               json_array_size(json_object_get(m, "Jobs")),
               json_array_size(json_object_get(m, "Jobs")) == 1 ? "" : "s");
        ctl_print_stream_table(streams);
    }
    json_decref(streams);
    json_decref(m);
    return CTL_EXIT_OK;
}

int ctl_streams(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return usage("streams");
    json_t *m = ctl_get_all(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE);
    if (!m)
        return CTL_EXIT_FAILURE;
    json_t *streams = all_streams(c, m);
    if (c->json)
        ctl_print_json(streams);
    else
        ctl_print_stream_table(streams);
    json_decref(streams);
    json_decref(m);
    return CTL_EXIT_OK;
}

static int name_check(const char *name)
{
    struct drift_error err = { 0 };
    if (drift_stream_name_check(name, &err) < 0) {
        fprintf(stderr, "driftctl: %s\n", err.message);
        return -1;
    }
    return 0;
}

int ctl_show(struct ctl *c, int argc, char **argv)
{
    if (argc != 1)
        return usage("show NAME");
    if (name_check(argv[0]) < 0)
        return CTL_EXIT_USAGE;
    g_autofree char *path = ctl_stream_path(argv[0]);
    json_t *s = ctl_get_all(c, path, DRIFT_STREAM_IFACE);
    if (!s)
        return CTL_EXIT_FAILURE;
    if (c->json)
        ctl_print_json(s);
    else
        ctl_print_properties(s);
    json_decref(s);
    return CTL_EXIT_OK;
}

static int stream_call(struct ctl *c, const char *name, const char *member, const char *types,
                       const char *arg)
{
    if (name_check(name) < 0)
        return CTL_EXIT_USAGE;
    g_autofree char *path = ctl_stream_path(name);
    int r = types ? ctl_call(c, path, DRIFT_STREAM_IFACE, member, NULL, types, arg)
                  : ctl_call(c, path, DRIFT_STREAM_IFACE, member, NULL, NULL);
    return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int ctl_prompt(struct ctl *c, int argc, char **argv)
{
    if (argc < 2)
        return usage("prompt NAME TEXT…");
    g_autofree char *text = g_strjoinv(" ", argv + 1);
    return stream_call(c, argv[0], "SetPrompt", "s", text);
}

int ctl_start(struct ctl *c, int argc, char **argv)
{
    return argc != 1 ? usage("start NAME") : stream_call(c, argv[0], "Start", NULL, NULL);
}

int ctl_stop(struct ctl *c, int argc, char **argv)
{
    return argc != 1 ? usage("stop NAME") : stream_call(c, argv[0], "Stop", NULL, NULL);
}

static int call_with_settings(struct ctl *c, const char *path, const char *iface,
                              const char *member, const char *name, unsigned scope, int argc,
                              char **argv, sd_bus_message **reply)
{
    sd_bus_message *m = NULL;
    int r = ctl_new_call(c, path, iface, member, &m);
    if (r >= 0 && name)
        r = sd_bus_message_append(m, "s", name);
    if (r < 0) {
        sd_bus_message_unref(m);
        return CTL_EXIT_FAILURE;
    }
    if (ctl_append_settings(m, scope, argc, argv) < 0) {
        sd_bus_message_unref(m);
        return CTL_EXIT_USAGE;
    }
    r = ctl_call_message(c, m, reply);
    sd_bus_message_unref(m);
    return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int ctl_set(struct ctl *c, int argc, char **argv)
{
    if (argc < 2)
        return usage("set NAME KEY=VALUE…");
    if (name_check(argv[0]) < 0)
        return CTL_EXIT_USAGE;
    g_autofree char *path = ctl_stream_path(argv[0]);
    return call_with_settings(c, path, DRIFT_STREAM_IFACE, "Set", NULL, DRIFT_SCOPE_STREAM,
                              argc - 1, argv + 1, NULL);
}

int ctl_create(struct ctl *c, int argc, char **argv)
{
    if (argc < 1)
        return usage("create NAME [KEY=VALUE…]");
    sd_bus_message *reply = NULL;
    int r = call_with_settings(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "CreateStream",
                               argv[0], DRIFT_SCOPE_STREAM, argc - 1, argv + 1, &reply);
    const char *path;
    if (r == CTL_EXIT_OK && sd_bus_message_read(reply, "o", &path) >= 0)
        printf("%s\n", path);
    sd_bus_message_unref(reply);
    return r;
}

int ctl_remove(struct ctl *c, int argc, char **argv)
{
    if (argc != 1)
        return usage("remove NAME");
    return ctl_call(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "RemoveStream", NULL, "s",
                    argv[0]) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int ctl_reload(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return usage("reload");
    return ctl_call(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Reload", NULL, NULL) < 0
               ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int ctl_keys(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return usage("keys");
    g_autofree char *table = drift_settings_reference();
    fputs(table, stdout);
    return CTL_EXIT_OK;
}
