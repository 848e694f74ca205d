/* Jobs: submission, the scheduler, the render threads and persistence; see jobs.h. */
#define _GNU_SOURCE
#include "jobs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <systemd/sd-id128.h>

#include <drift/generator.h>

#include "bus.h"
#include "context.h"
#include "fileio.h"
#include "generation.h"
#include "log.h"
#include "render.h"
#include "spec.h"
#include "stream.h"

#define TICK_MS 250 /* scheduled jobs start within this of their time, whatever the clock did */

static struct drift_job *job_ref(struct drift_job *j)
{
    g_atomic_int_inc(&j->ref);
    return j;
}

static void job_unref(struct drift_job *j)
{
    if (!j || !g_atomic_int_dec_and_test(&j->ref))
        return;
    drift_settings_done(&j->spec);
    g_mutex_clear(&j->lock);
    g_free(j->id);
    g_free(j->path);
    g_free(j->file);
    g_free(j->output);
    g_free(j->error);
    g_free(j);
}

static struct drift_job *job_new(struct context *ctx)
{
    struct drift_job *j = g_new0(struct drift_job, 1);
    j->ref = 1;
    j->ctx = ctx;
    g_mutex_init(&j->lock);
    return j;
}

static void job_set_id(struct context *ctx, struct drift_job *j, const char *id)
{
    char *p = NULL;
    char *copy = g_strdup(id); /* id may be j->id */
    g_free(j->id);
    j->id = copy;
    (void)sd_bus_path_encode(DRIFT_JOB_PREFIX, copy, &p);
    j->path = g_strdup(p);
    free(p);
    g_autofree char *name = g_strdup_printf("%s.job", copy);
    j->file = g_build_filename(ctx->state_dir, "jobs", name, NULL);
}

static int job_save(struct drift_job *j)
{
    size_t size;
    g_autofree char *text = drift_job_to_text(j, &size);
    struct drift_error err = { 0 };
    int r = drift_write_file_atomic(j->file, text, size, &err);
    if (r < 0)
        log_job(LOG_ERR, j->id, "cannot save: %s", err.message);
    return r;
}

struct drift_job *drift_jobs_find_by_path(struct context *ctx, const char *path)
{
    for (guint i = 0; ctx->jobs && i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (!strcmp(j->path, path))
            return j;
    }
    return NULL;
}

int drift_jobs_append_paths(struct context *ctx, sd_bus_message *reply)
{
    int r = sd_bus_message_open_container(reply, 'a', "o");
    for (guint i = 0; r >= 0 && ctx->jobs && i < ctx->jobs->len; i++)
        r = sd_bus_message_append_basic(reply, 'o', ((struct drift_job *)ctx->jobs->pdata[i])->path);
    return r < 0 ? r : sd_bus_message_close_container(reply);
}

static void emit_finished(struct drift_job *j)
{
    struct context *ctx = j->ctx;
    for (guint i = 0; ctx->connections && i < ctx->connections->len; i++) {
        struct drift_bus_conn *c = ctx->connections->pdata[i];
        (void)sd_bus_emit_signal(c->bus, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "JobFinished",
                                 "os", j->path, drift_job_state_name(j->state));
    }
}

static void set_state(struct drift_job *j, enum drift_job_state state, const char *error)
{
    j->state = state;
    if (error) {
        g_free(j->error);
        j->error = g_strdup(error);
    }
    if (state >= DRIFT_JOB_DONE)
        j->finished = (uint64_t)g_get_real_time();
    job_save(j);
    drift_bus_emit_changed_va(j->ctx, j->path, DRIFT_JOB_IFACE, "State", "Progress", "Error");
    if (state >= DRIFT_JOB_DONE) {
        log_job(state == DRIFT_JOB_DONE ? LOG_INFO : LOG_WARNING, j->id, "%s%s%s%s",
                drift_job_state_name(state), state == DRIFT_JOB_DONE ? ": " : "",
                state == DRIFT_JOB_DONE ? j->output : "", j->error[0] ? j->error : "");
        emit_finished(j);
    } else {
        log_job(LOG_INFO, j->id, "%s", drift_job_state_name(state));
    }
}

