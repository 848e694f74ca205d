/* Files that must never be seen half-written. */
#ifndef DRIFT_DAEMON_FILEIO_H
#define DRIFT_DAEMON_FILEIO_H

#include <stddef.h>

#include <drift/error.h>

/* Writes data to a temporary file beside path, fsyncs it, renames it over path and fsyncs the
 * directory: after a crash path holds either the old or the new content. Returns 0 or a
 * negative errno with err naming the file (e.g. -ENOSPC). */
int drift_write_file_atomic(const char *path, const char *data, size_t size,
                            struct drift_error *err);

#endif
