/* driftd: generates video and audio with diffusion models and streams them over RTSP, steered
 * over D-Bus (org.drift1) and a web server's JSON API. One GLib main loop runs D-Bus, the RTSP
 * and HTTP servers and the timers; each stream generates on its own thread. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>

#include "bus.h"
#include "context.h"
#include "http.h"
#include "log.h"
#include "render.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/drift/driftd.conf"

static void help(void)
{
    printf("driftd %s: diffusion video and audio, generated on the CPU and streamed live\n\n"
           "usage: driftd [OPTIONS]\n\n"
           "  --config PATH     configuration file (default %s), then PATH.d/*.conf\n"
           "  --system          serve org.drift1 on the system bus (default as root)\n"
           "  --user            serve org.drift1 on the user bus (default otherwise)\n"
           "  --no-bus          serve the private socket only\n"
           "  --state-dir DIR   jobs and renders (default: [daemon] state_dir, else\n"
           "                    $STATE_DIRECTORY, else /var/lib/drift as root,\n"
           "                    ~/.local/state/drift otherwise)\n"
           "  --render SPEC     render one clip to a file without a daemon and exit; SPEC is a\n"
           "                    file of KEY = VALUE lines or KEY=VALUE,KEY=VALUE (keys as in\n"
           "                    [stream.NAME] plus seconds, output, format)\n"
           "  --version         print the version\n"
           "  --help            print this help\n\n"
           "Streams are served at rtsp://ADDRESS:PORT/NAME; control them with driftctl.\n",
           DRIFT_VERSION, DEFAULT_CONFIG);
}

static int parse_args(struct context *ctx, int argc, char **argv, const char **ret_render)
{
    enum { OPT_CONFIG = 1000, OPT_SYSTEM, OPT_USER, OPT_NO_BUS, OPT_STATE_DIR, OPT_RENDER,
           OPT_VERSION, OPT_HELP };
    static const struct option opts[] = {
        { "config", required_argument, NULL, OPT_CONFIG },
        { "system", no_argument, NULL, OPT_SYSTEM },
        { "user", no_argument, NULL, OPT_USER },
        { "no-bus", no_argument, NULL, OPT_NO_BUS },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "render", required_argument, NULL, OPT_RENDER },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        { 0 },
    };
    int c;
    ctx->config_path = g_strdup(DEFAULT_CONFIG);
    ctx->config_optional = true;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            g_free(ctx->config_path);
            ctx->config_path = g_strdup(optarg);
            ctx->config_optional = false;
            break;
        case OPT_SYSTEM: ctx->bus_kind = DRIFT_BUS_SYSTEM; break;
        case OPT_USER: ctx->bus_kind = DRIFT_BUS_USER; break;
        case OPT_NO_BUS: ctx->bus_kind = DRIFT_BUS_NONE; break;
        case OPT_STATE_DIR:
            if (!g_path_is_absolute(optarg)) {
                fprintf(stderr, "driftd: --state-dir: '%s' is not an absolute path\n", optarg);
                return 2;
            }
            ctx->state_dir_option = g_strdup(optarg);
            break;
        case OPT_RENDER: *ret_render = optarg; break;
        case OPT_VERSION: printf("driftd %s\n", DRIFT_VERSION); return 0;
        case 'h':
        case OPT_HELP: help(); return 0;
        default:
            fprintf(stderr, "Try 'driftd --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "driftd: unexpected argument '%s'\nTry 'driftd --help'.\n", argv[optind]);
        return 2;
    }
    return -1; /* go on */
}

static gboolean on_sigterm(gpointer data)
{
    context_shutdown(data);
    return G_SOURCE_CONTINUE;
}

static gboolean on_sighup(gpointer data)
{
    struct context *ctx = data;
    struct drift_error err = { 0 };
    log_info("SIGHUP: reloading %s", ctx->config_path);
    (void)context_reload(ctx, &err);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    struct context ctx = { 0 };
    const char *render = NULL;
    int r = parse_args(&ctx, argc, argv, &render);
    if (r >= 0)
        return r;
    signal(SIGPIPE, SIG_IGN);
    drift_log_init();
    if (render)
        return drift_render_main(render, ctx.config_path, ctx.config_optional,
                                 ctx.state_dir_option);
    ctx.notify.started = g_get_monotonic_time();
    ctx.main_context = g_main_context_default();
    ctx.loop = g_main_loop_new(ctx.main_context, FALSE);
    g_unix_signal_add(SIGTERM, on_sigterm, &ctx);
    g_unix_signal_add(SIGINT, on_sigterm, &ctx);
    g_unix_signal_add(SIGHUP, on_sighup, &ctx);
    struct drift_error err = { 0 };
    struct drift_http *http = NULL;
    r = context_init(&ctx, &err);
    if (r >= 0)
        r = drift_bus_open(&ctx, &err);
    /* Bound before READY=1, like the RTSP port: a port in use fails the start. */
    if (r >= 0)
        r = drift_http_start(&ctx, &http, &err);
    if (r < 0) {
        log_error("%s", err.message);
        drift_bus_close_all(&ctx);
        context_done(&ctx);
        return 1;
    }
    if (ctx.config->private_socket && drift_bus_listen_private(&ctx, &err) < 0) {
        log_warning("private socket: %s", err.message);
        drift_error_clear(&err);
    }
    ctx.emit = drift_bus_emitter(&ctx);
    context_start(&ctx);
    g_main_loop_run(ctx.loop);
    drift_http_free(http);
    drift_bus_close_all(&ctx);
    context_done(&ctx);
    if (ctx.shutdown_started)
        log_info("stopped in %.3f s",
                 (double)(g_get_monotonic_time() - ctx.shutdown_started) / 1e6);
    g_main_loop_unref(ctx.loop);
    g_free(ctx.config_path);
    g_free(ctx.state_dir_option);
    return ctx.exit_code;
}
