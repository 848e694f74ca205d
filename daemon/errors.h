/* The org.drift1.Error names of DESIGN.md and the one mapping from the daemon's negative errnos
 * to them, shared by every front end (D-Bus error names, the HTTP API's "error" member). */
#ifndef DRIFT_DAEMON_ERRORS_H
#define DRIFT_DAEMON_ERRORS_H

#define DRIFT_ERROR_INVALID_ARGUMENT "org.drift1.Error.InvalidArgument"
#define DRIFT_ERROR_NOT_FOUND "org.drift1.Error.NotFound"
#define DRIFT_ERROR_EXISTS "org.drift1.Error.Exists"
#define DRIFT_ERROR_BUSY "org.drift1.Error.Busy"
#define DRIFT_ERROR_LIMIT "org.drift1.Error.LimitExceeded"
#define DRIFT_ERROR_MODEL "org.drift1.Error.ModelError"
#define DRIFT_ERROR_NOT_SUPPORTED "org.drift1.Error.NotSupported"
#define DRIFT_ERROR_FAILED "org.drift1.Error.Failed"
#define DRIFT_ERROR_ACCESS_DENIED "org.drift1.Error.AccessDenied"

/* The name for a negative (or positive) errno as the daemon's operations return them:
 * EINVAL, ENAMETOOLONG, ERANGE -> InvalidArgument; ENOENT, ESRCH -> NotFound; EEXIST -> Exists;
 * EBUSY, EALREADY, EAGAIN -> Busy; E2BIG, ENOSPC, EMFILE -> LimitExceeded; EOPNOTSUPP ->
 * NotSupported; EBADMSG, ENOEXEC, EPROTO -> ModelError; EACCES, EPERM -> AccessDenied; anything
 * else -> Failed.
 * Transfer none (a constant). */
const char *drift_error_name(int code);

/* The HTTP status that goes with the name drift_error_name(code) gives: InvalidArgument 400,
 * AccessDenied 403, NotFound 404, Exists, Busy and LimitExceeded 409 (the request conflicts
 * with what runs now), ModelError 422, NotSupported 501, Failed 500. */
unsigned drift_error_http_status(int code);

#endif
