/* Settings turned into the engine's generators: the one place where streams (stream_thread.c)
 * and renders (render.c) get their generator settings, their frame rate as a fraction and the
 * audio that belongs with each frame.
 *
 * - The video generator takes the settings as they are: its prompt must be in its vocabulary.
 * - The audio generator follows the words of the prompt (and negative prompt) that its own
 *   vocabulary knows, with the kv cache and its own sampler defaults (steps, guidance): the
 *   settings' steps, guidance and cache are the video's.
 * - A new prompt fades in over a quarter of a second of each generator's content.
 * - A cache policy that does not parse is an error, never a fallback. */
#ifndef DRIFT_DAEMON_GENERATION_H
#define DRIFT_DAEMON_GENERATION_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/generator.h>

#include "settings.h"

/* A generator's settings and the strings they point to. */
struct drift_gen_settings {
    struct drift_generator_settings engine; /* strings point into the settings or below */
    char prompt[DRIFT_PROMPT_MAX + 1];      /* audio: the words the vocabulary knows */
    char negative_prompt[DRIFT_PROMPT_MAX + 1];
};

/* The settings of the kind's generator for settings s. info: the loaded model (NULL before it
 * is loaded: an audio generator then gets no prompt and no blend yet). steps: the video's steps
 * to use (0 = s->steps; the stream lowers them when it falls behind). ret points into s.
 * Returns 0 or -EINVAL (an unknown cache policy) with err set. */
int drift_gen_settings_init(struct drift_gen_settings *ret, const struct drift_settings *s,
                            enum drift_model_kind kind, const struct drift_model_info *info,
                            unsigned steps, struct drift_error *err);

/* fps as a fraction num/den: whole rates exactly (24/1), others to a thousandth, reduced
 * (29.97 = 2997/100). */
void drift_fps_fraction(double fps, int *ret_num, int *ret_den);

/* The audio samples that belong with the first `frames` video frames at fps_num/fps_den:
 * frames * rate * fps_den / fps_num, rounded down. */
int64_t drift_audio_samples_for(int64_t frames, int rate, int fps_num, int fps_den);

/* A stream's or a render's generators. */
struct drift_generation {
    struct drift_generator *video, *audio;      /* audio NULL: no audio */
    const struct drift_model_info *vinfo, *ainfo; /* theirs; ainfo NULL without audio */
    int fps_num, fps_den;
};

/* Loads s->model (a video model) and, when s->audio, s->audio_model (an audio model) with the
 * settings above. When the audio model fails: with audio_err, *audio_err says why and g runs
 * without audio; without it the whole call fails. Returns 0 or a negative errno with err set
 * (the key named); on error g is closed. */
int drift_generation_open(struct drift_generation *g, const struct drift_settings *s,
                          struct drift_error *audio_err, struct drift_error *err);
/* Between frames: the video takes s with `steps` (0 = s->steps), or only its prompt when
 * prompt_only (it blends in); the audio follows. Returns 0 or a negative errno with err set;
 * when the video refuses, nothing changes. */
int drift_generation_update(struct drift_generation *g, const struct drift_settings *s,
                            unsigned steps, bool prompt_only, struct drift_error *err);
/* The two halves of drift_generation_update, for a caller that runs each generator on its own
 * thread (a live stream): the first uses only g->video, the second only the audio generator it
 * is given (the words of s that its vocabulary knows, fading in; errors prefixed
 * "audio_model"). */
int drift_generation_update_video(struct drift_generation *g, const struct drift_settings *s,
                                  unsigned steps, bool prompt_only, struct drift_error *err);
int drift_generation_update_audio(struct drift_generator *audio, const struct drift_settings *s,
                                  struct drift_error *err);
void drift_generation_close(struct drift_generation *g);

/* The models of next that differ from cur (NULL: all of them) load and are of the right kind
 * (the audio model only when next->audio). Returns 0 or -ENOEXEC with err naming the key and
 * the file. */
int drift_check_models(const struct drift_settings *next, const struct drift_settings *cur,
                       struct drift_error *err);

#endif
