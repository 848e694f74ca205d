/* Jobs: submission, the scheduler, the render threads and persistence; see jobs.h. */
#define _GNU_SOURCE
#include "jobs.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include <drift/generator.h>

#include "bus_names.h"
#include "fileio.h"
#include "generation.h"
#include "log.h"
#include "spec.h"

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
    g_free(j->owner);
    g_free(j);
}

static struct drift_job *job_new(struct drift_jobs *jobs)
{
    struct drift_job *j = g_new0(struct drift_job, 1);
    j->ref = 1;
    j->jobs = jobs;
    j->owner = g_strdup("");
    g_mutex_init(&j->lock);
    return j;
}

static void job_set_id(struct drift_jobs *jobs, struct drift_job *j, const char *id)
{
    char *p = NULL;
    char *copy = g_strdup(id); /* id may be j->id */
    g_free(j->id);
    j->id = copy;
    (void)sd_bus_path_encode(DRIFT_JOB_PREFIX, copy, &p);
    j->path = g_strdup(p);
    free(p);
    g_autofree char *name = g_strdup_printf("%s.job", copy);
    j->file = g_build_filename(jobs->state_dir, "jobs", name, NULL);
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

struct drift_job *drift_jobs_find_by_path(struct drift_jobs *jobs, const char *path)
{
    for (guint i = 0; i < jobs->list->len; i++) {
        struct drift_job *j = jobs->list->pdata[i];
        if (!strcmp(j->path, path))
            return j;
    }
    return NULL;
}

static uint64_t now(struct drift_jobs *jobs)
{
    return jobs->host->now(jobs->host->userdata);
}

static void set_state(struct drift_job *j, enum drift_job_state state, const char *error)
{
    j->state = state;
    if (error) {
        g_free(j->error);
        j->error = g_strdup(error);
    }
    if (state >= DRIFT_JOB_DONE)
        j->finished = now(j->jobs);
    job_save(j);
    drift_emit_changed_va(j->jobs->host->emit, j->path, DRIFT_JOB_IFACE, "State", "Progress",
                          "Error");
    if (state >= DRIFT_JOB_DONE) {
        log_job(state == DRIFT_JOB_DONE ? LOG_INFO : LOG_WARNING, j->id, "%s%s%s%s",
                drift_job_state_name(state), state == DRIFT_JOB_DONE ? ": " : "",
                state == DRIFT_JOB_DONE ? j->output : "", j->error[0] ? j->error : "");
        drift_emit_job_finished(j->jobs->host->emit, j->path, drift_job_state_name(state));
    } else {
        log_job(LOG_INFO, j->id, "%s", drift_job_state_name(state));
    }
}

/* Puts the render's threads (the render thread and the OpenMP team it made, which inherited its
 * name) under SCHED_IDLE, or back to the normal policy at the job's niceness. Going back needs
 * RLIMIT_NICE room (or CAP_SYS_NICE): when refused they stay SCHED_IDLE, which only costs the
 * render speed when something else wants the CPU. Returns whether every thread took it. */
static bool set_render_policy(struct drift_job *j, bool idle)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
    if (!dir)
        return false;
    bool ok = true;
    const char *tid_name;
    while ((tid_name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/self/task/%s/comm", tid_name);
        g_autofree char *comm = NULL;
        if (!g_file_get_contents(path, &comm, NULL, NULL) || strcmp(g_strchomp(comm), j->thread_name))
            continue;
        pid_t tid = (pid_t)g_ascii_strtoll(tid_name, NULL, 10);
        struct sched_param p = { 0 };
        if (sched_setscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, &p) < 0)
            ok = false;
        else if (!idle)
            (void)setpriority(PRIO_PROCESS, (id_t)tid, (int)j->nice);
    }
    return ok;
}

/* Render threads give way to live streams: they run niced; while a live stream generates they
 * take only the CPU time nothing else wants (SCHED_IDLE) on one thread (render.c says why), and
 * between two frames they wait while a live stream is behind real time (or measuring after a
 * start or a wake). With every live stream idle they run as driftd --render would. */
