/* See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

static int use_journal;
static int max_priority = LOG_INFO;

/* JOURNAL_STREAM names the device and inode of the stream systemd gave us; only when stderr is
 * still that stream do we talk to the journal directly (a redirected stderr wins). */
static int stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
        return 0;
    return st.st_dev == dev && st.st_ino == ino;
}

void drift_log_init(void)
{
    use_journal = stderr_is_journal();
    const char *level = getenv("DRIFT_LOG_LEVEL");
    if (!level)
        return;
    if (!strcmp(level, "debug"))
        max_priority = LOG_DEBUG;
    else if (!strcmp(level, "info"))
        max_priority = LOG_INFO;
    else if (!strcmp(level, "warning"))
        max_priority = LOG_WARNING;
    else if (!strcmp(level, "err"))
        max_priority = LOG_ERR;
}

int drift_log_full(int priority, int error, const char *stream, const char *job, const char *fmt,
                   ...)
{
    int ret = error ? -abs(error) : 0;
    if (priority > max_priority)
        return ret;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (use_journal) {
        char f[6][2100];
        struct iovec iov[6];
        int n = 0;
        snprintf(f[n++], sizeof f[0], "MESSAGE=%s", msg);
        snprintf(f[n++], sizeof f[0], "PRIORITY=%i", priority);
        snprintf(f[n++], sizeof f[0], "SYSLOG_IDENTIFIER=driftd");
        if (stream)
            snprintf(f[n++], sizeof f[0], "STREAM=%s", stream);
        if (job)
            snprintf(f[n++], sizeof f[0], "JOB=%s", job);
        if (error)
            snprintf(f[n++], sizeof f[0], "ERRNO=%i", abs(error));
        for (int i = 0; i < n; i++)
            iov[i] = (struct iovec){ .iov_base = f[i], .iov_len = strlen(f[i]) };
        sd_journal_sendv(iov, n);
        return ret;
    }
    /* One write per line, so lines from several threads do not interleave. */
    char line[2300];
    snprintf(line, sizeof line, "driftd: %s%s%s%s%s%s\n", stream ? "stream " : "",
             stream ? stream : "", job ? "job " : "", job ? job : "", stream || job ? ": " : "",
             msg);
    fputs(line, stderr);
    return ret;
}