/* Render threads give way to live streams: they run niced, and between two frames they wait
 * while a live stream is behind real time. */
static void throttle(void *userdata)
{
    struct drift_job *j = userdata;
    /* Test-only: a floor under the time a frame takes, so that crash tests can hit points
     * spread across a render however fast the machine is. */
    static int delay_ms = -1;
    if (delay_ms < 0) {
        const char *e = g_getenv("DRIFT_TEST_RENDER_FRAME_MS");
        delay_ms = e ? atoi(e) : 0;
    }
    if (delay_ms > 0)
        g_usleep((gulong)delay_ms * 1000);
    for (int i = 0; i < 50 && g_atomic_int_get(&j->ctx->live_behind) && !g_atomic_int_get(&j->cancel); i++)
        g_usleep(20000);
}

static void progress(void *userdata, double fraction)
{
    struct drift_job *j = userdata;
    g_mutex_lock(&j->lock);
    j->thread_progress = fraction;
    g_mutex_unlock(&j->lock);
}

struct job_result {
    struct drift_job *job;
    int result;
    struct drift_error err;
};

static gboolean job_thread_done(gpointer data);

static gpointer job_thread(gpointer data)
{
    struct drift_job *j = data;
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), (int)j->nice);
    struct drift_render_hooks hooks = { .progress = progress, .throttle = throttle,
                                        .userdata = j, .cancel = &j->cancel };
    struct job_result *res = g_new0(struct job_result, 1);
    res->job = j;
    res->result = drift_render_run(&j->spec, &hooks, &res->err);
    g_main_context_invoke(j->ctx->main_context, job_thread_done, res);
    return NULL;
}

static void schedule(struct context *ctx);

static gboolean job_thread_done(gpointer data)
{
    struct job_result *res = data;
    struct drift_job *j = res->job;
    g_thread_join(j->thread);
    j->thread = NULL;
    if (res->result >= 0) {
        j->progress = 1;
        set_state(j, DRIFT_JOB_DONE, "");
    } else if (j->ctx->shutting_down && res->result == -ECANCELED) {
        j->progress = 0; /* runs again at the next start */
        j->state = DRIFT_JOB_QUEUED;
        job_save(j);
    } else if (res->result == -ECANCELED) {
        set_state(j, DRIFT_JOB_CANCELLED, "");
    } else {
        set_state(j, DRIFT_JOB_FAILED, res->err.message[0] ? res->err.message : g_strerror(-res->result));
    }
    job_unref(j); /* the thread's */
    g_free(res);
    if (j->ctx->shutting_down)
        context_check_stopped(j->ctx);
    else
        schedule(j->ctx);
    return G_SOURCE_REMOVE;
}

static void start_job(struct drift_job *j)
{
    g_atomic_int_set(&j->cancel, 0);
    j->progress = 0;
    j->thread_progress = 0;
    set_state(j, DRIFT_JOB_RUNNING, "");
    g_autofree char *name = g_strdup_printf("job-%.8s", j->id);
    j->nice = j->ctx->config->jobs_nice;
    j->thread = g_thread_new(name, job_thread, job_ref(j));
}

/* Queued jobs by priority (higher first), then by age. */
static struct drift_job *next_queued(struct context *ctx)
{
    struct drift_job *best = NULL;
    for (guint i = 0; i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (j->state != DRIFT_JOB_QUEUED)
            continue;
        if (!best || j->priority > best->priority ||
            (j->priority == best->priority && j->created < best->created))
            best = j;
    }
    return best;
}

