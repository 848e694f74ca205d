#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <drift/error.h>

int drift_error_set(struct drift_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void drift_error_prefix(struct drift_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[DRIFT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char joined[2 * DRIFT_ERROR_MESSAGE_MAX + 2];
    snprintf(joined, sizeof(joined), "%s: %s", prefix, err->message);
    memcpy(err->message, joined, sizeof(err->message) - 1);
    err->message[sizeof(err->message) - 1] = '\0';
}
