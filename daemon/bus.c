/* Bus connections, the private socket and the signal helpers; see bus.h. */
#define _GNU_SOURCE
#include "bus.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <systemd/sd-id128.h>

#include "bus_source.h"
#include "context.h"
#include "log.h"
#include "settings.h"

static void conn_free(struct drift_bus_conn *c)
{
    if (!c)
        return;
    if (c->source) {
        g_source_destroy(c->source);
        g_source_unref(c->source);
    }
    sd_bus_flush_close_unref(c->bus);
    g_free(c);
}

static void on_closed(sd_bus *bus, void *userdata)
{
    struct drift_bus_conn *c = userdata;
    if (!c->is_private)
        log_warning("lost the D-Bus connection; serving on the private socket only");
    g_ptr_array_remove(c->ctx->connections, c); /* frees c */
}

static int conn_add(struct context *ctx, sd_bus *bus, bool is_private)
{
    int r;
    if ((r = drift_bus_add_manager(ctx, bus)) < 0 || (r = drift_bus_add_streams(ctx, bus)) < 0 ||
        (r = drift_bus_add_jobs(ctx, bus)) < 0 ||
        (r = sd_bus_add_object_manager(bus, NULL, DRIFT_MANAGER_PATH)) < 0)
        return r;
    struct drift_bus_conn *c = g_new0(struct drift_bus_conn, 1);
    c->ctx = ctx;
    c->bus = sd_bus_ref(bus);
    c->is_private = is_private;
    c->source = drift_bus_source_attach(bus, ctx->main_context, on_closed, c);
    if (!ctx->connections)
        ctx->connections = g_ptr_array_new_with_free_func((GDestroyNotify)conn_free);
    g_ptr_array_add(ctx->connections, c);
    return 0;
}

int drift_bus_open(struct context *ctx, struct drift_error *err)
{
    enum drift_bus_kind kind = ctx->bus_kind;
    if (kind == DRIFT_BUS_NONE)
        return 0;
    if (kind == DRIFT_BUS_AUTO)
        kind = geteuid() == 0 ? DRIFT_BUS_SYSTEM : DRIFT_BUS_USER;
    const char *which = kind == DRIFT_BUS_SYSTEM ? "system" : "user";
    sd_bus *bus = NULL;
    int r = kind == DRIFT_BUS_SYSTEM ? sd_bus_open_system_with_description(&bus, "driftd")
                                     : sd_bus_open_user_with_description(&bus, "driftd");
    if (r < 0) {
        log_warning("no %s bus (%s); serving on the private socket only", which, strerror(-r));
        sd_bus_unref(bus);
        return 0;
    }
    r = conn_add(ctx, bus, false);
    if (r >= 0)
        r = sd_bus_request_name(bus, DRIFT_BUS_NAME, 0);
    sd_bus_unref(bus);
    if (r == -EEXIST || r == -EALREADY)
        return drift_error_set(err, -EEXIST, "%s is already taken on the %s bus: is driftd running?",
                               DRIFT_BUS_NAME, which);
    if (r < 0)
        return drift_error_set(err, r, "cannot take %s on the %s bus: %s", DRIFT_BUS_NAME, which,
                               strerror(-r));
    log_info("serving %s on the %s bus", DRIFT_BUS_NAME, which);
    return 0;
}

static gboolean on_private_connection(gint fd, GIOCondition cond, gpointer data)
{
    struct context *ctx = data;
    int nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (nfd < 0)
        return G_SOURCE_CONTINUE;
    if (ctx->connections && ctx->connections->len > 256) {
        log_warning("too many private connections; refusing one");
        close(nfd);
        return G_SOURCE_CONTINUE;
    }
    sd_bus *bus = NULL;
    sd_id128_t id;
    int r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_fd(bus, nfd, nfd);
    if (r >= 0) {
        nfd = -1;
        sd_id128_randomize(&id);
        r = sd_bus_set_server(bus, 1, id);
    }
    if (r >= 0)
        r = sd_bus_set_description(bus, "private-connection");
    if (r >= 0)
        r = sd_bus_start(bus);
    if (r >= 0)
        r = conn_add(ctx, bus, true);
    if (r < 0)
        log_warning("private connection failed: %s", strerror(-r));
    if (nfd >= 0)
        close(nfd);
    sd_bus_unref(bus);
    return G_SOURCE_CONTINUE;
}

