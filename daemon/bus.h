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

struct context;

#define DRIFT_ERROR_INVALID_ARGUMENT "org.drift1.Error.InvalidArgument"
#define DRIFT_ERROR_NOT_FOUND "org.drift1.Error.NotFound"
#define DRIFT_ERROR_EXISTS "org.drift1.Error.Exists"
#define DRIFT_ERROR_BUSY "org.drift1.Error.Busy"
#define DRIFT_ERROR_LIMIT "org.drift1.Error.LimitExceeded"
#define DRIFT_ERROR_MODEL "org.drift1.Error.ModelError"
#define DRIFT_ERROR_NOT_SUPPORTED "org.drift1.Error.NotSupported"
#define DRIFT_ERROR_FAILED "org.drift1.Error.Failed"

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

/* Registers the objects on one connection (bus_manager.c, bus_stream.c, bus_job.c). */
int drift_bus_add_manager(struct context *ctx, sd_bus *bus);
int drift_bus_add_streams(struct context *ctx, sd_bus *bus);
int drift_bus_add_jobs(struct context *ctx, sd_bus *bus);

/* The emitter that says changes on every connection of ctx (PropertiesChanged,
 * InterfacesAdded/Removed, Manager.JobFinished). */
struct drift_emitter drift_bus_emitter(struct context *ctx);

/* Turns a negative errno and message into a named org.drift1.Error. Returns -abs(code). */
int drift_bus_error(sd_bus_error *error, int code, const char *message);

/* Reads an a{sv} into settings (scope: DRIFT_SCOPE_STREAM or _JOB). Returns 0 or sets error. */
struct drift_settings;
int drift_bus_read_settings(sd_bus_message *m, unsigned scope, struct drift_settings *settings,
                            sd_bus_error *error);

#endif
