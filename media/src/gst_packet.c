/* The gst-libav pattern: the GstMemory points into the AVPacket's refcounted buffer, and the
 * destroy notify drops the packet when GStreamer is done with it. */
#include "gst_packet.h"

static void packet_free_notify(gpointer data)
{
    AVPacket *packet = data;
    av_packet_free(&packet);
}

static GstClockTime to_clock(int64_t t, AVRational tb)
{
    if (t == AV_NOPTS_VALUE || t < 0)
        return GST_CLOCK_TIME_NONE;
    return gst_util_uint64_scale((guint64)t, (guint64)tb.num * GST_SECOND, (guint64)tb.den);
}

GstBuffer *drift_gst_buffer_from_packet(AVPacket *packet, AVRational time_base)
{
    if (!packet->buf || packet->size <= 0) {
        av_packet_free(&packet);
        return NULL;
    }
    GstBuffer *buf = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, packet->data,
                                                 (gsize)packet->size, 0, (gsize)packet->size,
                                                 packet, packet_free_notify);
    GST_BUFFER_PTS(buf) = to_clock(packet->pts, time_base);
    GST_BUFFER_DTS(buf) = to_clock(packet->dts, time_base);
    GST_BUFFER_DURATION(buf) = to_clock(packet->duration, time_base);
    if (!(packet->flags & AV_PKT_FLAG_KEY))
        GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    return buf;
}
