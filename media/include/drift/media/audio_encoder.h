/* Audio encoder on libavcodec: Opus (RTSP, Matroska) or AAC-LC (MP4), 48 kHz.
 *
 * Input is float32 interleaved PCM at any rate and channel count; libswresample converts it to
 * 48 kHz, 1 or 2 channels, and the encoder's sample format. Packet times count samples at 48 kHz,
 * starting at 0 with the first packet: the codec's priming samples (Opus 312, AAC 1024) are
 * part of the first packet, so the decoded audio starts that many samples late (≤ 21.4 ms, a
 * constant offset that never drifts).
 */
#ifndef DRIFT_MEDIA_AUDIO_ENCODER_H
#define DRIFT_MEDIA_AUDIO_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "drift/media/media.h"

#ifdef __cplusplus
extern "C" {
#endif

enum drift_audio_codec {
    DRIFT_AUDIO_OPUS = 0, /* RTSP and Matroska */
    DRIFT_AUDIO_AAC = 1,  /* MP4 */
};

/** Encoded sample rate of both codecs. */
#define DRIFT_AUDIO_OUT_RATE 48000

struct drift_audio_encoder;

struct drift_audio_encoder_config {
    enum drift_audio_codec codec;
    int in_rate;      /* input sample rate, 8000..192000 */
    int in_channels;  /* input channels, 1..8 */
    int out_channels; /* 1 or 2; 0 = min(in_channels, 2) */
    int bitrate_kbps; /* 0 = 64 per channel (Opus), 96 per channel (AAC) */
};

/**
 * drift_audio_encoder_init() - open an audio encoder.
 * @ret_enc: receives the encoder (transfer full: drift_audio_encoder_free()); untouched on failure.
 * @config: settings (transfer none).
 * @err: optional; names the field at fault.
 * Returns 0, -EINVAL for a bad setting, -ENOENT when the codec is missing, -ENOMEM.
 */
int drift_audio_encoder_init(struct drift_audio_encoder **ret_enc,
                             const struct drift_audio_encoder_config *config,
                             struct drift_error *err);

/** drift_audio_encoder_free() - close the encoder; NULL is ignored. */
void drift_audio_encoder_free(struct drift_audio_encoder *enc);

/**
 * drift_audio_encoder_send() - convert and queue @n_frames frames of interleaved float PCM
 * (in_channels values per frame, transfer none). Full codec frames are encoded at once.
 * @pcm may be NULL to send @n_frames frames of silence (gap filling).
 * Returns 0, -EINVAL after a flush, -EIO on an encoder error, -ENOMEM.
 */
int drift_audio_encoder_send(struct drift_audio_encoder *enc, const float *pcm, size_t n_frames);

/**
 * drift_audio_encoder_skip() - advance the timeline by @n_frames input frames without encoding
 * them (nobody is listening). Audio still waiting for a full codec frame is dropped; the next
 * packet's pts continues exactly where the input clock is, so A/V sync survives the gap.
 * Returns 0, -EINVAL after a flush, -EIO.
 */
int drift_audio_encoder_skip(struct drift_audio_encoder *enc, size_t n_frames);

/**
 * drift_audio_encoder_flush() - pad the last partial codec frame with silence, encode it and
 * drain the encoder. Returns 0 or -EIO.
 */
int drift_audio_encoder_flush(struct drift_audio_encoder *enc);

/**
 * drift_audio_encoder_receive() - take the next packet.
 * @ret_packet: receives a packet (transfer full: av_packet_free()), pts/duration in 1/48000 s.
 * Returns 0, -EAGAIN when more input is needed, -ENODATA when drained after a flush, -EIO.
 */
int drift_audio_encoder_receive(struct drift_audio_encoder *enc, AVPacket **ret_packet);

/** Codec configuration (OpusHead, or AAC AudioSpecificConfig); transfer none. */
const uint8_t *drift_audio_encoder_extradata(const struct drift_audio_encoder *enc,
                                             size_t *ret_size);

/** Encoded channel count (1 or 2). */
int drift_audio_encoder_channels(const struct drift_audio_encoder *enc);

/** The codec this encoder produces. */
enum drift_audio_codec drift_audio_encoder_codec(const struct drift_audio_encoder *enc);

/** Samples of codec delay at the start of the stream (Opus pre-skip, AAC priming). */
int drift_audio_encoder_priming(const struct drift_audio_encoder *enc);

#ifdef __cplusplus
}
#endif
#endif
