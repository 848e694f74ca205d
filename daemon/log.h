/* Logging: to the journal with structured fields (STREAM=, JOB=) when systemd connected stderr to
 * it (JOURNAL_STREAM), to stderr otherwise. Safe from any thread. */
#ifndef DRIFT_DAEMON_LOG_H
#define DRIFT_DAEMON_LOG_H

#include <syslog.h>

/* Decides journal or stderr; reads DRIFT_LOG_LEVEL (err, warning, info, debug). */
void drift_log_init(void);

/* stream and job may be NULL. Returns -abs(error) when error != 0 so that callers can write
 * `return drift_log_error(r, ...)`; 0 otherwise. */
int drift_log_full(int priority, int error, const char *stream, const char *job, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

#define log_debug(...) drift_log_full(LOG_DEBUG, 0, NULL, NULL, __VA_ARGS__)
#define log_info(...) drift_log_full(LOG_INFO, 0, NULL, NULL, __VA_ARGS__)
#define log_notice(...) drift_log_full(LOG_NOTICE, 0, NULL, NULL, __VA_ARGS__)
#define log_warning(...) drift_log_full(LOG_WARNING, 0, NULL, NULL, __VA_ARGS__)
#define log_error(...) drift_log_full(LOG_ERR, 0, NULL, NULL, __VA_ARGS__)
#define log_error_errno(r, ...) drift_log_full(LOG_ERR, (r), NULL, NULL, __VA_ARGS__)
#define log_stream(prio, name, ...) drift_log_full((prio), 0, (name), NULL, __VA_ARGS__)
#define log_job(prio, id, ...) drift_log_full((prio), 0, NULL, (id), __VA_ARGS__)

#endif
