/* See errors.h. */
#include "errors.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

const char *drift_error_name(int code)
{
    switch (code < 0 ? -code : code) {
    case EINVAL: case ENAMETOOLONG: case ERANGE: return DRIFT_ERROR_INVALID_ARGUMENT;
    case ENOENT: case ESRCH: return DRIFT_ERROR_NOT_FOUND;
    case EEXIST: return DRIFT_ERROR_EXISTS;
    case EBUSY: case EALREADY: case EAGAIN: return DRIFT_ERROR_BUSY;
    case E2BIG: case ENOSPC: case EMFILE: return DRIFT_ERROR_LIMIT;
    case EOPNOTSUPP: return DRIFT_ERROR_NOT_SUPPORTED;
    case EBADMSG: case ENOEXEC: case EPROTO: return DRIFT_ERROR_MODEL;
    case EACCES: case EPERM: return DRIFT_ERROR_ACCESS_DENIED;
    default: return DRIFT_ERROR_FAILED;
    }
}

unsigned drift_error_http_status(int code)
{
    static const struct {
        const char *name;
        unsigned status;
    } statuses[] = {
        { DRIFT_ERROR_INVALID_ARGUMENT, 400 }, { DRIFT_ERROR_ACCESS_DENIED, 403 },
        { DRIFT_ERROR_NOT_FOUND, 404 },        { DRIFT_ERROR_EXISTS, 409 },
        { DRIFT_ERROR_BUSY, 409 },             { DRIFT_ERROR_LIMIT, 409 },
        { DRIFT_ERROR_MODEL, 422 },            { DRIFT_ERROR_NOT_SUPPORTED, 501 },
    };
    const char *name = drift_error_name(code);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (!strcmp(statuses[i].name, name))
            return statuses[i].status;
    return 500;
}
