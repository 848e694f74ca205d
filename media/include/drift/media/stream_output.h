/* A stream output: the generator's side of the media layer.
 *
 * Generation threads push RGB24 frames and float PCM into a bounded queue; the output's own
 * encoder thread takes them, encodes H.264 + Opus/AAC and hands the packets to every attached
 * destination (RTSP medias, file writers, publishers) without copying.
 *
 * One clock per stream: frame N of the output has time N / fps, audio sample S has time
 * S / 48000; wall time only decides *when* a live output emits a frame, never its timestamp.
 *
 * Live outputs (RTSP) run in real time: every 1/fps the encoder thread takes the next queued
 * frame, or repeats the last one when generation fell behind (counted in frames_repeated).
 * Audio follows one of two timelines. By default each generator frame's audio goes out with that
 * frame and a repeated frame carries silence (the sound stays with its pictures). With
 * audio_on_clock the audio has its own timeline on the output clock: sample S goes out at
 * S / audio_rate whatever frames are repeated or dropped, so a producer that keeps ahead of the
 * clock (audio_samples_out says where it is) is heard without a gap however late the video is;
 * audio that comes after its time is silence (audio_silence_samples) and is dropped.
 * When the queue is full a push waits up to push_timeout_ms for room, then drops the oldest
 * queued frame (frames_dropped): generation is never blocked without bound and memory never
 * grows (all queue memory is allocated at init).
 *
 * While a live output has no destination (no RTSP client, file or publisher) it keeps its
 * clock but does not encode (frames_unwatched), which saves the encoder's share of a core; the
 * first destination to attach gets an IDR frame at once.
 *
 * Offline outputs (files) encode as fast as frames come and never drop or repeat: a push into a
 * full queue waits up to push_timeout_ms and then fails with -EAGAIN (retry or give up).
 * Push each frame's audio soon after it (within the queue length): the encoder thread waits for
 * a frame's audio before moving on, so muxers see both streams interleaved.
 */
#ifndef DRIFT_MEDIA_STREAM_OUTPUT_H
#define DRIFT_MEDIA_STREAM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drift/media/audio_encoder.h"
#include "drift/media/media.h"

