/* driftd on D-Bus: the bus connection (system or user) and the private socket's peer
 * connections all serve the same objects; signals go out on every one of them.
 *
 * The bus is the top of the daemon: it serves the context's objects (bus_manager.c,
 * bus_stream.c, bus_job.c) and is the context's emitter; nothing below includes it. */
#ifndef DRIFT_DAEMON_BUS_H
#define DRIFT_DAEMON_BUS_H

#include <stdbool.h>

#include <glib.h>
#include <systemd/sd-bus.h>

#include <drift/error.h>

#include "bus_names.h"
#include "emitter.h"
#include "errors.h"

struct context;

struct drift_bus_conn {
    struct context *ctx;
    sd_bus *bus;
    GSource *source;
    bool is_private;
};

/* Connects to the bus ctx->bus_kind names and takes org.drift1; a missing bus is a warning (the
 * private socket still works), a name taken by another driftd is an error. */
int drift_bus_open(struct context *ctx, struct drift_error *err);
/* Listens on the private socket (0660, group drift when it exists). */
int drift_bus_listen_private(struct context *ctx, struct drift_error *err);
void drift_bus_close_all(struct context *ctx);

/* Registers the objects on one connection (bus_manager.c, bus_stream.c, bus_job.c). Their
 * methods read the call's arguments and hand them to the operations they share with the HTTP API
 * (ops.h). */
int drift_bus_add_manager(struct context *ctx, sd_bus *bus);
int drift_bus_add_streams(struct context *ctx, sd_bus *bus);
int drift_bus_add_jobs(struct context *ctx, sd_bus *bus);

/* The emitter that says changes on every connection of ctx (PropertiesChanged,
 * InterfacesAdded/Removed, Manager.JobFinished). */
struct drift_emitter drift_bus_emitter(struct context *ctx);

/* Turns a negative errno and message into the org.drift1.Error that drift_error_name() names.
 * Returns -abs(code). */
int drift_bus_error(sd_bus_error *error, int code, const char *message);

/* Reads an a{sv} into settings (scope: DRIFT_SCOPE_STREAM or _JOB): each key is set through the
 * settings table and marked in settings->set. Returns 0 or sets error. */
struct drift_settings;
int drift_bus_read_settings(sd_bus_message *m, unsigned scope, struct drift_settings *settings,
                            sd_bus_error *error);

#endif