static int throttle(void *userdata)
{
    struct drift_job *j = userdata;
    bool idle = g_atomic_int_get(&j->jobs->live_active);
    if (idle != j->sched_idle && !j->policy_stuck) {
        if (!set_render_policy(j, idle) && !idle) {
            j->policy_stuck = true; /* SCHED_IDLE for good: not allowed back */
            log_job(LOG_DEBUG, j->id, "render threads stay SCHED_IDLE: %s", g_strerror(errno));
        } else {
            j->sched_idle = idle;
        }
    }
    for (int i = 0; i < 50 && g_atomic_int_get(&j->jobs->live_behind) &&
                    !g_atomic_int_get(&j->cancel); i++)
        g_usleep(20000);
    return idle ? 1 : 0;
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
    /* Never above the live streams, whose threads run at the process's niceness: a driftd
     * started niced keeps its renders at least as nice. The render's OpenMP team, made by this
     * thread, inherits it. */
    errno = 0;
    int base = getpriority(PRIO_PROCESS, (id_t)gettid());
    if (errno)
        base = 0;
    j->nice = (unsigned)MAX(base, (int)j->nice);
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), (int)j->nice);
    j->sched_idle = j->policy_stuck = false;
    struct drift_render_hooks hooks = { .progress = progress, .throttle = throttle,
                                        .userdata = j, .cancel = &j->cancel };
    struct job_result *res = g_new0(struct job_result, 1);
    res->job = j;
    res->result = j->jobs->host->render(&j->spec, &hooks, &res->err);
    /* Always through a source: job_thread_done joins this thread on the main thread. */
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, job_thread_done, res, NULL);
    g_source_attach(src, j->jobs->host->main_context);
    g_source_unref(src);
    return NULL;
}