static unsigned live_behind(struct context *ctx)
{
    for (guint i = 0; i < ctx->streams->len; i++) {
        struct drift_stream *s = ctx->streams->pdata[i];
        struct drift_stream_live live;
        if (s->state != DRIFT_STREAM_RUNNING)
            continue;
        drift_stream_get_live(s, &live);
        if (live.degraded || (live.realtime_factor > 0 && live.realtime_factor < 1.05 &&
                              live.frames > (uint64_t)(3 * s->settings.fps)))
            return 1;
    }
    return 0;
}

static void schedule(struct context *ctx)
{
    if (ctx->shutting_down)
        return;
    uint64_t now = (uint64_t)g_get_real_time();
    unsigned running = 0;
    g_atomic_int_set(&ctx->live_behind, (gint)live_behind(ctx));
    for (guint i = 0; i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (j->state == DRIFT_JOB_SCHEDULED && j->not_before <= now)
            set_state(j, DRIFT_JOB_QUEUED, NULL);
        if (j->state == DRIFT_JOB_RUNNING) {
            running++;
            g_mutex_lock(&j->lock);
            double p = j->thread_progress;
            g_mutex_unlock(&j->lock);
            if (p != j->progress) {
                j->progress = p;
                drift_bus_emit_changed_va(ctx, j->path, DRIFT_JOB_IFACE, "Progress");
            }
        }
    }
    struct drift_job *j;
    while (running < ctx->config->jobs_concurrency && (j = next_queued(ctx))) {
        start_job(j);
        running++;
    }
}

static gboolean on_tick(gpointer data)
{
    schedule(data);
    return G_SOURCE_CONTINUE;
}

