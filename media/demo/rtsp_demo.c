/* drift-rtsp-demo: serves a moving test pattern with a tone at rtsp://ADDRESS:PORT/PATH until
 * the daemon exists, and drives the media integration tests. Prints the URL on stdout once the
 * server listens, then counters on stderr every few seconds. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>

#include "drift/media/publisher.h"
#include "drift/media/rtsp_server.h"
#include "drift/media/stream_output.h"
#include "test_pattern.h"

struct demo {
    const char *address, *path, *publish;
    int port, width, height, fps, audio_rate, audio_channels, stats_interval;
    double seconds;
    struct drift_stream_output *out;
    GMainLoop *loop;
    volatile gint stop;
};

/* The generator: as fast as it likes; the output's bounded queue holds it to real time. */
static gpointer generate(gpointer data)
{
    struct demo *d = data;
    uint8_t *rgb = g_malloc((size_t)d->width * d->height * 3);
    size_t max_audio = (size_t)d->audio_rate / d->fps + 2;
    float *pcm = g_malloc(max_audio * d->audio_channels * sizeof(float));
    int64_t frames = d->seconds > 0 ? (int64_t)(d->seconds * d->fps + 0.5) : INT64_MAX;
    int64_t sample = 0;
    for (int64_t k = 0; k < frames && !g_atomic_int_get(&d->stop); k++) {
        drift_test_pattern_video(rgb, d->width, d->height, k, d->fps, 1);
        drift_stream_output_push_video(d->out, rgb, k);
        int64_t end = (k + 1) * d->audio_rate / d->fps;
        drift_test_pattern_audio(pcm, (size_t)(end - sample), d->audio_channels, d->audio_rate,
                                 sample);
        drift_stream_output_push_audio(d->out, pcm, (size_t)(end - sample), sample);
        sample = end;
    }
    g_free(rgb);
    g_free(pcm);
    if (!g_atomic_int_get(&d->stop))
        drift_stream_output_finish(d->out); /* plays out the queue in real time */
    g_main_loop_quit(d->loop);
    return NULL;
}

static gboolean on_signal(gpointer data)
{
    struct demo *d = data;
    g_atomic_int_set(&d->stop, 1);
    g_main_loop_quit(d->loop);
    return G_SOURCE_REMOVE;
}

static gboolean on_report(gpointer data)
{
    struct demo *d = data;
    struct drift_stream_stats st;
    drift_stream_output_get_stats(d->out, &st);
    fprintf(stderr, "frames %llu out, %llu encoded, %llu repeated, %llu dropped, queue %u/%u, "
            "clients %u\n", (unsigned long long)st.frames_out,
            (unsigned long long)st.frames_encoded, (unsigned long long)st.frames_repeated,
            (unsigned long long)st.frames_dropped, st.queued_frames, st.queue_capacity,
            st.clients);
    const char *error = drift_stream_output_last_error(d->out);
    if (error[0])
        fprintf(stderr, "drift-rtsp-demo: %s\n", error);
    return G_SOURCE_CONTINUE;
}

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: drift-rtsp-demo [--address A] [--port P] [--path NAME] [--width W]\n"
               "         [--height H] [--fps N] [--seconds S] [--audio-rate R]\n"
               "         [--audio-channels C] [--publish rtsp://HOST:PORT/PATH]\n"
               "         [--stats-interval S]\n"
               "serves a test pattern with a tone at rtsp://A:P/NAME (default\n"
               "rtsp://127.0.0.1:8554/live); --port 0 picks a free port; --seconds 0 = forever\n");
    return code;
}

static int parse_args(struct demo *d, int argc, char **argv)
{
    static const struct option opts[] = {
        { "address", 1, 0, 'a' }, { "port", 1, 0, 'p' }, { "path", 1, 0, 'n' },
        { "width", 1, 0, 'w' }, { "height", 1, 0, 'h' }, { "fps", 1, 0, 'f' },
        { "seconds", 1, 0, 's' }, { "audio-rate", 1, 0, 'r' }, { "audio-channels", 1, 0, 'c' },
        { "publish", 1, 0, 'P' }, { "stats-interval", 1, 0, 'i' }, { "help", 0, 0, 'H' },
        { 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': d->address = optarg; break;
        case 'p': d->port = atoi(optarg); break;
        case 'n': d->path = optarg; break;
        case 'w': d->width = atoi(optarg); break;
        case 'h': d->height = atoi(optarg); break;
        case 'f': d->fps = atoi(optarg); break;
        case 's': d->seconds = atof(optarg); break;
        case 'r': d->audio_rate = atoi(optarg); break;
        case 'c': d->audio_channels = atoi(optarg); break;
        case 'P': d->publish = optarg; break;
        case 'i': d->stats_interval = atoi(optarg); break;
        case 'H': usage(stdout, 0); return -1; /* asked for: exit 0 */
        default: return usage(stderr, 2);
        }
    }
    if (optind != argc || d->fps < 1 || d->fps > 240 || d->seconds < 0 || d->stats_interval < 1)
        return usage(stderr, 2);
    return 0;
}

static int serve(struct demo *d)
{
    struct drift_error err = { 0 };
    struct drift_stream_output_config oc = {
        .width = d->width, .height = d->height, .fps_num = d->fps, .fps_den = 1,
        .audio = true, .audio_rate = d->audio_rate, .audio_channels = d->audio_channels,
        .audio_codec = DRIFT_AUDIO_OPUS, .live = true,
    };
    struct drift_rtsp_server_config sc = { .address = d->address, .port = d->port };
    struct drift_rtsp_server *server = NULL;
    struct drift_publisher *pub = NULL;
    if (drift_stream_output_init(&d->out, &oc, &err) < 0 ||
        drift_rtsp_server_init(&server, &sc, &err) < 0 ||
        drift_rtsp_server_add_stream(server, d->path, d->out, &err) < 0) {
        fprintf(stderr, "drift-rtsp-demo: %s\n", err.message);
        drift_rtsp_server_free(server);
        drift_stream_output_free(d->out);
        return 1;
    }
    if (d->publish) {
        struct drift_publisher_config pc = { .url = d->publish, .tcp = true };
        if (drift_publisher_init(&pub, d->out, &pc, &err) < 0)
            fprintf(stderr, "drift-rtsp-demo: %s\n", err.message);
    }
    char *url = drift_rtsp_server_url(server, d->path);
    printf("%s\n", url);
    fflush(stdout);
    free(url);
    d->loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, on_signal, d);
    g_unix_signal_add(SIGTERM, on_signal, d);
    g_timeout_add_seconds((guint)d->stats_interval, on_report, d);
    GThread *gen = g_thread_new("generate", generate, d);
    g_main_loop_run(d->loop);
    g_atomic_int_set(&d->stop, 1);
    g_thread_join(gen);
    on_report(d);
    drift_publisher_free(pub);
    drift_rtsp_server_free(server);
    drift_stream_output_free(d->out);
    g_main_loop_unref(d->loop);
    return 0;
}

int main(int argc, char **argv)
{
    struct demo d = {
        .address = "127.0.0.1", .port = 8554, .path = "live", .width = 320, .height = 240,
        .fps = 24, .audio_rate = 44100, .audio_channels = 2, .stats_interval = 5,
    };
    int r = parse_args(&d, argc, argv);
    if (r)
        return r < 0 ? 0 : r;
    return serve(&d);
}
