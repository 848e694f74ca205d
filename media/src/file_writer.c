/* appsrc (H.264) + appsrc (AAC|Opus) -> parsers -> mp4mux|matroskamux -> filesink on a temp file;
 * renamed into place after end-of-stream. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appsrc_sink.h"
#include "drift/media/file_writer.h"
#include "stream_internal.h"

struct drift_file_writer {
    struct drift_appsrc_sink sink;
    struct drift_stream_output *out;
    GstElement *pipeline;
    char *path, *temp_path;
    bool attached, done;
};

static enum drift_file_format format_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return DRIFT_FILE_AUTO;
    if (!g_ascii_strcasecmp(dot, ".mp4") || !g_ascii_strcasecmp(dot, ".m4v") ||
        !g_ascii_strcasecmp(dot, ".mov"))
        return DRIFT_FILE_MP4;
    if (!g_ascii_strcasecmp(dot, ".mkv") || !g_ascii_strcasecmp(dot, ".mka") ||
        !g_ascii_strcasecmp(dot, ".webm"))
        return DRIFT_FILE_MKV;
    return DRIFT_FILE_AUTO;
}

static int check_args(struct drift_stream_output *out, const char *path,
                      enum drift_file_format *format, struct drift_error *err)
{
    if (!out)
        return drift_error_set(err, -EINVAL, "out: NULL");
    if (!path || !*path)
        return drift_error_set(err, -EINVAL, "path: empty");
    if (*format == DRIFT_FILE_AUTO)
        *format = format_from_path(path);
    if (*format != DRIFT_FILE_MP4 && *format != DRIFT_FILE_MKV)
        return drift_error_set(err, -EINVAL,
                                     "path: '%s' does not end in .mp4 or .mkv (or format: %d)",
                                     path, *format);
    const struct drift_audio_encoder *a = drift_stream_output_audio_encoder(out);
    enum drift_audio_codec want = *format == DRIFT_FILE_MP4 ? DRIFT_AUDIO_AAC : DRIFT_AUDIO_OPUS;
    if (a && drift_audio_encoder_codec(a) != want)
        return drift_error_set(err, -EINVAL, "out: %s files need %s audio",
                                     *format == DRIFT_FILE_MP4 ? "MP4" : "Matroska",
                                     want == DRIFT_AUDIO_AAC ? "AAC" : "Opus");
    return 0;
}

/* Creates ".NAME.XXXXXX.part" beside @path: proves the directory is writable before any work. */
static int make_temp(struct drift_file_writer *w, struct drift_error *err)
{
    char *dir_copy = g_strdup(w->path), *base_copy = g_strdup(w->path);
    char *dir = dirname(dir_copy), *base = basename(base_copy);
    w->temp_path = g_strdup_printf("%s/.%s.XXXXXX.part", dir, base);
    int fd = mkstemps(w->temp_path, 5);
    int r = fd < 0 ? -errno : 0;
    if (fd < 0)
        drift_error_set(err, r, "path: cannot create a file in '%s': %s", dir, strerror(-r));
    else
        close(fd);
    if (fd < 0) {
        g_free(w->temp_path);
        w->temp_path = NULL;
    }
    g_free(dir_copy);
    g_free(base_copy);
    return r;
}