static void add_job(struct context *ctx, struct drift_job *j)
{
    g_ptr_array_add(ctx->jobs, j);
    drift_bus_emit_object_added(ctx, j->path);
    drift_bus_emit_changed_va(ctx, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Jobs");
}

static void remove_job(struct context *ctx, struct drift_job *j)
{
    drift_bus_emit_object_removed(ctx, j->path);
    (void)g_unlink(j->file);
    g_ptr_array_remove(ctx->jobs, j);
    drift_bus_emit_changed_va(ctx, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Jobs");
    job_unref(j);
}

static bool output_taken(struct context *ctx, const char *output)
{
    for (guint i = 0; i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (j->state < DRIFT_JOB_DONE && !strcmp(j->output, output))
            return true;
    }
    return false;
}

static int check_spec(struct context *ctx, struct drift_settings *spec, const char *id,
                      sd_bus_error *error)
{
    struct drift_error err = { 0 };
    g_autofree char *renders = g_build_filename(ctx->state_dir, "renders", NULL);
    if (drift_spec_complete(spec, renders, id, &err) < 0)
        return sd_bus_error_set(error, DRIFT_ERROR_INVALID_ARGUMENT, err.message);
    if (output_taken(ctx, spec->output))
        return sd_bus_error_setf(error, DRIFT_ERROR_EXISTS,
                                 "output: %s is the output of another unfinished job", spec->output);
    /* Both models, as a stream checks them: a job fails here, not when it runs. */
    if (drift_check_models(spec, NULL, &err) < 0)
        return sd_bus_error_set(error, DRIFT_ERROR_MODEL, err.message);
    return 0;
}

int drift_jobs_submit(struct context *ctx, sd_bus_message *m, sd_bus_error *error)
{
    if (ctx->jobs->len >= DRIFT_JOBS_MAX)
        return sd_bus_error_setf(error, DRIFT_ERROR_LIMIT, "%u jobs are kept; allowed: at most %d",
                                 ctx->jobs->len, DRIFT_JOBS_MAX);
    struct drift_job *j = job_new(ctx);
    drift_settings_init_stream(&j->spec, ctx->config->default_model, ctx->config->default_audio_model);
    int r = drift_bus_read_settings(m, DRIFT_SCOPE_JOB, &j->spec, error);
    sd_id128_t rnd;
    sd_id128_randomize(&rnd);
    char id[18]; /* a letter first: object paths need no escaping */
    snprintf(id, sizeof id, "j%016" PRIx64, rnd.qwords[0]);
    job_set_id(ctx, j, id);
    if (r >= 0)
        r = check_spec(ctx, &j->spec, id, error);
    if (r < 0) {
        job_unref(j);
        return r;
    }
    j->output = g_strdup(j->spec.output);
    j->error = g_strdup("");
    j->not_before = j->spec.not_before;
    j->priority = (uint32_t)j->spec.priority;
    j->created = (uint64_t)g_get_real_time();
    j->state = j->not_before > j->created ? DRIFT_JOB_SCHEDULED : DRIFT_JOB_QUEUED;
    if (job_save(j) < 0) {
        job_unref(j);
        return sd_bus_error_setf(error, DRIFT_ERROR_FAILED, "cannot save the job under %s/jobs",
                                 ctx->state_dir);
    }
    add_job(ctx, j);
    log_job(LOG_INFO, j->id, "submitted: %gs to %s%s", j->spec.seconds, j->output,
            j->state == DRIFT_JOB_SCHEDULED ? " (scheduled)" : "");
    r = sd_bus_reply_method_return(m, "o", j->path);
    schedule(ctx);
    return r;
}

int drift_job_cancel(struct drift_job *j, sd_bus_error *error)
{
    if (j->state >= DRIFT_JOB_DONE)
        return sd_bus_error_setf(error, DRIFT_ERROR_BUSY, "job %s is already %s", j->id,
                                 drift_job_state_name(j->state));
    if (j->state == DRIFT_JOB_RUNNING) {
        g_atomic_int_set(&j->cancel, 1); /* the thread stops within a frame */
        return 0;
    }
    set_state(j, DRIFT_JOB_CANCELLED, "");
    return 0;
}

/* The media layer's temporary file of an output: ".NAME.XXXXXX.part" beside it. A job that was
 * running when driftd died left one; it restarts from the beginning, so it goes. */
static void remove_partial_outputs(const char *output)
{
    g_autofree char *dir = g_path_get_dirname(output);
    g_autofree char *base = g_path_get_basename(output);
    g_autofree char *prefix = g_strdup_printf(".%s.", base);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        if (g_str_has_prefix(n, prefix) && g_str_has_suffix(n, ".part")) {
            g_autofree char *p = g_build_filename(dir, n, NULL);
            if (g_unlink(p) == 0)
                log_info("removed the partial output %s of an interrupted render", p);
        }
    }
}

static int load_one(struct context *ctx, const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = NULL;
    gsize size;
    struct drift_error err = { 0 };
    struct drift_job *j = job_new(ctx);
    int r = -EIO;
    /* Keys a job file leaves out (guidance: the model's default) keep their defaults. */
    drift_settings_init_stream(&j->spec, ctx->config->default_model, ctx->config->default_audio_model);
    if (!g_file_get_contents(path, &text, &size, NULL))
        drift_error_set(&err, -EIO, "%s: cannot read", path);
    else if ((r = drift_job_from_text(j, path, text, size, &err)) >= 0) {
        g_autofree char *stem = g_strndup(name, strlen(name) - strlen(".job"));
        if (strcmp(stem, j->id))
            r = drift_error_set(&err, -EINVAL, "%s: id '%s' does not match the file name", path, j->id);
    }
    if (r < 0) {
        g_autofree char *aside = g_strconcat(path, ".bad", NULL);
        log_error("%s; moved aside to %s", err.message, aside);
        (void)g_rename(path, aside);
        job_unref(j);
        return r;
    }
    job_set_id(ctx, j, j->id);
    j->output = g_strdup(j->spec.output);
    j->not_before = j->spec.not_before;
    j->priority = (uint32_t)j->spec.priority;
    if (j->state == DRIFT_JOB_RUNNING) {
        log_job(LOG_WARNING, j->id, "was running when driftd stopped; restarting from the beginning");
        remove_partial_outputs(j->output);
        j->state = DRIFT_JOB_QUEUED;
        j->progress = 0;
        job_save(j);
    }
    g_ptr_array_add(ctx->jobs, j);
    return 0;
}

static gint by_created(gconstpointer a, gconstpointer b)
{
    const struct drift_job *x = *(struct drift_job *const *)a, *y = *(struct drift_job *const *)b;
    return x->created < y->created ? -1 : x->created > y->created;
}

/* Finished job records go after keep_days; outputs of done jobs after output_keep_days, and
 * the oldest first while they take more than output_max_mb. 0 = keep. */
static void retention(struct context *ctx)
{
    const struct driftd_config *c = ctx->config;
    uint64_t now = (uint64_t)g_get_real_time(), day = 86400ULL * 1000000ULL;
    uint64_t total = 0, max = (uint64_t)c->jobs_output_max_mb * 1024 * 1024;
    for (guint i = ctx->jobs->len; i-- > 0;) { /* newest first: the oldest go over the limit */
        struct drift_job *j = ctx->jobs->pdata[i];
        GStatBuf st;
        if (j->state == DRIFT_JOB_DONE && g_stat(j->output, &st) == 0) {
            total += (uint64_t)st.st_size;
            bool old = c->jobs_output_keep_days && now - j->finished > c->jobs_output_keep_days * day;
            if (old || (max && total > max)) {
                log_job(LOG_INFO, j->id, "retention: removing output %s", j->output);
                (void)g_unlink(j->output);
            }
        }
        if (j->state >= DRIFT_JOB_DONE && c->jobs_keep_days && now - j->finished > c->jobs_keep_days * day) {
            log_job(LOG_INFO, j->id, "retention: removing the record");
            remove_job(ctx, j);
        }
    }
}

static gboolean on_retention(gpointer data)
{
    retention(data);
    return G_SOURCE_CONTINUE;
}

int drift_jobs_init(struct context *ctx)
{
    g_autofree char *dir = g_build_filename(ctx->state_dir, "jobs", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        if (n[0] == '.' && strstr(n, ".job."))
            (void)g_unlink(p); /* a temporary file of an interrupted save */
        else if (g_str_has_suffix(n, ".job"))
            (void)load_one(ctx, dir, n);
    }
    g_ptr_array_sort(ctx->jobs, by_created);
    retention(ctx);
    if (ctx->jobs->len)
        log_info("%u job%s found in %s", ctx->jobs->len, ctx->jobs->len == 1 ? "" : "s", dir);
    ctx->jobs_timer = g_timeout_add(TICK_MS, on_tick, ctx);
    ctx->retention_timer = g_timeout_add_seconds(3600, on_retention, ctx);
    schedule(ctx);
    return 0;
}

bool drift_jobs_active(struct context *ctx)
{
    for (guint i = 0; ctx->jobs && i < ctx->jobs->len; i++)
        if (((struct drift_job *)ctx->jobs->pdata[i])->thread)
            return true;
    return false;
}

void drift_jobs_shutdown(struct context *ctx)
{
    for (guint i = 0; ctx->jobs && i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (j->thread)
            g_atomic_int_set(&j->cancel, 1);
    }
}

void drift_jobs_free(struct context *ctx)
{
    if (ctx->jobs_timer)
        g_source_remove(ctx->jobs_timer);
    if (ctx->retention_timer)
        g_source_remove(ctx->retention_timer);
    ctx->jobs_timer = ctx->retention_timer = 0;
    for (guint i = 0; ctx->jobs && i < ctx->jobs->len; i++) {
        struct drift_job *j = ctx->jobs->pdata[i];
        if (!j->thread) /* a render that did not stop in time: the process exit ends it */
            job_unref(j);
    }
    if (ctx->jobs)
        g_ptr_array_unref(ctx->jobs);
    ctx->jobs = NULL;
}
