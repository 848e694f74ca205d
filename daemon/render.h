/* driftd --render SPEC: one clip rendered to a file without a daemon, so that any batch
 * scheduler can fan renders out. The file appears under its final name only when complete
 * (the media layer's file writer writes a temporary file and renames it). */
#ifndef DRIFT_DAEMON_RENDER_H
#define DRIFT_DAEMON_RENDER_H

#include <stdbool.h>

#include "settings.h"

/* Reads a spec: a file of KEY = VALUE lines (# comments), or KEY=VALUE[,KEY=VALUE…] inline.
 * Keys are the stream and job keys of DESIGN.md. Returns 0 or -EINVAL/-ENOENT with err set. */
int drift_render_parse_spec(const char *spec, struct drift_settings *settings,
                            struct drift_error *err);

/* The whole --render mode; returns the exit status (0 done, 1 failed, 2 bad spec). */
int drift_render_main(const char *spec, const char *config_path, bool config_optional,
                      const char *state_dir);

#endif
