/* driftctl's D-Bus side: connecting (bus or private socket), calls, GetAll into JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "bus_names.h"
#include "ctl.h"

static bool name_on_bus(sd_bus *bus)
{
    sd_bus_message *reply = NULL;
    int has = 0;
    int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s",
                               DRIFT_BUS_NAME);
    if (r >= 0)
        r = sd_bus_message_read(reply, "b", &has);
    sd_bus_message_unref(reply);
    return r >= 0 && has;
}

static int open_private(struct ctl *c, const char *path)
{
    sd_bus *bus = NULL;
    g_autofree char *address = g_strdup_printf("unix:path=%s", path);
    int r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_address(bus, address);
    if (r >= 0)
        r = sd_bus_start(bus);
    if (r < 0) {
        sd_bus_unref(bus);
        return r;
    }
    c->bus = bus;
    c->destination = NULL;
    return 0;
}

static char *private_path(enum ctl_bus kind)
{
    if (kind == CTL_BUS_SYSTEM)
        return g_strdup("/run/drift/private");
    return g_build_filename(g_get_user_runtime_dir(), "drift", "private", NULL);
}

static int try_bus(struct ctl *c, enum ctl_bus kind)
{
    sd_bus *bus = NULL;
    int r = kind == CTL_BUS_SYSTEM ? sd_bus_open_system(&bus) : sd_bus_open_user(&bus);
    if (r >= 0 && name_on_bus(bus)) {
        c->bus = bus;
        c->destination = DRIFT_BUS_NAME;
        return 0;
    }
    sd_bus_unref(bus);
    g_autofree char *path = private_path(kind);
    if (access(path, F_OK) == 0 && open_private(c, path) >= 0)
        return 0;
    return -ENOENT;
}

int ctl_connect(struct ctl *c)
{
    if (c->socket) {
        int r = open_private(c, c->socket);
        if (r < 0)
            fprintf(stderr, "driftctl: cannot connect to %s: %s\n", c->socket, strerror(-r));
        return r;
    }
    if (c->bus_kind != CTL_BUS_USER && try_bus(c, CTL_BUS_SYSTEM) == 0)
        return 0;
    if (c->bus_kind != CTL_BUS_SYSTEM && (c->bus_kind == CTL_BUS_USER || geteuid() != 0) &&
        try_bus(c, CTL_BUS_USER) == 0)
        return 0;
    fprintf(stderr, "driftctl: driftd is not running: %s is not on the %s bus and no private "
                    "socket answers\n", DRIFT_BUS_NAME,
            c->bus_kind == CTL_BUS_SYSTEM ? "system" : c->bus_kind == CTL_BUS_USER ? "user"
                                                                                   : "system or user");
    return -ENOENT;
}

static int print_error(const sd_bus_error *e, int r)
{
    if (sd_bus_error_is_set(e))
        fprintf(stderr, "driftctl: %s\n", e->message ? e->message : e->name);
    else
        fprintf(stderr, "driftctl: %s\n", strerror(-r));
    return -1;
}

int ctl_new_call(struct ctl *c, const char *path, const char *iface, const char *member,
                 sd_bus_message **ret)
{
    return sd_bus_message_new_method_call(c->bus, ret, c->destination, path, iface, member);
}

int ctl_call_message(struct ctl *c, sd_bus_message *m, sd_bus_message **reply)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message *rep = NULL;
    int r = sd_bus_call(c->bus, m, 30 * 1000000ULL, &e, &rep);
    if (r < 0) {
        print_error(&e, r);
        sd_bus_error_free(&e);
        return -1;
    }
    if (reply)
        *reply = rep;
    else
        sd_bus_message_unref(rep);
    return 0;
}

int ctl_call(struct ctl *c, const char *path, const char *iface, const char *member,
             sd_bus_message **reply, const char *types, ...)
{
    sd_bus_message *m = NULL;
    int r = ctl_new_call(c, path, iface, member, &m);
    if (r >= 0 && types) {
        va_list ap;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
    }
    if (r < 0) {
        sd_bus_message_unref(m);
        return print_error(NULL, r);
    }
    r = ctl_call_message(c, m, reply);
    sd_bus_message_unref(m);
    return r;
}

static json_t *read_variant(sd_bus_message *m);

/* An a{sv} into a JSON object. */
static json_t *read_dict(sd_bus_message *m)
{
    json_t *obj = json_object();
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
        return obj;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char *name;
        if (sd_bus_message_read_basic(m, 's', &name) < 0)
            break;
        json_object_set_new(obj, name, read_variant(m));
        sd_bus_message_exit_container(m);
    }
    sd_bus_message_exit_container(m);
    return obj;
}