#ifdef __cplusplus
extern "C" {
#endif

struct drift_stream_output;

struct drift_stream_output_config {
    int width, height;         /* input RGB24 frame size, 2..16384 */
    int out_width, out_height; /* encoded size (even); 0 = input size */
    int fps_num, fps_den;      /* den 0 = 1 */
    int video_bitrate_kbps;    /* 0 = from size and rate */
    int gop;                   /* frames between keyframes; 0 = one second (the maximum) */
    const char *preset;        /* x264 preset; NULL = "veryfast" */
    bool audio;                /* false = video only */
    int audio_rate;            /* input PCM rate (when audio) */
    int audio_channels;        /* input PCM channels (when audio) */
    enum drift_audio_codec audio_codec; /* Opus for RTSP/Matroska, AAC for MP4 */
    int audio_bitrate_kbps;    /* 0 = codec default */
    bool live;                 /* real-time clock with frame repeat; false = offline (files) */
    bool audio_on_clock;       /* live only: audio sample S goes out at output time S / audio_rate,
                                  not with generator frame S * fps / audio_rate (see above) */
    double queue_seconds;      /* queue length; 0 = 0.5 s; at most 10 s */
    int push_timeout_ms;       /* longest a push waits for room; 0 = two frame periods (live)
                                  or 10 s (offline); -1 = never wait */
};

/** Counters; all monotonic except queued_frames and clients. */
struct drift_stream_stats {
    uint64_t frames_pushed;    /* accepted by drift_stream_output_push_video() */
    uint64_t frames_out;       /* output frames: the stream clock (repeats, unwatched included) */
    uint64_t frames_encoded;   /* output frames that went through the encoder */
    uint64_t frames_dropped;   /* queued frames discarded because the queue was full */
    uint64_t frames_repeated;  /* output frames that repeat the last one (generation late) */
    uint64_t frames_unwatched; /* output frames not encoded: no destination attached (live) */
    uint64_t audio_samples_pushed;
    uint64_t audio_samples_out;     /* input-rate samples given to the audio encoder: always
                                       exactly frames_out * audio_rate / fps (one clock) */
    uint64_t audio_silence_samples; /* input-rate samples of silence inserted (gaps, repeats) */
    uint64_t audio_dropped_samples; /* input-rate samples discarded (overlaps, full queue) */
    uint64_t keyframes;        /* IDR frames encoded */
    unsigned queued_frames;    /* frames waiting now */
    unsigned queue_capacity;   /* frames the queue holds */
    unsigned clients;          /* RTSP clients playing this stream (updated by the server) */
    uint64_t video_bytes, audio_bytes; /* encoded payload */
};

/**
 * drift_stream_output_init() - create an output and start its encoder thread.
 * @ret_out: receives the output (transfer full: drift_stream_output_free()); untouched on failure.
 * @config: transfer none.
 * @err: optional; names the field at fault.
 * Returns 0, -EINVAL, -ENOENT (codec missing), -ENOMEM, or -EAGAIN (no thread).
 */
int drift_stream_output_init(struct drift_stream_output **ret_out,
                             const struct drift_stream_output_config *config,
                             struct drift_error *err);

/**
 * drift_stream_output_free() - stop the encoder thread and free the output. Frames still queued
 * are discarded and no end-of-stream is sent (call drift_stream_output_finish() first for a
 * clean end). Remove the output from every RTSP server, file writer and publisher first.
 * NULL is ignored.
 */
void drift_stream_output_free(struct drift_stream_output *out);

/**
 * drift_stream_output_push_video() - queue one RGB24 frame (copied; transfer none).
 * @rgb: width * height * 3 bytes, tightly packed.
 * @frame_index: the generator's frame number; must increase by one per frame (a jump is
 *               accepted and only shifts which audio belongs to the frame).
 * Thread-safe. Returns 0 (also when an old frame had to be dropped, see frames_dropped),
 * -EINVAL (NULL @rgb, index not increasing, after finish), -EAGAIN (offline output: still full
 * after push_timeout_ms; retry the same frame), -EIO (the encoder thread stopped on an error:
 * drift_stream_output_last_error()).
 */
int drift_stream_output_push_video(struct drift_stream_output *out, const uint8_t *rgb,
                                   int64_t frame_index);

/**
 * drift_stream_output_push_audio() - queue interleaved float PCM (copied; transfer none).
 * @n_frames: sample frames (audio_channels values each).
 * @sample_index: the generator's index of the first frame, on the same clock as frame_index
 *                (frame k starts at sample k * audio_rate / fps). A gap is filled with silence,
 *                an overlap is dropped.
 * Thread-safe. Returns 0, -EINVAL (NULL @pcm, no audio configured, after finish), -EAGAIN
 * (offline output: no room after push_timeout_ms; what fitted was queued, so retrying the same
 * chunk with the same @sample_index is right), -EIO (the encoder thread stopped on an error).
 */
int drift_stream_output_push_audio(struct drift_stream_output *out, const float *pcm,
                                   size_t n_frames, int64_t sample_index);

/**
 * drift_stream_output_request_keyframe() - make the next encoded frame an IDR frame with
 * SPS/PPS in front (a client joined). Thread-safe; cheap.
 */
void drift_stream_output_request_keyframe(struct drift_stream_output *out);

/**
 * drift_stream_output_finish() - end the stream: encode what is queued, drain the encoders and
 * send end-of-stream to every destination. Blocks until done (a live output drains in real
 * time, at most queue_seconds). Pushes fail afterwards. Returns 0, or -EIO if an encoder failed
 * earlier (see drift_stream_output_last_error()).
 */
int drift_stream_output_finish(struct drift_stream_output *out);

/**
 * drift_stream_output_wait_watched() - whether a destination (an RTSP media, a file writer, a
 * publisher) is attached, waiting up to @timeout_us for one to attach when none is (0: do not
 * wait). A live stream's generator sleeps here while nobody watches (driftd's on-demand
 * streams): attaching wakes it at once. Thread-safe.
 */
bool drift_stream_output_wait_watched(struct drift_stream_output *out, int64_t timeout_us);

/** drift_stream_output_get_stats() - a consistent snapshot of the counters. Thread-safe. */
void drift_stream_output_get_stats(struct drift_stream_output *out,
                                   struct drift_stream_stats *ret_stats);

/**
 * drift_stream_output_last_error() - why the encoder thread stopped, or "" (transfer none:
 * valid until the output is freed).
 */
const char *drift_stream_output_last_error(struct drift_stream_output *out);

#ifdef __cplusplus
}
#endif
#endif
