#include <stdio.h>
#include <string.h>

#include <drift/error.h>

/* Formats into buf (size bytes); a message cut short ends in "..." so that a reader knows. */
static void format_into(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);
    if (n < 0)
        snprintf(buf, size, "(unprintable message)");
    else if ((size_t)n >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
}

/* Formatted aside first: an argument may be err->message itself ("%s", err->message). */
int drift_error_setv(struct drift_error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        char message[DRIFT_ERROR_MESSAGE_MAX];
        format_into(message, sizeof(message), fmt, ap);
        memcpy(err->message, message, sizeof(err->message));
        err->code = code;
    }
    return code;
}

int drift_error_set(struct drift_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    drift_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static void format_joined(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void format_joined(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_into(buf, size, fmt, ap);
    va_end(ap);
}

void drift_error_prefix(struct drift_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[DRIFT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    format_into(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    const char *rest = err->message;
    if (!rest[0])
        rest = err->code ? strerror(err->code < 0 ? -err->code : err->code) : "unknown error";
    char joined[DRIFT_ERROR_MESSAGE_MAX];
    format_joined(joined, sizeof(joined), "%s: %s", prefix, rest);
    memcpy(err->message, joined, sizeof(err->message));
}

void drift_error_clear(struct drift_error *err)
{
    if (err) {
        err->code = 0;
        err->message[0] = '\0';
    }
}
