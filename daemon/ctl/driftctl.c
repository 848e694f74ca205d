/* driftctl: controls driftd over D-Bus (org.drift1), like systemctl controls systemd.
 * Exit codes: 0 ok, 1 failure (the daemon said no or is not there), 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "settings.h"
#include "version.h"

struct command {
    const char *name;
    int (*run)(struct ctl *c, int argc, char **argv);
    bool needs_bus;
    const char *help;
};

static const struct command commands[] = {
    { "status", ctl_status, true, "status                      the daemon and its streams" },
    { "streams", ctl_streams, true, "streams                     list streams" },
    { "show", ctl_show, true, "show NAME                   every property of a stream" },
    { "prompt", ctl_prompt, true, "prompt NAME TEXT…           change a stream's prompt" },
    { "set", ctl_set, true, "set NAME KEY=VALUE…         change a stream's settings" },
    { "create", ctl_create, true, "create NAME [KEY=VALUE…]    add a stream (until restart)" },
    { "remove", ctl_remove, true, "remove NAME                 remove a stream" },
    { "start", ctl_start, true, "start NAME                  start a stopped stream" },
    { "stop", ctl_stop, true, "stop NAME                   stop a stream" },
    { "reload", ctl_reload, true, "reload                      re-read the configuration" },
    { "render", ctl_render, false, "render [--at TIME] [--spec FILE] [--local] KEY=VALUE…\n                              submit a render job (--local: driftd --render)" },
    { "jobs", ctl_jobs, true, "jobs                        list jobs" },
    { "job", ctl_job, true, "job ID                      a job's properties" },
    { "cancel", ctl_cancel, true, "cancel ID                   cancel a job" },
    { "watch", ctl_watch, true, "watch ID                    follow a job's progress" },
    { "passwd", ctl_passwd, false, "passwd NAME ROLE            a users-file line (view, control, admin);\n                              the password from stdin" },
    { "keys", ctl_keys, false, "keys                        every KEY: type, range, default, meaning" },
};

/* text with its spaces turned into line breaks where a line would pass width; transfer full. */
static char *wrap(const char *text, size_t width)
{
    char *out = g_strdup(text);
    size_t line = 0;
    char *last_space = NULL;
    for (char *p = out; *p; p++, line++) {
        if (*p == ' ')
            last_space = p;
        if (line >= width && last_space) {
            *last_space = '\n';
            line = (size_t)(p - last_space);
            last_space = NULL;
        }
    }
    return out;
}

static void help(FILE *f)
{
    fprintf(f, "usage: driftctl [--system|--user] [--socket PATH] [--json] COMMAND …\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].help);
    g_autofree char *stream_keys = drift_settings_key_list(DRIFT_SCOPE_STREAM, 0);
    g_autofree char *job_keys = drift_settings_key_list(DRIFT_SCOPE_JOB, DRIFT_SCOPE_STREAM);
    g_autofree char *keys = g_strdup_printf("Keys (driftctl keys): %s; jobs also %s.", stream_keys,
                                            job_keys);
    g_autofree char *wrapped = wrap(keys, 78);
    fprintf(f, "\n%s\nTIME: @EPOCH, +SECONDS, HH:MM or ISO 8601.\n"
               "Exit status: 0 ok, 1 failure, 2 usage.\n", wrapped);
}

int main(int argc, char **argv)
{
    struct ctl c = { 0 };
    /* Global options may come anywhere (like systemctl's); everything else, options of the
     * command included (render --at), goes to the command in order. "--" ends options. */
    char **args = g_new0(char *, argc + 1);
    int n = 0;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && !strcmp(a, "--")) {
            options = false;
        } else if (options && !strcmp(a, "--system")) {
            c.bus_kind = CTL_BUS_SYSTEM;
        } else if (options && !strcmp(a, "--user")) {
            c.bus_kind = CTL_BUS_USER;
        } else if (options && !strcmp(a, "--json")) {
            c.json = true;
        } else if (options && !strcmp(a, "--socket")) {
            if (++i >= argc) {
                fprintf(stderr, "driftctl: --socket needs a PATH\n");
                return CTL_EXIT_USAGE;
            }
            c.socket = argv[i];
        } else if (options && g_str_has_prefix(a, "--socket=")) {
            c.socket = a + strlen("--socket=");
        } else if (options && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            help(stdout);
            return CTL_EXIT_OK;
        } else if (options && !strcmp(a, "--version")) {
            printf("driftctl %s\n", DRIFT_VERSION);
            return CTL_EXIT_OK;
        } else if (options && n == 0 && a[0] == '-') {
            fprintf(stderr, "driftctl: unknown option '%s'\n", a);
            help(stderr);
            return CTL_EXIT_USAGE;
        } else {
            args[n++] = argv[i];
        }
    }
    if (n == 0) {
        help(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *name = args[0];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name))
            continue;
        if (commands[i].needs_bus && ctl_connect(&c) < 0)
            return CTL_EXIT_FAILURE;
        int r = commands[i].run(&c, n - 1, args + 1);
        sd_bus_flush_close_unref(c.bus);
        g_free(args);
        return r;
    }
    fprintf(stderr, "driftctl: unknown command '%s'\n", name);
    help(stderr);
    return CTL_EXIT_USAGE;
}
