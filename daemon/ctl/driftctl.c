/* driftctl: controls driftd over D-Bus (org.drift1), like systemctl controls systemd.
 * Exit codes: 0 ok, 1 failure (the daemon said no or is not there), 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
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
    { "render", ctl_render, false, "render [--at TIME] [--local] KEY=VALUE…  submit a render job" },
    { "jobs", ctl_jobs, true, "jobs                        list jobs" },
    { "job", ctl_job, true, "job ID                      a job's properties" },
    { "cancel", ctl_cancel, true, "cancel ID                   cancel a job" },
    { "watch", ctl_watch, true, "watch ID                    follow a job's progress" },
};

static void help(FILE *f)
{
    fprintf(f, "usage: driftctl [--system|--user] [--socket PATH] [--json] COMMAND …\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nKeys: model audio_model prompt negative_prompt seed width height fps steps\n"
               "guidance cache cache_threshold audio; jobs also seconds output format\n"
               "not_before priority. TIME: @EPOCH, +SECONDS, HH:MM or ISO 8601.\n"
               "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

int main(int argc, char **argv)
{
    struct ctl c = { 0 };
    static const struct option opts[] = {
        { "system", no_argument, NULL, 'S' }, { "user", no_argument, NULL, 'U' },
        { "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { 0 },
    };
    int o;
    /* Options may come anywhere (like systemctl); a prompt that starts with a dash goes after
     * "--". */
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'S': c.bus_kind = CTL_BUS_SYSTEM; break;
        case 'U': c.bus_kind = CTL_BUS_USER; break;
        case 's': c.socket = optarg; break;
        case 'j': c.json = true; break;
        case 'h': help(stdout); return CTL_EXIT_OK;
        case 'V': printf("driftctl %s\n", DRIFT_VERSION); return CTL_EXIT_OK;
        default: help(stderr); return CTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        help(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name))
            continue;
        if (commands[i].needs_bus && ctl_connect(&c) < 0)
            return CTL_EXIT_FAILURE;
        int r = commands[i].run(&c, argc - optind - 1, argv + optind + 1);
        sd_bus_flush_close_unref(c.bus);
        return r;
    }
    fprintf(stderr, "driftctl: unknown command '%s'\n", name);
    help(stderr);
    return CTL_EXIT_USAGE;
}
