/* Rendering one clip to a file: the generators into an offline media output and a file writer.
 * The file appears under its final name only when complete (the media layer's writer writes a
 * temporary file beside it and renames it); on cancel or failure nothing is left behind.
 * Used by driftd --render (no daemon) and by jobs. */
#ifndef DRIFT_DAEMON_RENDER_H
#define DRIFT_DAEMON_RENDER_H

#include <stdbool.h>

#include <glib.h>

#include "settings.h"

struct drift_render_hooks {
    /* Called after every frame with the fraction done (0..1]. */
    void (*progress)(void *userdata, double fraction);
    /* Called before every frame; may sleep to give way to live streams. Returns the most OpenMP
     * threads the render may use for the next frame (0: as many as its generators were made
     * with). */
    int (*throttle)(void *userdata);
    void *userdata;
    /* Set (g_atomic_int_set) to non-zero to cancel: the render stops within a frame. */
    gint *cancel;
};

/* Renders settings (complete: seconds, output and format set; see drift_spec_complete).
 * Returns 0, -ECANCELED, or a negative errno with err set (model, media, disk). */
int drift_render_run(const struct drift_settings *settings, const struct drift_render_hooks *hooks,
                     struct drift_error *err);

/* The whole --render mode: the configuration at config_path (missing is fine when optional)
 * gives the state directory unless state_dir_option does (drift_state_dir). Returns the exit
 * status (0 done, 1 failed, 2 bad spec or configuration). */
int drift_render_main(const char *spec, const char *config_path, bool config_optional,
                      const char *state_dir_option);

#endif
