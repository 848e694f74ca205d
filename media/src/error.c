/* Error messages for callers: the library never prints, it hands the reason back. */
#include <stdio.h>
#include <string.h>

#include "drift/media/media.h"

int drift_media_error_set(struct drift_media_error *err, int code, const char *fmt, ...)
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

void drift_media_error_clear(struct drift_media_error *err)
{
    if (err) {
        err->code = 0;
        err->message[0] = '\0';
    }
}