static gboolean job_thread_done(gpointer data)
{
    struct job_result *res = data;
    struct drift_job *j = res->job;
    struct drift_jobs *jobs = j->jobs;
    g_thread_join(j->thread);
    j->thread = NULL;
    if (res->result >= 0) {
        j->progress = 1;
        set_state(j, DRIFT_JOB_DONE, "");
    } else if (jobs->shutting_down && res->result == -ECANCELED) {
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
    if (!jobs->shutting_down)
        drift_jobs_schedule(jobs);
    else if (jobs->host->idle)
        jobs->host->idle(jobs->host->userdata);
    return G_SOURCE_REMOVE;
}

static void start_job(struct drift_job *j)
{
    g_atomic_int_set(&j->cancel, 0);
    j->progress = 0;
    j->thread_progress = 0;
    set_state(j, DRIFT_JOB_RUNNING, "");
    g_snprintf(j->thread_name, sizeof j->thread_name, "job-%.8s", j->id);
    j->nice = j->jobs->config->jobs_nice;
    j->thread = g_thread_new(j->thread_name, job_thread, job_ref(j));
}

/* Queued jobs by priority (higher first), then by age. */
static struct drift_job *next_queued(struct drift_jobs *jobs)
{
    struct drift_job *best = NULL;
    for (guint i = 0; i < jobs->list->len; i++) {
        struct drift_job *j = jobs->list->pdata[i];
        if (j->state != DRIFT_JOB_QUEUED)
            continue;
        if (!best || j->priority > best->priority ||
            (j->priority == best->priority && j->created < best->created))
            best = j;
    }
    return best;
}

void drift_jobs_schedule(struct drift_jobs *jobs)
{
    if (jobs->shutting_down)
        return;
    const struct drift_jobs_host *h = jobs->host;
    uint64_t t = now(jobs);
    unsigned running = 0;
    g_atomic_int_set(&jobs->live_behind, h->live_behind && h->live_behind(h->userdata));
    g_atomic_int_set(&jobs->live_active, h->live_active && h->live_active(h->userdata));
    for (guint i = 0; i < jobs->list->len; i++) {
        struct drift_job *j = jobs->list->pdata[i];
        if (j->state == DRIFT_JOB_SCHEDULED && j->not_before <= t)
            set_state(j, DRIFT_JOB_QUEUED, NULL);
        if (j->state == DRIFT_JOB_RUNNING) {
            running++;
            g_mutex_lock(&j->lock);
            double p = j->thread_progress;
            g_mutex_unlock(&j->lock);
            if (p != j->progress) {
                j->progress = p;
                drift_emit_changed_va(h->emit, j->path, DRIFT_JOB_IFACE, "Progress");
            }
        }
    }
    struct drift_job *j;
    while (running < jobs->config->jobs_concurrency && (j = next_queued(jobs))) {
        start_job(j);
        running++;
    }
}

static gboolean on_tick(gpointer data)
{
    drift_jobs_schedule(data);
    return G_SOURCE_CONTINUE;
}

static void add_job(struct drift_jobs *jobs, struct drift_job *j)
{
    g_ptr_array_add(jobs->list, j);
    drift_emit_added(jobs->host->emit, j->path);
    drift_emit_changed_va(jobs->host->emit, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Jobs");
}

static void remove_job(struct drift_jobs *jobs, struct drift_job *j)
{
    drift_emit_removed(jobs->host->emit, j->path);
    (void)g_unlink(j->file);
    g_ptr_array_remove(jobs->list, j);
    drift_emit_changed_va(jobs->host->emit, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "Jobs");
    job_unref(j);
}

static bool output_taken(struct drift_jobs *jobs, const char *output)
{
    for (guint i = 0; i < jobs->list->len; i++) {
        struct drift_job *j = jobs->list->pdata[i];
        if (j->state < DRIFT_JOB_DONE && !strcmp(j->output, output))
            return true;
    }
    return false;
}

static int check_spec(struct drift_jobs *jobs, struct drift_settings *spec, const char *id,
                      struct drift_error *err)
{
    g_autofree char *renders = g_build_filename(jobs->state_dir, "renders", NULL);
    if (drift_spec_complete(spec, renders, id, err) < 0)
        return -EINVAL;
    if (output_taken(jobs, spec->output))
        return drift_error_set(err, -EEXIST, "output: %s is the output of another unfinished job",
                               spec->output);
    /* Both models, as a stream checks them: a job fails here, not when it runs. */
    if (drift_check_models(spec, NULL, err) < 0)
        return -ENOEXEC;
    return 0;
}

int drift_jobs_submit(struct drift_jobs *jobs, struct drift_settings *spec, const char *owner,
                      struct drift_job **ret, struct drift_error *err)
{
    if (jobs->list->len >= DRIFT_JOBS_MAX) {
        drift_settings_done(spec);
        return drift_error_set(err, -E2BIG, "%u jobs are kept; allowed: at most %d",
                               jobs->list->len, DRIFT_JOBS_MAX);
    }
    struct drift_job *j = job_new(jobs);
    j->spec = *spec;
    *spec = (struct drift_settings){ 0 };
    sd_id128_t rnd;
    sd_id128_randomize(&rnd);
    char id[18]; /* a letter first: object paths need no escaping */
    snprintf(id, sizeof id, "j%016" PRIx64, rnd.qwords[0]);
    job_set_id(jobs, j, id);
    int r = check_spec(jobs, &j->spec, id, err);
    if (r < 0) {
        job_unref(j);
        return r;
    }
    j->output = g_strdup(j->spec.output);
    j->error = g_strdup("");
    j->not_before = j->spec.not_before;
    j->priority = (uint32_t)j->spec.priority;
    j->created = now(jobs);
    g_free(j->owner);
    j->owner = g_strdup(owner ? owner : "");
    j->state = j->not_before > j->created ? DRIFT_JOB_SCHEDULED : DRIFT_JOB_QUEUED;
    if (job_save(j) < 0) {
        job_unref(j);
        return drift_error_set(err, -EIO, "cannot save the job under %s/jobs", jobs->state_dir);
    }
    add_job(jobs, j);
    log_job(LOG_INFO, j->id, "submitted: %gs to %s%s", j->spec.seconds, j->output,
            j->state == DRIFT_JOB_SCHEDULED ? " (scheduled)" : "");
    *ret = j;
    drift_jobs_schedule(jobs);
    return 0;
}

int drift_job_cancel(struct drift_job *j, struct drift_error *err)
{
    if (j->state >= DRIFT_JOB_DONE)
        return drift_error_set(err, -EALREADY, "job %s is already %s", j->id,
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

static int load_one(struct drift_jobs *jobs, const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = NULL;
    gsize size;
    struct drift_error err = { 0 };
    struct drift_job *j = job_new(jobs);
    int r = -EIO;
    /* Keys a job file leaves out (guidance: the model's default) keep their defaults. */
    drift_settings_init_stream(&j->spec, jobs->config->default_model,
                               jobs->config->default_audio_model);
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
    job_set_id(jobs, j, j->id);
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
    g_ptr_array_add(jobs->list, j);
    return 0;
}

static gint by_created(gconstpointer a, gconstpointer b)
{
    const struct drift_job *x = *(struct drift_job *const *)a, *y = *(struct drift_job *const *)b;
    return x->created < y->created ? -1 : x->created > y->created;
}

/* Finished job records go after keep_days; outputs of done jobs after output_keep_days, and
 * the oldest first while they take more than output_max_mb. 0 = keep. */
static void retention(struct drift_jobs *jobs)
{
    const struct driftd_config *c = jobs->config;
    uint64_t t = now(jobs), day = 86400ULL * 1000000ULL;
    uint64_t total = 0, max = (uint64_t)c->jobs_output_max_mb * 1024 * 1024;
    for (guint i = jobs->list->len; i-- > 0;) { /* newest first: the oldest go over the limit */
        struct drift_job *j = jobs->list->pdata[i];
        GStatBuf st;
        if (j->state == DRIFT_JOB_DONE && g_stat(j->output, &st) == 0) {
            total += (uint64_t)st.st_size;
            bool old = c->jobs_output_keep_days && t - j->finished > c->jobs_output_keep_days * day;
            if (old || (max && total > max)) {
                log_job(LOG_INFO, j->id, "retention: removing output %s", j->output);
                (void)g_unlink(j->output);
            }
        }
        if (j->state >= DRIFT_JOB_DONE && c->jobs_keep_days && t - j->finished > c->jobs_keep_days * day) {
            log_job(LOG_INFO, j->id, "retention: removing the record");
            remove_job(jobs, j);
        }
    }
}

static gboolean on_retention(gpointer data)
{
    retention(data);
    return G_SOURCE_CONTINUE;
}

struct drift_jobs *drift_jobs_new(const struct drift_jobs_host *host, const char *state_dir,
                                  const struct driftd_config *config)
{
    struct drift_jobs *jobs = g_new0(struct drift_jobs, 1);
    jobs->host = host;
    jobs->config = config;
    jobs->state_dir = g_strdup(state_dir);
    jobs->list = g_ptr_array_new();
    return jobs;
}

void drift_jobs_set_config(struct drift_jobs *jobs, const struct driftd_config *config)
{
    jobs->config = config;
}

int drift_jobs_start(struct drift_jobs *jobs)
{
    g_autofree char *dir = g_build_filename(jobs->state_dir, "jobs", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        if (n[0] == '.' && strstr(n, ".job."))
            (void)g_unlink(p); /* a temporary file of an interrupted save */
        else if (g_str_has_suffix(n, ".job"))
            (void)load_one(jobs, dir, n);
    }
    g_ptr_array_sort(jobs->list, by_created);
    retention(jobs);
    if (jobs->list->len)
        log_info("%u job%s found in %s", jobs->list->len, jobs->list->len == 1 ? "" : "s", dir);
    jobs->tick_timer = g_timeout_add(TICK_MS, on_tick, jobs);
    jobs->retention_timer = g_timeout_add_seconds(3600, on_retention, jobs);
    drift_jobs_schedule(jobs);
    return 0;
}

bool drift_jobs_active(struct drift_jobs *jobs)
{
    for (guint i = 0; jobs && i < jobs->list->len; i++)
        if (((struct drift_job *)jobs->list->pdata[i])->thread)
            return true;
    return false;
}

void drift_jobs_shutdown(struct drift_jobs *jobs)
{
    jobs->shutting_down = true;
    for (guint i = 0; i < jobs->list->len; i++) {
        struct drift_job *j = jobs->list->pdata[i];
        if (j->thread)
            g_atomic_int_set(&j->cancel, 1);
    }
}

void drift_jobs_free(struct drift_jobs *jobs)
{
    if (!jobs)
        return;
    if (jobs->tick_timer)
        g_source_remove(jobs->tick_timer);
    if (jobs->retention_timer)
        g_source_remove(jobs->retention_timer);
    jobs->tick_timer = jobs->retention_timer = 0;
    if (drift_jobs_active(jobs))
        return; /* a render that did not stop in time uses them: the process exit ends it */
    g_ptr_array_set_free_func(jobs->list, (GDestroyNotify)job_unref);
    g_ptr_array_unref(jobs->list);
    g_free(jobs->state_dir);
    g_free(jobs);
}
