/* libFuzzer target: job records as driftd finds them under STATE/jobs/ at start-up
 * (daemon/jobs_file.c). As the daemon does, the spec starts from a stream's defaults; a record
 * is then either loaded — and what the daemon would write back from it loads again to the same
 * job — or refused with a message (the daemon moves such a file aside). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

#define VIDEO "/usr/share/drift/models/video.safetensors"
#define AUDIO "/usr/share/drift/models/audio.safetensors"

static void job_clear(struct drift_job *j)
{
    drift_settings_done(&j->spec);
    g_free(j->id);
    g_free(j->error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drift_job job = { 0 };
    struct drift_error err = { 0 };
    drift_settings_init_stream(&job.spec, VIDEO, AUDIO);
    int r = drift_job_from_text(&job, "/var/lib/drift/jobs/x.job", (const char *)data, size, &err);
    if (r < 0) {
        if (!err.message[0])
            abort();
        job_clear(&job);
        return 0;
    }
    if (!job.id || !job.error || job.state > DRIFT_JOB_CANCELLED)
        abort();
    size_t n;
    char *text = drift_job_to_text(&job, &n);
    struct drift_job again = { 0 };
    drift_settings_init_stream(&again.spec, VIDEO, AUDIO);
    if (drift_job_from_text(&again, "again.job", text, n, &err) < 0) {
        fprintf(stderr, "round trip refused: %s\n--\n%s\n", err.message, text);
        abort();
    }
    if (strcmp(job.id, again.id) || job.state != again.state || strcmp(job.error, again.error) ||
        job.created != again.created || job.finished != again.finished ||
        drift_settings_diff(&job.spec, &again.spec)) {
        fprintf(stderr, "round trip changed the job (diff mask %#x)\n--\n%s\n",
                drift_settings_diff(&job.spec, &again.spec), text);
        abort();
    }
    g_free(text);
    job_clear(&again);
    job_clear(&job);
    return 0;
}
