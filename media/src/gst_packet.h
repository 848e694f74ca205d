/* AVPacket -> GstBuffer without copying the payload. */
#ifndef DRIFT_MEDIA_GST_PACKET_H
#define DRIFT_MEDIA_GST_PACKET_H

#include <gst/gst.h>
#include <libavcodec/avcodec.h>

/**
 * drift_gst_buffer_from_packet() - wrap @packet's data in a GstBuffer.
 * @packet: transfer full: the buffer's memory owns it and av_packet_free()s it when the last
 *          GstBuffer sharing that memory goes away. Must be reference counted (packet->buf).
 * @time_base: unit of the packet's pts/dts/duration.
 * Sets PTS, DTS, DURATION and DELTA_UNIT (non-key). Returns the buffer (transfer full) or NULL
 * (and frees @packet) when @packet is not reference counted.
 */
GstBuffer *drift_gst_buffer_from_packet(AVPacket *packet, AVRational time_base);

#endif