static char *private_socket_path(void)
{
    if (geteuid() == 0) {
        const char *rt = g_getenv("RUNTIME_DIRECTORY"); /* systemd's RuntimeDirectory= */
        return g_build_filename(rt && rt[0] == '/' ? rt : "/run/drift", "private", NULL);
    }
    return g_build_filename(g_get_user_runtime_dir(), "drift", "private", NULL);
}

int drift_bus_listen_private(struct context *ctx, struct drift_error *err)
{
    g_autofree char *path = private_socket_path();
    g_autofree char *dir = g_path_get_dirname(path);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        return drift_error_set(err, -ENAMETOOLONG, "private socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    if (g_mkdir_with_parents(dir, 0755) < 0)
        return drift_error_set(err, -errno, "cannot create %s: %s", dir, strerror(errno));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return drift_error_set(err, -errno, "socket: %s", strerror(errno));
    (void)unlink(path); /* a stale socket of an earlier run; the bus name guards against two */
    mode_t old = umask(0117);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || listen(fd, 64) < 0) {
        r = -errno;
        close(fd);
        return drift_error_set(err, r, "cannot listen on %s: %s", path, strerror(-r));
    }
    struct group *g = geteuid() == 0 ? getgrnam("drift") : NULL;
    if (g && chown(path, (uid_t)-1, g->gr_gid) < 0)
        log_warning("cannot give %s to group drift: %s", path, strerror(errno));
    (void)chmod(path, 0660);
    ctx->private_fd = fd;
    ctx->private_path = g_steal_pointer(&path);
    ctx->private_watch = g_unix_fd_add(fd, G_IO_IN, on_private_connection, ctx);
    log_info("serving the private socket %s", ctx->private_path);
    return 0;
}

void drift_bus_close_all(struct context *ctx)
{
    if (ctx->private_watch)
        g_source_remove(ctx->private_watch);
    ctx->private_watch = 0;
    if (ctx->private_fd >= 0) {
        close(ctx->private_fd);
        (void)unlink(ctx->private_path);
        ctx->private_fd = -1;
    }
    g_free(ctx->private_path);
    ctx->private_path = NULL;
    if (ctx->connections)
        g_ptr_array_unref(ctx->connections);
    ctx->connections = NULL;
}

static void emit_changed(void *userdata, const char *path, const char *iface,
                         const char *const *names)
{
    struct context *ctx = userdata;
    for (guint i = 0; ctx->connections && i < ctx->connections->len; i++) {
        struct drift_bus_conn *c = ctx->connections->pdata[i];
        (void)sd_bus_emit_properties_changed_strv(c->bus, path, iface, (char **)names);
    }
}

static void emit_added(void *userdata, const char *path)
{
    struct context *ctx = userdata;
    for (guint i = 0; ctx->connections && i < ctx->connections->len; i++)
        (void)sd_bus_emit_object_added(((struct drift_bus_conn *)ctx->connections->pdata[i])->bus,
                                       path);
}

static void emit_removed(void *userdata, const char *path)
{
    struct context *ctx = userdata;
    for (guint i = 0; ctx->connections && i < ctx->connections->len; i++)
        (void)sd_bus_emit_object_removed(
            ((struct drift_bus_conn *)ctx->connections->pdata[i])->bus, path);
}

static void emit_job_finished(void *userdata, const char *path, const char *state)
{
    struct context *ctx = userdata;
    for (guint i = 0; ctx->connections && i < ctx->connections->len; i++) {
        struct drift_bus_conn *c = ctx->connections->pdata[i];
        (void)sd_bus_emit_signal(c->bus, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "JobFinished",
                                 "os", path, state);
    }
}

struct drift_emitter drift_bus_emitter(struct context *ctx)
{
    return (struct drift_emitter){
        .changed = emit_changed,
        .added = emit_added,
        .removed = emit_removed,
        .job_finished = emit_job_finished,
        .userdata = ctx,
    };
}

int drift_bus_error(sd_bus_error *error, int code, const char *message)
{
    return sd_bus_error_set(error, drift_error_name(code), message);
}