/* One variant into JSON: basic types, arrays of strings or paths, a{sv}. Others are skipped
 * (null). */
static json_t *read_variant(sd_bus_message *m)
{
    const char *contents;
    char type;
    if (sd_bus_message_peek_type(m, &type, &contents) < 0 ||
        sd_bus_message_enter_container(m, 'v', contents) < 0)
        return NULL;
    json_t *j = NULL;
    union { const char *s; int b; double d; uint8_t y; int16_t n; uint16_t q; int32_t i;
            uint32_t u; int64_t x; uint64_t t; } v;
    switch (contents[0]) {
    case 's': case 'o': case 'g':
        if (sd_bus_message_read_basic(m, contents[0], &v.s) >= 0) j = json_string(v.s);
        break;
    case 'b': if (sd_bus_message_read_basic(m, 'b', &v.b) >= 0) j = json_boolean(v.b); break;
    case 'd': if (sd_bus_message_read_basic(m, 'd', &v.d) >= 0) j = json_real(v.d); break;
    case 'y': if (sd_bus_message_read_basic(m, 'y', &v.y) >= 0) j = json_integer(v.y); break;
    case 'n': if (sd_bus_message_read_basic(m, 'n', &v.n) >= 0) j = json_integer(v.n); break;
    case 'q': if (sd_bus_message_read_basic(m, 'q', &v.q) >= 0) j = json_integer(v.q); break;
    case 'i': if (sd_bus_message_read_basic(m, 'i', &v.i) >= 0) j = json_integer(v.i); break;
    case 'u': if (sd_bus_message_read_basic(m, 'u', &v.u) >= 0) j = json_integer(v.u); break;
    case 'x': if (sd_bus_message_read_basic(m, 'x', &v.x) >= 0) j = json_integer(v.x); break;
    case 't': if (sd_bus_message_read_basic(m, 't', &v.t) >= 0) j = json_integer((json_int_t)v.t); break;
    case 'a':
        if (!strcmp(contents, "ao") || !strcmp(contents, "as")) {
            char **strv = NULL;
            if (sd_bus_message_read_strv(m, &strv) >= 0) {
                j = json_array();
                for (char **p = strv; p && *p; p++)
                    json_array_append_new(j, json_string(*p));
            }
            g_strfreev(strv);
            break;
        }
        if (!strcmp(contents, "a{sv}")) {
            j = read_dict(m);
            break;
        }
        /* fall through */
    default:
        sd_bus_message_skip(m, contents);
        j = json_null();
    }
    sd_bus_message_exit_container(m);
    return j ? j : json_null();
}

json_t *ctl_get_all(struct ctl *c, const char *path, const char *iface)
{
    sd_bus_message *reply = NULL;
    if (ctl_call(c, path, "org.freedesktop.DBus.Properties", "GetAll", &reply, "s", iface) < 0)
        return NULL;
    json_t *obj = read_dict(reply);
    sd_bus_message_unref(reply);
    return obj;
}

char *ctl_stream_path(const char *name)
{
    char *p = NULL;
    return sd_bus_path_encode(DRIFT_STREAM_PREFIX, name, &p) < 0 ? NULL : p;
}

char *ctl_job_path(const char *id)
{
    char *p = NULL;
    if (g_str_has_prefix(id, DRIFT_JOB_PREFIX "/"))
        return strdup(id);
    return sd_bus_path_encode(DRIFT_JOB_PREFIX, id, &p) < 0 ? NULL : p;
}
