/* A live stream's audio on its own thread (issue 14): the audio generator's chunks go into the
 * live output on the output's clock (drift_stream_output_config.audio_on_clock), kept a bounded
 * lead ahead of what the output has played, whatever the video does. When video generation falls
 * behind and the output repeats frames, the sound goes on.
 *
 * The thread ("audio-NAME") is the only user of the audio generator from start to stop (the
 * engine's generators are not thread-safe); settings reach it through
 * drift_stream_audio_update, which waits until the thread took them between two chunks. It
 * paces itself on the output's audio_samples_out: it generates while its audio ends less than
 * the lead ahead of the clock and otherwise sleeps until the clock has moved, so it runs ahead
 * by at most the lead and never makes the output drop audio for room. Audio that reaches the
 * output after its time went out as silence; the thread then starts again at the clock. */
#ifndef DRIFT_DAEMON_STREAM_AUDIO_H
#define DRIFT_DAEMON_STREAM_AUDIO_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/error.h>
#include <drift/generator.h>

#include "settings.h"

struct drift_stream_audio;
struct drift_stream_output;

struct drift_stream_audio_counters {
    uint64_t chunks; /* chunks generated and pushed */
    uint64_t late;   /* times the output's clock passed the audio: a gap of silence went out */
};

/* Starts the thread for stream `name`. gen: an audio generator, used by the thread alone until
 * drift_stream_audio_stop returns (borrowed). out: a live output with audio_on_clock at the
 * generator's rate, one channel (borrowed: it outlives the thread). lead_usec: how far ahead of
 * the clock the audio is kept, at least two chunks. Returns 0, or -EINVAL or -EAGAIN (no
 * thread) with err set. */
int drift_stream_audio_start(struct drift_stream_audio **ret, struct drift_generator *gen,
                             struct drift_stream_output *out, const char *name,
                             int64_t lead_usec, struct drift_error *err);

/* Gives the audio generator settings s (drift_generation_update_audio) on its thread and waits
 * until it took them (at most one chunk's generation). Returns its result: 0, or a negative
 * errno with err set; -ECANCELED when the thread stopped on an error. */
int drift_stream_audio_update(struct drift_stream_audio *a, const struct drift_settings *s,
                              struct drift_error *err);

/* Pauses the thread (it takes updates but generates nothing; an idle stream) or resumes it: it
 * starts again at the output's clock, and the audio skipped meanwhile is not counted late. */
void drift_stream_audio_pause(struct drift_stream_audio *a, bool paused);

void drift_stream_audio_get_counters(struct drift_stream_audio *a,
                                     struct drift_stream_audio_counters *ret);

/* 0 while the thread generates; the negative errno (err set, "audio: …") of the error that
 * stopped it. */
int drift_stream_audio_status(struct drift_stream_audio *a, struct drift_error *err);

/* Stops and joins the thread and frees a; the generator is the caller's again. ret_final (may
 * be NULL) receives the counters as the thread left them. NULL a is ignored. */
void drift_stream_audio_stop(struct drift_stream_audio *a,
                             struct drift_stream_audio_counters *ret_final);

#endif
