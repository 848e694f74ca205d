/* Process-wide GStreamer initialisation and a check that the elements we build pipelines from
 * exist, so that a missing plugin is reported once, by name, instead of as a parse error. */
#include <errno.h>
#include <gst/gst.h>
#include <libavutil/log.h>

#include "drift/media/media.h"

static const char *const needed_elements[] = {
    "appsrc", "h264parse", "rtph264pay", "rtpopuspay", "opusparse", "aacparse",
    "mp4mux", "matroskamux", "filesink",
};

static gpointer init_once(gpointer data)
{
    (void)data;
    gst_init(NULL, NULL);
    /* Library code does not print: libav* would log to stderr by default. */
    av_log_set_level(AV_LOG_QUIET);
    for (size_t i = 0; i < G_N_ELEMENTS(needed_elements); i++) {
        GstElementFactory *f = gst_element_factory_find(needed_elements[i]);
        if (!f)
            return (gpointer)needed_elements[i];
        gst_object_unref(f);
    }
    return NULL;
}

int drift_media_init(struct drift_error *err)
{
    static GOnce once = G_ONCE_INIT;
    const char *missing = g_once(&once, init_once, NULL);
    if (missing)
        return drift_error_set(err, -ENOENT, "GStreamer element '%s' is not installed",
                                     missing);
    return 0;
}
