/* drift: the one error type of every layer (engine, media, daemon).
 *
 * Functions that can fail on bad input return 0 (or a pointer) on success and a negative errno
 * (or NULL) on failure and, when the caller passes a struct drift_error, fill it with a message
 * that names the file, tensor, key or argument at fault. Library code never prints and never
 * exits: the caller decides what to tell whom.
 *
 * libdrift-common needs nothing but libc, so that anything (driftctl included) can report
 * errors the same way without linking a layer it does not use. */
#ifndef DRIFT_ERROR_H
#define DRIFT_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest message kept, terminating NUL included. A longer one is cut and ends in "...". */
#define DRIFT_ERROR_MESSAGE_MAX 512

struct drift_error {
    int code;                              /* negative errno, 0 when unset */
    char message[DRIFT_ERROR_MESSAGE_MAX]; /* NUL-terminated, human readable; "" when unset */
};

/* Sets err (may be NULL) to code and a printf-style message; the arguments may include
 * err->message itself. Returns code, so that callers can write
 * `return drift_error_set(err, -EINVAL, "width: %d is odd", w)`. */
int drift_error_set(struct drift_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* drift_error_set with a va_list, for functions that wrap it. */
int drift_error_setv(struct drift_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefixes the message already in err (may be NULL: no-op) with "prefix: ", e.g. the file or
 * section at fault; err->code is kept. A message that was never set becomes "prefix: " and the
 * code's strerror() text (or "unknown error" when the code is 0). */
void drift_error_prefix(struct drift_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Empties err (may be NULL): code 0, message "". */
void drift_error_clear(struct drift_error *err);

#ifdef __cplusplus
}
#endif
#endif
