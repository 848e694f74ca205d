/* The job scheduler alone: a fake renderer (no engine, no encoder), a fake wall clock and an
 * emitter that records instead of a bus. not_before follows the wall clock whichever way it is
 * set; queued jobs start by priority, then age, up to the concurrency; jobs are found again
 * after a restart (a running one restarts, its partial output goes); cancel and submission
 * errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fileio.h"
#include "main_loop_wait.h"
#include "jobs.h"
#include "spec.h"

#define MODEL DRIFT_SOURCE_ROOT "/tests/fixtures/dit/tiny.safetensors"
#define HOUR (3600ULL * G_USEC_PER_SEC)

/* ---- the fake renderer: renders until released (or cancelled) ---------------------------- */

static struct {
    GMutex lock;
    int running, most_running, renders;
    GString *order;        /* prompts in the order renders started */
    gint release;          /* renders return when set */
    int fail;              /* renders fail with this (0: succeed) */
    gint threads_cap;      /* what the last throttle allowed (0: no cap) */
} fake;

static int fake_render(const struct drift_settings *spec, const struct drift_render_hooks *hooks,
                       struct drift_error *err)
{
    g_mutex_lock(&fake.lock);
    fake.renders++;
    fake.running++;
    fake.most_running = MAX(fake.most_running, fake.running);
    g_string_append_printf(fake.order, "%s ", spec->prompt);
    g_mutex_unlock(&fake.lock);
    int r = 0;
    for (int i = 0; !g_atomic_int_get(&fake.release); i++) {
        if (hooks->throttle)
            g_atomic_int_set(&fake.threads_cap, hooks->throttle(hooks->userdata));
        if (g_atomic_int_get(hooks->cancel)) {
            r = drift_error_set(err, -ECANCELED, "cancelled");
            break;
        }
        hooks->progress(hooks->userdata, i < 50 ? 0.01 * i : 0.5);
        g_usleep(1000);
    }
    if (r == 0 && fake.fail)
        r = drift_error_set(err, fake.fail, "the disk is full");
    g_mutex_lock(&fake.lock);
    fake.running--;
    g_mutex_unlock(&fake.lock);
    return r;
}

/* Read under the renderer's lock: what a render wrote before is then seen too. */
static int renders_started(void)
{
    g_mutex_lock(&fake.lock);
    int n = fake.renders;
    g_mutex_unlock(&fake.lock);
    return n;
}

static int renders_running(void)
{
    g_mutex_lock(&fake.lock);
    int n = fake.running;
    g_mutex_unlock(&fake.lock);
    return n;
}

/* ---- the host: a wall clock the tests set, an emitter that records -------------------------- */

static uint64_t wall;      /* µs since the epoch */
static GString *said;      /* "added PATH", "changed PATH NAME…", "finished PATH STATE" */
static int idles;

static uint64_t fake_now(void *userdata) { return wall; }
static void fake_idle(void *userdata) { idles++; }

static void on_changed(void *userdata, const char *path, const char *iface,
                       const char *const *names)
{
    g_string_append_printf(said, "changed %s", path);
    for (size_t i = 0; names[i]; i++)
        g_string_append_printf(said, " %s", names[i]);
    g_string_append(said, "\n");
}
static void on_added(void *userdata, const char *path)
{
    g_string_append_printf(said, "added %s\n", path);
}
static void on_removed(void *userdata, const char *path)
{
    g_string_append_printf(said, "removed %s\n", path);
}
static void on_finished(void *userdata, const char *path, const char *state)
{
    g_string_append_printf(said, "finished %s %s\n", path, state);
}

static const struct drift_emitter emitter = {
    .changed = on_changed, .added = on_added, .removed = on_removed, .job_finished = on_finished,
};

static const struct drift_jobs_host host = {
    .emit = &emitter,
    .render = fake_render,
    .now = fake_now,
    .idle = fake_idle,
};

struct fixture {
    char *dir;
    struct driftd_config *config;
    struct drift_jobs *jobs;
};

