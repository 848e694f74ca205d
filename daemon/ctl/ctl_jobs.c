/* driftctl's job commands: render, jobs, job, cancel, watch. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "bus_names.h"
#include "ctl.h"
#include "settings.h"

/* TIME: @EPOCH_SECONDS, +SECONDS, HH:MM (the next one), or ISO 8601 (local time unless a zone
 * is given). Returns µs since the epoch, or 0 on a bad TIME. */
static uint64_t parse_time(const char *text)
{
    char *end;
    if (text[0] == '@' || text[0] == '+') {
        double v = g_ascii_strtod(text + 1, &end);
        if (*end || end == text + 1 || v < 0)
            return 0;
        double base = text[0] == '+' ? (double)g_get_real_time() / 1e6 : 0;
        return (uint64_t)((base + v) * 1e6);
    }
    int h, m;
    char tail;
    if (sscanf(text, "%d:%d%c", &h, &m, &tail) == 2 && h >= 0 && h < 24 && m >= 0 && m < 60) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autoptr(GDateTime) t = g_date_time_new_local(g_date_time_get_year(now),
                                                       g_date_time_get_month(now),
                                                       g_date_time_get_day_of_month(now), h, m, 0);
        if (g_date_time_compare(t, now) <= 0) {
            GDateTime *next = g_date_time_add_days(t, 1);
            g_date_time_unref(t);
            t = next;
        }
        return (uint64_t)g_date_time_to_unix(t) * 1000000u;
    }
    g_autoptr(GTimeZone) tz = g_time_zone_new_local();
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(text, tz);
    return t ? (uint64_t)g_date_time_to_unix(t) * 1000000u : 0;
}

static int render_local(int argc, char **argv)
{
    g_autofree char *spec = g_strjoinv(",", argv);
    char *args[] = { "driftd", "--render", spec, NULL };
    execvp("driftd", args);
    fprintf(stderr, "driftctl: cannot run driftd: %s\n", strerror(errno));
    return CTL_EXIT_FAILURE;
}

/* --spec FILE: its KEY = VALUE lines become arguments (before those on the command line). */
static int read_spec_file(const char *path, GPtrArray *items)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        fprintf(stderr, "driftctl: --spec: cannot read %s\n", path);
        return -1;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        char *eq = strchr(l, '=');
        if (!l[0] || l[0] == '#' || l[0] == '[')
            continue;
        if (!eq) {
            fprintf(stderr, "driftctl: %s:%zu: expected KEY = VALUE\n", path, i + 1);
            return -1;
        }
        *eq = 0;
        g_ptr_array_add(items, g_strdup_printf("%s=%s", g_strstrip(l), g_strstrip(eq + 1)));
    }
    return 0;
}

int ctl_render(struct ctl *c, int argc, char **argv)
{
    uint64_t at = 0;
    bool local = false;
    g_autoptr(GPtrArray) spec_items = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) given = g_ptr_array_new();
    for (int i = 0; i < argc; i++) { /* options anywhere among the KEY=VALUE items */
        if (!strcmp(argv[i], "--local")) {
            local = true;
        } else if (!strcmp(argv[i], "--spec") && i + 1 < argc) {
            if (read_spec_file(argv[++i], spec_items) < 0)
                return CTL_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--at") && i + 1 < argc) {
            if (!(at = parse_time(argv[++i]))) {
                fprintf(stderr, "driftctl: --at '%s': expected @EPOCH, +SECONDS, HH:MM or "
                                "ISO 8601\n", argv[i]);
                return CTL_EXIT_USAGE;
            }
        } else if (g_str_has_prefix(argv[i], "--")) {
            fprintf(stderr, "driftctl: render: unknown option '%s'\n", argv[i]);
            return CTL_EXIT_USAGE;
        } else {
            g_ptr_array_add(given, argv[i]);
        }
    }
    argc = (int)given->len;
    argv = (char **)given->pdata;
    for (int i = 0; i < argc; i++)
        g_ptr_array_add(spec_items, g_strdup(argv[i]));
    if (spec_items->len < 1) {
        fprintf(stderr, "usage: driftctl render [--at TIME] [--spec FILE] [--local] KEY=VALUE…\n");
        return CTL_EXIT_USAGE;
    }
    argc = (int)spec_items->len;
    argv = (char **)spec_items->pdata;
    if (local)
        return render_local(argc, argv);
    if (!c->bus && ctl_connect(c) < 0)
        return CTL_EXIT_FAILURE;
    sd_bus_message *m = NULL, *reply = NULL;
    int r = ctl_new_call(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE, "SubmitJob", &m);
    g_autofree char *at_arg = at ? g_strdup_printf("not_before=%" G_GUINT64_FORMAT, at) : NULL;
    GPtrArray *items = g_ptr_array_new();
    for (int i = 0; i < argc; i++)
        g_ptr_array_add(items, argv[i]);
    if (at_arg)
        g_ptr_array_add(items, at_arg);
    int code = CTL_EXIT_OK;
    if (r < 0 || ctl_append_settings(m, DRIFT_SCOPE_JOB, (int)items->len, (char **)items->pdata) < 0)
        code = CTL_EXIT_USAGE;
    else if (ctl_call_message(c, m, &reply) < 0)
        code = CTL_EXIT_FAILURE;
    const char *path;
    if (code == CTL_EXIT_OK && sd_bus_message_read(reply, "o", &path) >= 0) {
        const char *slash = strrchr(path, '/');
        printf("%s\n", slash ? slash + 1 : path);
    }
    g_ptr_array_unref(items);
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    return code;
}