static int build_pipeline(struct drift_file_writer *w, enum drift_file_format format,
                          struct drift_error *err)
{
    bool audio = drift_stream_output_audio_encoder(w->out) != NULL;
    const char *mux = format == DRIFT_FILE_MP4 ? "mp4mux faststart=true" : "matroskamux";
    const char *parse = format == DRIFT_FILE_MP4 ? "aacparse" : "opusparse";
    char *desc = g_strdup_printf("appsrc name=video ! h264parse ! queue ! %s name=mux ! "
                                 "filesink name=file %s%s%s",
                                 mux, audio ? "appsrc name=audio ! " : "", audio ? parse : "",
                                 audio ? " ! queue ! mux." : "");
    GError *gerr = NULL;
    w->pipeline = gst_parse_launch(desc, &gerr);
    g_free(desc);
    if (!w->pipeline || gerr) {
        drift_error_set(err, -ENOENT, "cannot build the muxing pipeline: %s",
                              gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        return -ENOENT;
    }
    GstElement *file = gst_bin_get_by_name(GST_BIN(w->pipeline), "file");
    g_object_set(file, "location", w->temp_path, NULL);
    gst_object_unref(file);
    GstElement *v = gst_bin_get_by_name(GST_BIN(w->pipeline), "video");
    GstElement *a = audio ? gst_bin_get_by_name(GST_BIN(w->pipeline), "audio") : NULL;
    drift_appsrc_sink_init(&w->sink, w->out, v, a, false);
    gst_object_unref(v);
    if (a)
        gst_object_unref(a);
    if (gst_element_set_state(w->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return drift_error_set(err, -EIO, "the muxing pipeline did not start");
    return 0;
}

int drift_file_writer_init(struct drift_file_writer **ret_writer, struct drift_stream_output *out,
                           const char *path, enum drift_file_format format,
                           struct drift_error *err)
{
    if (!ret_writer)
        return drift_error_set(err, -EINVAL, "ret_writer: NULL");
    int r = check_args(out, path, &format, err);
    if (r == 0)
        r = drift_media_init(err);
    if (r < 0)
        return r;
    struct drift_file_writer *w = g_new0(struct drift_file_writer, 1);
    w->out = out;
    w->path = g_strdup(path);
    r = make_temp(w, err);
    if (r == 0)
        r = build_pipeline(w, format, err);
    if (r < 0) {
        drift_file_writer_free(w);
        return r;
    }
    drift_stream_output_attach(out, &w->sink.base);
    w->attached = true;
    *ret_writer = w;
    return 0;
}

/* Makes the finished file durable, then atomically gives it its final name. */
static int commit_file(struct drift_file_writer *w, struct drift_error *err)
{
    int fd = open(w->temp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        int r = -errno;
        if (fd >= 0)
            close(fd);
        return drift_error_set(err, r, "fsync '%s': %s", w->temp_path, strerror(-r));
    }
    close(fd);
    if (rename(w->temp_path, w->path) < 0) {
        int r = -errno;
        return drift_error_set(err, r, "rename to '%s': %s", w->path, strerror(-r));
    }
    char *dir_copy = g_strdup(w->path);
    int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_free(dir_copy);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int drift_file_writer_finish(struct drift_file_writer *w, int timeout_ms,
                             struct drift_error *err)
{
    if (!w || w->done)
        return drift_error_set(err, -EINVAL, "writer: %s", w ? "already finished" : "NULL");
    GstBus *bus = gst_element_get_bus(w->pipeline);
    GstClockTime timeout = timeout_ms < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime)timeout_ms * GST_MSECOND;
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, timeout, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    int r = 0;
    if (!msg) {
        r = drift_error_set(err, -ETIMEDOUT, "the muxer did not finish within %d ms",
                                  timeout_ms);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *gerr = NULL;
        gst_message_parse_error(msg, &gerr, NULL);
        r = drift_error_set(err, -EIO, "writing '%s': %s", w->path,
                                  gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
    }
    if (msg)
        gst_message_unref(msg);
    /* Stop first: a push blocked in a stuck pipeline returns (flushing) and frees the encoder
     * thread, which may hold the destination list that detach needs. */
    gst_element_set_state(w->pipeline, GST_STATE_NULL);
    drift_stream_output_detach(w->out, &w->sink.base);
    w->attached = false;
    if (r == 0)
        r = commit_file(w, err);
    w->done = r == 0;
    return r;
}

void drift_file_writer_free(struct drift_file_writer *w)
{
    if (!w)
        return;
    if (w->pipeline)
        gst_element_set_state(w->pipeline, GST_STATE_NULL);
    if (w->attached)
        drift_stream_output_detach(w->out, &w->sink.base);
    if (w->pipeline)
        gst_object_unref(w->pipeline);
    drift_appsrc_sink_clear(&w->sink);
    if (!w->done && w->temp_path)
        unlink(w->temp_path);
    g_free(w->temp_path);
    g_free(w->path);
    g_free(w);
}

const char *drift_file_writer_temp_path(const struct drift_file_writer *w)
{
    return w->temp_path;
}
