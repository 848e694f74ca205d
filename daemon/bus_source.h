/* sd-bus on the GLib main loop: a GSource that polls the connection's fd with the events and
 * timeout sd-bus asks for and runs sd_bus_process() when it is ready. No sd-event loop. */
#ifndef DRIFT_DAEMON_BUS_SOURCE_H
#define DRIFT_DAEMON_BUS_SOURCE_H

#include <glib.h>
#include <systemd/sd-bus.h>

/* Called once when the connection closes (the peer went away or sd_bus_process failed). */
typedef void (*drift_bus_closed_fn)(sd_bus *bus, void *userdata);

/* Attaches bus to context (NULL = default). The source holds a reference on bus.
 * Returns the source (transfer full: g_source_destroy + g_source_unref). */
GSource *drift_bus_source_attach(sd_bus *bus, GMainContext *context, drift_bus_closed_fn closed,
                                 void *userdata);

#endif