int ctl_jobs(struct ctl *c, int argc, char **argv)
{
    if (argc != 0) {
        fprintf(stderr, "usage: driftctl jobs\n");
        return CTL_EXIT_USAGE;
    }
    json_t *m = ctl_get_all(c, DRIFT_MANAGER_PATH, DRIFT_MANAGER_IFACE);
    if (!m)
        return CTL_EXIT_FAILURE;
    json_t *jobs = json_array(), *p;
    size_t i;
    json_array_foreach(json_object_get(m, "Jobs"), i, p) {
        json_t *j = ctl_get_all(c, json_string_value(p), DRIFT_JOB_IFACE);
        if (j)
            json_array_append_new(jobs, j);
    }
    if (c->json)
        ctl_print_json(jobs);
    else
        ctl_print_job_table(jobs);
    json_decref(jobs);
    json_decref(m);
    return CTL_EXIT_OK;
}

static json_t *get_job(struct ctl *c, const char *id)
{
    g_autofree char *path = ctl_job_path(id);
    return path ? ctl_get_all(c, path, DRIFT_JOB_IFACE) : NULL;
}

int ctl_job(struct ctl *c, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: driftctl job ID\n");
        return CTL_EXIT_USAGE;
    }
    json_t *j = get_job(c, argv[0]);
    if (!j)
        return CTL_EXIT_FAILURE;
    if (c->json)
        ctl_print_json(j);
    else
        ctl_print_properties(j);
    json_decref(j);
    return CTL_EXIT_OK;
}

int ctl_cancel(struct ctl *c, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: driftctl cancel ID\n");
        return CTL_EXIT_USAGE;
    }
    g_autofree char *path = ctl_job_path(argv[0]);
    return ctl_call(c, path, DRIFT_JOB_IFACE, "Cancel", NULL, NULL) < 0 ? CTL_EXIT_FAILURE
                                                                          : CTL_EXIT_OK;
}

int ctl_watch(struct ctl *c, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: driftctl watch ID\n");
        return CTL_EXIT_USAGE;
    }
    bool tty = isatty(1) && !c->json;
    int64_t t0 = g_get_monotonic_time();
    double p0 = -1;
    for (;;) {
        json_t *j = get_job(c, argv[0]);
        if (!j)
            return CTL_EXIT_FAILURE;
        const char *state = ctl_str(j, "State");
        double p = ctl_num(j, "Progress");
        if (p0 < 0 && !strcmp(state, "running")) {
            p0 = p;
            t0 = g_get_monotonic_time();
        }
        double elapsed = (double)(g_get_monotonic_time() - t0) / 1e6;
        double eta = p0 >= 0 && p > p0 ? elapsed * (1 - p) / (p - p0) : -1;
        bool end = !strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "cancelled");
        if (c->json) {
            json_t *line = json_pack("{s:s,s:s,s:f}", "id", argv[0], "state", state, "progress", p);
            char *s = json_dumps(line, JSON_COMPACT);
            printf("%s\n", s);
            fflush(stdout);
            free(s);
            json_decref(line);
        } else {
            ctl_print_progress(argv[0], state, p, eta, tty);
        }
        if (end) {
            if (tty)
                printf("\n");
            if (!strcmp(state, "failed"))
                fprintf(stderr, "driftctl: job %s failed: %s\n", argv[0], ctl_str(j, "Error"));
            else if (!strcmp(state, "done") && !c->json)
                printf("%s\n", ctl_str(j, "Output"));
            int code = strcmp(state, "done") ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
            json_decref(j);
            return code;
        }
        json_decref(j);
        g_usleep(tty ? 250000 : 1000000);
    }
}
