/* drift engine: error reporting.
 *
 * Functions that can fail on bad input return 0 or a negative errno (or NULL) and, when the
 * caller passes a struct drift_error, fill it with a message that names the file, tensor, key
 * or argument at fault. The engine never prints and never exits. */
#ifndef DRIFT_ERROR_H
#define DRIFT_ERROR_H

#include <stddef.h>

#define DRIFT_ERROR_MESSAGE_MAX 512

struct drift_error {
    int code;                              /* negative errno, 0 when unset */
    char message[DRIFT_ERROR_MESSAGE_MAX]; /* NUL-terminated, human readable */
};

/* Sets err (if not NULL) to code and a printf-style message. Returns code, so that callers can
 * write `return drift_error_set(err, -EINVAL, "...")`. */
int drift_error_set(struct drift_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "prefix: " (e.g. the file name). No-op if err is NULL. */
void drift_error_prefix(struct drift_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