static int setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);
    f->dir = g_dir_make_tmp("drift-jobs-XXXXXX", NULL);
    assert_non_null(f->dir);
    g_autofree char *jobs_dir = g_build_filename(f->dir, "jobs", NULL);
    g_autofree char *renders = g_build_filename(f->dir, "renders", NULL);
    g_mkdir(jobs_dir, 0700);
    g_mkdir(renders, 0700);
    f->config = driftd_config_new(MODEL, "");
    f->config->jobs_concurrency = 1;
    wall = 1800000000ULL * G_USEC_PER_SEC;
    if (fake.order)
        g_string_free(fake.order, TRUE);
    if (said)
        g_string_free(said, TRUE);
    fake.order = g_string_new(NULL);
    said = g_string_new(NULL);
    fake.running = fake.most_running = fake.renders = fake.fail = 0;
    g_atomic_int_set(&fake.release, 0);
    idles = 0;
    *state = f;
    return 0;
}

static void drain(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static void free_jobs(struct fixture *f)
{
    if (!f->jobs)
        return;
    g_atomic_int_set(&fake.release, 1);
    WAIT_FOR(!drift_jobs_active(f->jobs));
    drain();
    drift_jobs_free(f->jobs);
    f->jobs = NULL;
}

static void rm_rf(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(path, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            rm_rf(p);
        else
            g_unlink(p);
    }
    g_rmdir(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free_jobs(f);
    driftd_config_free(f->config);
    rm_rf(f->dir);
    g_free(f->dir);
    g_free(f);
    return 0;
}

static int teardown_group(void **state)
{
    g_string_free(fake.order, TRUE);
    g_string_free(said, TRUE);
    return 0;
}

static void start(struct fixture *f)
{
    f->jobs = drift_jobs_new(&host, f->dir, f->config);
    assert_int_equal(drift_jobs_start(f->jobs), 0);
}

/* Submits prompt (also the job's name in fake.order) with KEY=VALUE extras. */
static struct drift_job *submit(struct fixture *f, const char *prompt, uint64_t not_before,
                                uint64_t priority)
{
    struct drift_settings spec;
    struct drift_error err = { 0 };
    struct drift_job *j = NULL;
    drift_settings_init_stream(&spec, MODEL, "");
    spec.prompt = (g_free(spec.prompt), g_strdup(prompt));
    spec.seconds = 1;
    spec.set |= 1u << DRIFT_KEY_SECONDS;
    spec.not_before = not_before;
    spec.priority = priority;
    int r = drift_jobs_submit(f->jobs, &spec, NULL, &j, &err);
    if (r < 0)
        fail_msg("submit %s: %s", prompt, err.message);
    drift_settings_done(&spec);
    return j;
}

static void a_job_waits_for_not_before_on_the_wall_clock(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct drift_job *j = submit(f, "later", wall + HOUR, 0);
    assert_int_equal(j->state, DRIFT_JOB_SCHEDULED);
    wall += HOUR - G_USEC_PER_SEC;
    drift_jobs_schedule(f->jobs);
    assert_int_equal(j->state, DRIFT_JOB_SCHEDULED);
    assert_int_equal(fake.renders, 0);
    wall += G_USEC_PER_SEC;
    drift_jobs_schedule(f->jobs);
    assert_int_equal(j->state, DRIFT_JOB_RUNNING);
    WAIT_FOR(renders_started() == 1);
    g_atomic_int_set(&fake.release, 1);
    WAIT_FOR(j->state == DRIFT_JOB_DONE);
    assert_true(j->progress == 1);
    assert_true(j->finished == wall);
    g_autofree char *line = g_strdup_printf("finished %s done", j->path);
    assert_non_null(strstr(said->str, line));
}

static void a_clock_set_back_delays_and_a_clock_set_forward_starts_within_a_tick(void **state)
{
    struct fixture *f = *state;
    start(f);
    uint64_t at = wall + HOUR;
    struct drift_job *j = submit(f, "at", at, 0);
    wall -= 24 * HOUR; /* the clock goes back a day: nothing starts */
    drift_jobs_schedule(f->jobs);
    assert_int_equal(j->state, DRIFT_JOB_SCHEDULED);
    /* The clock jumps past not_before; nobody calls the scheduler: its tick does (250 ms). */
    wall = at + 24 * HOUR;
    int64_t t0 = g_get_monotonic_time();
    WAIT_FOR(j->state == DRIFT_JOB_RUNNING);
    assert_true(g_get_monotonic_time() - t0 < 1000000);
}

static void queued_jobs_start_by_priority_then_age(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct drift_job *first = submit(f, "first", 0, 0); /* takes the only slot */
    assert_int_equal(first->state, DRIFT_JOB_RUNNING);
    wall += 1;
    submit(f, "low-old", 0, 0);
    wall += 1;
    submit(f, "high-old", 0, 5);
    wall += 1;
    submit(f, "high-new", 0, 5);
    wall += 1;
    struct drift_job *last = submit(f, "low-new", 0, 0);
    g_atomic_int_set(&fake.release, 1);
    WAIT_FOR(last->state == DRIFT_JOB_DONE);
    assert_string_equal(fake.order->str, "first high-old high-new low-old low-new ");
    assert_int_equal(fake.most_running, 1);
}

static void no_more_than_concurrency_jobs_run_at_once(void **state)
{
    struct fixture *f = *state;
    f->config->jobs_concurrency = 2;
    start(f);
    struct drift_job *j[5];
    for (int i = 0; i < 5; i++)
        j[i] = submit(f, "job", 0, 0);
    WAIT_FOR(renders_running() == 2);
    int running = 0;
    for (int i = 0; i < 5; i++)
        running += j[i]->state == DRIFT_JOB_RUNNING;
    assert_int_equal(running, 2);
    for (int i = 0; i < 30; i++) { /* a few ticks: still two */
        g_main_context_iteration(NULL, FALSE);
        g_usleep(10000);
    }
    assert_int_equal(renders_running(), 2);
    g_atomic_int_set(&fake.release, 1);
    for (int i = 0; i < 5; i++)
        WAIT_FOR(j[i]->state == DRIFT_JOB_DONE);
    assert_int_equal(fake.most_running, 2);
    assert_int_equal(fake.renders, 5);
}

static void progress_is_published_by_the_scheduler(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct drift_job *j = submit(f, "p", 0, 0);
    WAIT_FOR((drift_jobs_schedule(f->jobs), j->progress >= 0.3));
    g_autofree char *line = g_strdup_printf("changed %s Progress", j->path);
    assert_non_null(strstr(said->str, line));
}

static void a_failed_render_fails_the_job_with_its_reason(void **state)
{
    struct fixture *f = *state;
    start(f);
    fake.fail = -ENOSPC;
    g_atomic_int_set(&fake.release, 1);
    struct drift_job *j = submit(f, "full", 0, 0);
    WAIT_FOR(j->state == DRIFT_JOB_FAILED);
    assert_string_equal(j->error, "the disk is full");
}

static void cancel_ends_queued_and_running_jobs(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct drift_job *a = submit(f, "a", 0, 0), *b = submit(f, "b", 0, 0);
    struct drift_error err = { 0 };
    assert_int_equal(a->state, DRIFT_JOB_RUNNING);
    assert_int_equal(b->state, DRIFT_JOB_QUEUED);
    assert_int_equal(drift_job_cancel(b, &err), 0);
    assert_int_equal(b->state, DRIFT_JOB_CANCELLED);
    assert_int_equal(drift_job_cancel(a, &err), 0);
    WAIT_FOR(a->state == DRIFT_JOB_CANCELLED);
    assert_int_equal(drift_job_cancel(a, &err), -EALREADY);
    assert_non_null(strstr(err.message, "already cancelled"));
    assert_int_equal(fake.renders, 1);
}

static void submissions_are_checked_before_they_are_kept(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct drift_settings spec;
    struct drift_error err = { 0 };
    struct drift_job *j = NULL;
    drift_settings_init_stream(&spec, "/nonexistent/model.safetensors", "");
    spec.seconds = 1;
    spec.set |= 1u << DRIFT_KEY_SECONDS;
    assert_int_equal(drift_jobs_submit(f->jobs, &spec, NULL, &j, &err), -ENOEXEC);
    assert_non_null(strstr(err.message, "model"));
    drift_settings_init_stream(&spec, MODEL, ""); /* no seconds */
    assert_int_equal(drift_jobs_submit(f->jobs, &spec, NULL, &j, &err), -EINVAL);
    assert_non_null(strstr(err.message, "seconds"));
    struct drift_job *a = submit(f, "a", 0, 0);
    drift_settings_init_stream(&spec, MODEL, "");
    spec.seconds = 1;
    spec.set |= 1u << DRIFT_KEY_SECONDS;
    spec.output = g_strdup(a->output);
    assert_int_equal(drift_jobs_submit(f->jobs, &spec, NULL, &j, &err), -EEXIST);
    assert_int_equal(f->jobs->list->len, 1);
    g_autofree char *line = g_strdup_printf("added %s\n", a->path);
    assert_non_null(strstr(said->str, line));
    assert_non_null(strstr(said->str, "changed /org/drift1 Jobs"));
}

static void write_job(struct fixture *f, const char *id, enum drift_job_state state,
                      uint64_t not_before)
{
    struct drift_job j = { .id = (char *)id, .state = state, .error = (char *)"",
                           .created = wall, .finished = state >= DRIFT_JOB_DONE ? wall : 0 };
    struct drift_error err = { 0 };
    g_autofree char *renders = g_build_filename(f->dir, "renders", NULL);
    drift_settings_init_stream(&j.spec, MODEL, "");
    j.spec.prompt = (g_free(j.spec.prompt), g_strdup(id));
    j.spec.seconds = 1;
    j.spec.set |= 1u << DRIFT_KEY_SECONDS;
    j.spec.not_before = not_before;
    assert_int_equal(drift_spec_complete(&j.spec, renders, id, &err), 0);
    size_t size;
    g_autofree char *text = drift_job_to_text(&j, &size);
    g_autofree char *name = g_strdup_printf("%s.job", id);
    g_autofree char *path = g_build_filename(f->dir, "jobs", name, NULL);
    assert_int_equal(drift_write_file_atomic(path, text, size, &err), 0);
    drift_settings_done(&j.spec);
}

static struct drift_job *find(struct fixture *f, const char *id)
{
    g_autofree char *path = g_strdup_printf("/org/drift1/job/%s", id);
    return drift_jobs_find_by_path(f->jobs, path);
}

static void after_a_restart_every_job_is_found_and_a_running_one_restarts(void **state)
{
    struct fixture *f = *state;
    write_job(f, "jdone", DRIFT_JOB_DONE, 0);
    write_job(f, "jlater", DRIFT_JOB_SCHEDULED, wall + HOUR);
    write_job(f, "jrunning", DRIFT_JOB_RUNNING, 0); /* driftd died while it rendered */
    /* what the media layer's writer had written of it, under a temporary name */
    g_autofree char *part = g_build_filename(f->dir, "renders", ".jrunning.mp4.Ab12Cd.part", NULL);
    g_autofree char *keep = g_build_filename(f->dir, "renders", "other.mp4", NULL);
    g_autofree char *bad = g_build_filename(f->dir, "jobs", "jbroken.job", NULL);
    g_file_set_contents(part, "half", -1, NULL);
    g_file_set_contents(keep, "whole", -1, NULL);
    g_file_set_contents(bad, "[job]\nid=jbroken\n", -1, NULL);
    start(f);
    assert_int_equal(f->jobs->list->len, 3);
    assert_int_equal(find(f, "jdone")->state, DRIFT_JOB_DONE);
    assert_int_equal(find(f, "jlater")->state, DRIFT_JOB_SCHEDULED);
    assert_int_equal(find(f, "jrunning")->state, DRIFT_JOB_RUNNING); /* again, from the start */
    WAIT_FOR(renders_started() == 1);
    assert_string_equal(fake.order->str, "jrunning ");
    assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
    assert_true(g_file_test(keep, G_FILE_TEST_EXISTS));
    g_autofree char *aside = g_strconcat(bad, ".bad", NULL);
    assert_true(g_file_test(aside, G_FILE_TEST_EXISTS));
}

static void a_shutdown_requeues_running_jobs_for_the_next_start(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct drift_job *j = submit(f, "interrupted", 0, 0);
    g_autofree char *id = g_strdup(j->id);
    WAIT_FOR(renders_started() == 1);
    drift_jobs_shutdown(f->jobs);
    WAIT_FOR(!drift_jobs_active(f->jobs));
    drain();
    assert_int_equal(j->state, DRIFT_JOB_QUEUED);
    assert_int_equal(idles, 1);
    drift_jobs_free(f->jobs);
    /* the next start */
    start(f);
    assert_int_equal(find(f, id)->state, DRIFT_JOB_RUNNING);
    WAIT_FOR(renders_started() == 2);
}

static bool stream_behind(void *userdata)
{
    return g_atomic_int_get((gint *)userdata);
}

static void renders_wait_while_a_live_stream_is_behind(void **state)
{
    struct fixture *f = *state;
    static gint behind = 1;
    static struct drift_jobs_host slow;
    slow = host;
    slow.live_behind = stream_behind;
    slow.userdata = &behind;
    f->jobs = drift_jobs_new(&slow, f->dir, f->config);
    drift_jobs_start(f->jobs);
    struct drift_job *j = submit(f, "polite", 0, 0);
    WAIT_FOR(renders_started() == 1);
    g_usleep(300000);
    drift_jobs_schedule(f->jobs);
    assert_true(j->progress < 0.05); /* hardly a frame while the stream is behind */
    g_atomic_int_set(&behind, 0);
    WAIT_FOR((drift_jobs_schedule(f->jobs), j->progress >= 0.3));
}

/* While a live stream generates, a render runs on one thread (render.c: libgomp throttles every
 * team's spin once the teams outnumber the CPUs); with the streams idle it gets its threads
 * back. */
static void renders_use_one_thread_while_a_live_stream_generates(void **state)
{
    struct fixture *f = *state;
    static gint generating = 1;
    static struct drift_jobs_host busy;
    busy = host;
    busy.live_active = stream_behind; /* reads the flag it is given */
    busy.userdata = &generating;
    f->jobs = drift_jobs_new(&busy, f->dir, f->config);
    drift_jobs_start(f->jobs);
    g_atomic_int_set(&fake.threads_cap, -1);
    submit(f, "beside a stream", 0, 0);
    WAIT_FOR((drift_jobs_schedule(f->jobs), g_atomic_int_get(&fake.threads_cap) == 1));
    g_atomic_int_set(&generating, 0);
    WAIT_FOR((drift_jobs_schedule(f->jobs), g_atomic_int_get(&fake.threads_cap) == 0));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_job_waits_for_not_before_on_the_wall_clock),
        T(a_clock_set_back_delays_and_a_clock_set_forward_starts_within_a_tick),
        T(queued_jobs_start_by_priority_then_age),
        T(no_more_than_concurrency_jobs_run_at_once),
        T(progress_is_published_by_the_scheduler),
        T(a_failed_render_fails_the_job_with_its_reason),
        T(cancel_ends_queued_and_running_jobs),
        T(submissions_are_checked_before_they_are_kept),
        T(after_a_restart_every_job_is_found_and_a_running_one_restarts),
        T(a_shutdown_requeues_running_jobs_for_the_next_start),
        T(renders_wait_while_a_live_stream_is_behind),
        T(renders_use_one_thread_while_a_live_stream_generates),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
