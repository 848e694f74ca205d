/* drift-test-record-server: the receiving end for the publishing test. An RTSP server (the same
 * gst-rtsp-server the media layer serves with) that accepts ANNOUNCE/RECORD at /in and writes
 * what it receives, H.264 + Opus as sent, into a Matroska file.
 * usage: drift-test-record-server OUT.mkv   (prints its URL, runs until SIGTERM) */
#include <signal.h>
#include <stdio.h>

#include <glib-unix.h>
#include <gst/rtsp-server/rtsp-server.h>

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.mkv\n", argv[0]);
        return 2;
    }
    gst_init(NULL, NULL);
    GstRTSPServer *server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, "0");
    GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
    /* rtspclientsink announces the streams in the reverse order of its pads: Opus first. */
    char *launch = g_strdup_printf(
        "( rtpopusdepay name=depay0 ! opusparse ! queue ! m.  rtph264depay name=depay1 ! "
        "h264parse ! queue ! matroskamux name=m ! filesink location=\"%s\" )", argv[1]);
    gst_rtsp_media_factory_set_launch(f, launch);
    g_free(launch);
    gst_rtsp_media_factory_set_transport_mode(f, GST_RTSP_TRANSPORT_MODE_RECORD);
    /* Finish the file when the publisher leaves. */
    gst_rtsp_media_factory_set_eos_shutdown(f, TRUE);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    gst_rtsp_mount_points_add_factory(mounts, "/in", f);
    g_object_unref(mounts);
    GError *err = NULL;
    GSource *src = gst_rtsp_server_create_source(server, NULL, &err);
    if (!src) {
        fprintf(stderr, "record server: %s\n", err->message);
        return 1;
    }
    g_source_attach(src, NULL);
    printf("rtsp://127.0.0.1:%d/in\n", gst_rtsp_server_get_bound_port(server));
    fflush(stdout);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_main_loop_run(loop);
    g_source_destroy(src);
    g_source_unref(src);
    g_object_unref(server);
    g_main_loop_unref(loop);
    return 0;
}
