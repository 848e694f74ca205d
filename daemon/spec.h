/* Job specs as text: a file of KEY = VALUE lines (# comments), or KEY=VALUE[,KEY=VALUE…]
 * inline. Shared by driftd --render and driftctl render --spec. */
#ifndef DRIFT_DAEMON_SPEC_H
#define DRIFT_DAEMON_SPEC_H

#include "settings.h"

/* Reads spec (a file name when such a file exists, else inline text) into settings with the
 * stream and job keys. Returns 0 or -EINVAL/-ENOENT with err naming the line or item. */
int drift_spec_parse(const char *spec, struct drift_settings *settings, struct drift_error *err);

/* Fills what a job spec left out: audio from audio_model, output under renders_dir
 * (NAME.FORMAT; a bare file name goes there too), format from the output's extension.
 * default_name names the output when none is given. Returns 0 or -EINVAL (no seconds, a
 * relative path with a directory, an extension that contradicts format). */
int drift_spec_complete(struct drift_settings *s, const char *renders_dir, const char *default_name,
                        struct drift_error *err);

#endif
