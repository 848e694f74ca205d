/* A job as a key file: [job] for the state, [spec] for the settings. */
#include <errno.h>
#include <string.h>

#include "access.h"
#include "jobs.h"

const char *drift_job_state_name(enum drift_job_state state)
{
    static const char *const names[] = { "scheduled", "queued", "running", "done", "failed",
                                         "cancelled" };
    return state <= DRIFT_JOB_CANCELLED ? names[state] : "unknown";
}

int drift_job_state_from_name(const char *name)
{
    for (int i = 0; i <= DRIFT_JOB_CANCELLED; i++)
        if (!strcmp(name, drift_job_state_name(i)))
            return i;
    return -EINVAL;
}

char *drift_job_to_text(const struct drift_job *job, size_t *ret_size)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_key_file_set_string(kf, "job", "id", job->id);
    g_key_file_set_string(kf, "job", "state", drift_job_state_name(job->state));
    g_key_file_set_double(kf, "job", "progress", job->progress);
    g_key_file_set_string(kf, "job", "error", job->error);
    g_key_file_set_uint64(kf, "job", "created", job->created);
    g_key_file_set_uint64(kf, "job", "finished", job->finished);
    if (job->owner && job->owner[0])
        g_key_file_set_string(kf, "job", "owner", job->owner);
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        if (k == DRIFT_KEY_GUIDANCE && job->spec.guidance < 0)
            continue; /* the model's default */
        if (!(drift_setting_desc(k)->scope & DRIFT_SCOPE_JOB))
            continue; /* a live stream's key (on_demand, ...) */
        g_autofree char *v = drift_setting_to_string(&job->spec, k);
        g_key_file_set_string(kf, "spec", drift_setting_desc(k)->name, v);
    }
    gsize size;
    char *text = g_key_file_to_data(kf, &size, NULL);
    *ret_size = size;
    return text;
}

static int get_u64(GKeyFile *kf, const char *file, const char *key, uint64_t *ret,
                   struct drift_error *err)
{
    g_autoptr(GError) e = NULL;
    guint64 v = g_key_file_get_uint64(kf, "job", key, &e);
    if (e)
        return drift_error_set(err, -EINVAL, "%s: [job] %s: %s", file, key, e->message);
    *ret = v;
    return 0;
}

int drift_job_from_text(struct drift_job *job, const char *file, const char *text, size_t size,
                        struct drift_error *err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) e = NULL;
    if (!g_key_file_load_from_data(kf, text, size, G_KEY_FILE_NONE, &e))
        return drift_error_set(err, -EINVAL, "%s: %s", file, e->message);
    g_autofree char *id = g_key_file_get_string(kf, "job", "id", NULL);
    g_autofree char *state = g_key_file_get_string(kf, "job", "state", NULL);
    g_autofree char *error = g_key_file_get_string(kf, "job", "error", NULL);
    if (!id || !state || !error)
        return drift_error_set(err, -EINVAL, "%s: [job] needs id, state and error", file);
    int st = drift_job_state_from_name(state);
    if (st < 0)
        return drift_error_set(err, -EINVAL, "%s: [job] state: unknown state '%.32s'", file, state);
    uint64_t created = 0, finished = 0;
    int r;
    if ((r = get_u64(kf, file, "created", &created, err)) < 0 ||
        (r = get_u64(kf, file, "finished", &finished, err)) < 0)
        return r;
    /* Optional: files from before access control have none. */
    g_autofree char *owner = g_key_file_get_string(kf, "job", "owner", NULL);
    if (owner && !drift_user_name_valid(owner))
        return drift_error_set(err, -EINVAL, "%s: [job] owner: '%.64s' is not a user name", file,
                               owner);
    g_auto(GStrv) keys = g_key_file_get_keys(kf, "spec", NULL, NULL);
    if (!keys)
        return drift_error_set(err, -EINVAL, "%s: no [spec] section", file);
    for (size_t i = 0; keys[i]; i++) {
        g_autofree char *v = g_key_file_get_string(kf, "spec", keys[i], NULL);
        if (!v || drift_settings_set_string(&job->spec, DRIFT_SCOPE_JOB, keys[i], v,
                                            err) < 0) {
            drift_error_prefix(err, "%s: [spec]", file);
            return -EINVAL;
        }
    }
    if (!job->spec.model || !job->spec.output || !job->spec.format || job->spec.seconds <= 0)
        return drift_error_set(err, -EINVAL, "%s: [spec] lacks model, output, format or seconds",
                               file);
    job->id = g_steal_pointer(&id);
    job->state = st;
    job->error = g_steal_pointer(&error);
    job->progress = g_key_file_get_double(kf, "job", "progress", NULL);
    job->created = created;
    job->finished = finished;
    if (owner) {
        g_free(job->owner);
        job->owner = g_steal_pointer(&owner);
    }
    return 0;
}
