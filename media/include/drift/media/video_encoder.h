/* H.264 encoder on libavcodec/libx264 with RGB24 input.
 *
 * RGB24 frames (any size) are converted by libswscale to YUV 4:2:0 at the output size (which may
 * be larger or smaller than the input) and encoded by libx264 with zero-latency tuning: one packet
 * out per frame in, no B-frames (DTS == PTS), Annex-B byte stream with SPS/PPS repeated in front
 * of every keyframe, so any keyframe is a valid starting point for a late joiner.
 */
#ifndef DRIFT_MEDIA_VIDEO_ENCODER_H
#define DRIFT_MEDIA_VIDEO_ENCODER_H

#include <stdbool.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "drift/media/media.h"

#ifdef __cplusplus
extern "C" {
#endif

struct drift_video_encoder;

struct drift_video_encoder_config {
    int in_width, in_height;   /* RGB24 input size, 2..16384 */
    int out_width, out_height; /* encoded size, even, 16..8192; 0 = input size */
    int fps_num, fps_den;      /* frame rate, e.g. 24/1 or 30000/1001; den 0 = 1 */
    int bitrate_kbps;          /* average bitrate; 0 = picked from size and rate */
    int gop;                   /* frames between keyframes; 0 or more than 1 s = 1 s */
    const char *preset;        /* x264 preset; NULL = "veryfast" */
    int threads;               /* encoder threads; 0 = 1 (the daemon runs one encoder per stream) */
    bool baseline;             /* constrained baseline (no CABAC, no 8x8 transform): the profile
                                  every WebRTC browser decodes (42e01f); false = x264's high */
};

/**
 * drift_video_encoder_init() - open an H.264 encoder.
 * @ret_enc: receives the encoder (transfer full: free with drift_video_encoder_free()); left
 *           untouched on failure.
 * @config: settings (transfer none; strings are copied).
 * @err: optional; names the field at fault.
 * Returns 0, -EINVAL for a bad setting, -ENOENT when libx264 is missing, -ENOMEM.
 */
int drift_video_encoder_init(struct drift_video_encoder **ret_enc,
                             const struct drift_video_encoder_config *config,
                             struct drift_error *err);

/** drift_video_encoder_free() - close the encoder; NULL is ignored. */
void drift_video_encoder_free(struct drift_video_encoder *enc);

/**
 * drift_video_encoder_send() - convert and encode one frame.
 * @rgb: in_width * in_height * 3 bytes, rows @stride bytes apart (transfer none; not kept).
 * @stride: bytes per row, at least in_width * 3; 0 = in_width * 3.
 * @pts: presentation time in frames (the stream clock); must increase.
 * @keyframe: true forces an IDR frame (e.g. a client joined).
 * Returns 0, -EINVAL (NULL @rgb, short @stride, @pts not increasing), -EIO on an encoder error.
 * Collect the packets with drift_video_encoder_receive().
 */
int drift_video_encoder_send(struct drift_video_encoder *enc, const uint8_t *rgb, int stride,
                             int64_t pts, bool keyframe, struct drift_error *err);

/**
 * drift_video_encoder_flush() - signal the end of input; the remaining packets can then be
 * received, after which receive returns -ENODATA. No frame can be sent afterwards.
 * Returns 0 or -EIO.
 */
int drift_video_encoder_flush(struct drift_video_encoder *enc);

/**
 * drift_video_encoder_receive() - take the next encoded packet.
 * @ret_packet: receives a reference-counted packet (transfer full: av_packet_free()), with
 *              pts/dts/duration in frames (time base 1/fps) and AV_PKT_FLAG_KEY on keyframes.
 * Returns 0, -EAGAIN when more input is needed, -ENODATA after a flush drained everything,
 * -EIO on an encoder error.
 */
int drift_video_encoder_receive(struct drift_video_encoder *enc, AVPacket **ret_packet);

/** The frame rate as a rational (num/den); packet times are in units of den/num seconds. */
AVRational drift_video_encoder_frame_rate(const struct drift_video_encoder *enc);

/** Encoded size. */
void drift_video_encoder_size(const struct drift_video_encoder *enc, int *ret_width,
                              int *ret_height);

/** Whether the stream is constrained baseline (else high). */
bool drift_video_encoder_baseline(const struct drift_video_encoder *enc);

/** Frames between keyframes actually used (at most one second of frames). */
int drift_video_encoder_gop(const struct drift_video_encoder *enc);

#ifdef __cplusplus
}
#endif
#endif
