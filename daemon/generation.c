/* See generation.h. */
#include "generation.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib.h>

/* The words of text that vocab knows (lower-cased, as the engine reads them), into out. */
static void known_words(const char *text, const struct drift_model_info *info, char *out,
                        size_t size)
{
    g_auto(GStrv) words = g_strsplit_set(text ? text : "", " \t\n\r\v\f", -1);
    out[0] = '\0';
    for (size_t i = 0; words[i]; i++) {
        g_autofree char *word = g_ascii_strdown(words[i], -1);
        for (size_t v = 0; word[0] && v < info->vocab_size; v++) {
            if (strcmp(word, info->vocab[v]) != 0)
                continue;
            if (out[0])
                g_strlcat(out, " ", size);
            g_strlcat(out, word, size);
            break;
        }
    }
}

/* Frames (or chunks) in a quarter of a second, at least one. */
static int quarter_second(double per_second)
{
    return (int)fmax(1.0, per_second / 4.0);
}

int drift_gen_settings_init(struct drift_gen_settings *ret, const struct drift_settings *s,
                            enum drift_model_kind kind, const struct drift_model_info *info,
                            unsigned steps, struct drift_error *err)
{
    ret->prompt[0] = ret->negative_prompt[0] = '\0';
    if (kind == DRIFT_MODEL_AUDIO) {
        if (info) {
            known_words(s->prompt, info, ret->prompt, sizeof ret->prompt);
            known_words(s->negative_prompt, info, ret->negative_prompt,
                        sizeof ret->negative_prompt);
        }
        ret->engine = (struct drift_generator_settings){
            .prompt = ret->prompt,
            .negative_prompt = ret->negative_prompt,
            .seed = s->seed,
            .steps = 0,       /* the model's */
            .guidance = -1,   /* the model's */
            .cache = DRIFT_CACHE_KV,
            .prompt_blend_frames =
                info ? quarter_second((double)info->sample_rate / info->chunk_samples) : 0,
        };
        return 0;
    }
    enum drift_cache_policy cache;
    if (drift_cache_policy_from_string(s->cache, &cache) < 0)
        return drift_error_set(err, -EINVAL, "cache: '%.32s' is not a cache policy; allowed: %s",
                               s->cache ? s->cache : "(none)", DRIFT_CACHE_POLICY_NAMES);
    ret->engine = (struct drift_generator_settings){
        .prompt = s->prompt,
        .negative_prompt = s->negative_prompt,
        .seed = s->seed,
        .steps = (int)(steps ? steps : s->steps),
        .guidance = s->guidance,
        .cache = cache,
        .cache_threshold = s->cache_threshold,
        .prompt_blend_frames = quarter_second(s->fps),
    };
    return 0;
}

void drift_fps_fraction(double fps, int *ret_num, int *ret_den)
{
    if (fabs(fps - round(fps)) < 1e-9) {
        *ret_num = (int)round(fps);
        *ret_den = 1;
        return;
    }
    int n = (int)lround(fps * 1000), d = 1000, a = n, b = d;
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    *ret_num = n / a;
    *ret_den = d / a;
}

int64_t drift_audio_samples_for(int64_t frames, int rate, int fps_num, int fps_den)
{
    return frames * rate * fps_den / fps_num;
}

static int check_model(const char *key, const char *path, enum drift_model_kind kind,
                       struct drift_error *err)
{
    if (g_str_has_suffix(path, ".safetensors") && !g_file_test(path, G_FILE_TEST_EXISTS))
        return drift_error_set(err, -ENOEXEC, "%s: %s: no such file", key, path);
    struct drift_model_info info;
    int r = drift_model_probe(path, &info, err);
    /* Probing packs weights in parallel on the calling thread (driftd's main thread): its OpenMP
     * team would outlive the check, and libgomp's count of threads beyond the CPUs makes every
     * generator's waiting threads sleep at once (a render at half speed). */
    drift_release_threads();
    if (r < 0) {
        drift_error_prefix(err, "%s", key);
        return -ENOEXEC;
    }
    bool right = info.kind == kind;
    drift_model_info_free(&info);
    if (!right)
        return drift_error_set(err, -ENOEXEC, "%s: %s is not %s model", key, path,
                               kind == DRIFT_MODEL_VIDEO ? "a video" : "an audio");
    return 0;
}

int drift_check_models(const struct drift_settings *next, const struct drift_settings *cur,
                       struct drift_error *err)
{
    int r = 0;
    if (!cur || g_strcmp0(cur->model, next->model))
        r = check_model("model", next->model, DRIFT_MODEL_VIDEO, err);
    if (r == 0 && next->audio &&
        (!cur || !cur->audio || g_strcmp0(cur->audio_model, next->audio_model)))
        r = check_model("audio_model", next->audio_model, DRIFT_MODEL_AUDIO, err);
    return r;
}

/* The audio generator: created before its vocabulary is known, then given the prompt's words
 * it knows at once (blend 0: no fade from the empty prompt). It only ever changes through
 * drift_generator_update, so that later changes fade in (drift_generation_update). */
static int open_audio(struct drift_generation *g, const struct drift_settings *s,
                      struct drift_error *err)
{
    struct drift_gen_settings as;
    int r = drift_gen_settings_init(&as, s, DRIFT_MODEL_AUDIO, NULL, 0, err);
    if (r == 0)
        r = drift_generator_new(s->audio_model, &as.engine, &g->audio, err);
    if (r == 0 && drift_generator_info(g->audio)->kind != DRIFT_MODEL_AUDIO)
        r = drift_error_set(err, -EINVAL, "%s is not an audio model", s->audio_model);
    if (r == 0) {
        g->ainfo = drift_generator_info(g->audio);
        r = drift_gen_settings_init(&as, s, DRIFT_MODEL_AUDIO, g->ainfo, 0, err);
        as.engine.prompt_blend_frames = 0;
        if (r == 0)
            r = drift_generator_update(g->audio, &as.engine, err);
    }
    if (r < 0) {
        drift_error_prefix(err, "audio_model");
        drift_generator_free(g->audio);
        g->audio = NULL;
        g->ainfo = NULL;
    }
    return r;
}

int drift_generation_open(struct drift_generation *g, const struct drift_settings *s,
                          struct drift_error *audio_err, struct drift_error *err)
{
    *g = (struct drift_generation){ 0 };
    drift_fps_fraction(s->fps, &g->fps_num, &g->fps_den);
    struct drift_gen_settings vs;
    int r = drift_gen_settings_init(&vs, s, DRIFT_MODEL_VIDEO, NULL, 0, err);
    if (r == 0)
        r = drift_generator_new(s->model, &vs.engine, &g->video, err);
    if (r == 0 && drift_generator_info(g->video)->kind != DRIFT_MODEL_VIDEO)
        r = drift_error_set(err, -EINVAL, "model: %s is not a video model", s->model);
    if (r == 0) {
        g->vinfo = drift_generator_info(g->video);
        if (s->audio && open_audio(g, s, audio_err ? audio_err : err) < 0 && !audio_err)
            r = err->code;
    }
    if (r < 0)
        drift_generation_close(g);
    return r;
}

int drift_generation_update_video(struct drift_generation *g, const struct drift_settings *s,
                                  unsigned steps, bool prompt_only, struct drift_error *err)
{
    struct drift_gen_settings gs;
    int r = drift_gen_settings_init(&gs, s, DRIFT_MODEL_VIDEO, g->vinfo, steps, err);
    if (r == 0)
        r = prompt_only ? drift_generator_set_prompt(g->video, s->prompt, err)
                        : drift_generator_update(g->video, &gs.engine, err);
    return r;
}

int drift_generation_update_audio(struct drift_generator *audio, const struct drift_settings *s,
                                  struct drift_error *err)
{
    /* Only words the audio model knows reach it: it cannot refuse what the video took. */
    struct drift_gen_settings gs;
    drift_gen_settings_init(&gs, s, DRIFT_MODEL_AUDIO, drift_generator_info(audio), 0, NULL);
    int r = drift_generator_update(audio, &gs.engine, err);
    if (r < 0)
        drift_error_prefix(err, "audio_model");
    return r;
}

int drift_generation_update(struct drift_generation *g, const struct drift_settings *s,
                            unsigned steps, bool prompt_only, struct drift_error *err)
{
    int r = drift_generation_update_video(g, s, steps, prompt_only, err);
    if (r < 0 || !g->audio)
        return r;
    return drift_generation_update_audio(g->audio, s, err);
}

void drift_generation_close(struct drift_generation *g)
{
    drift_generator_free(g->video);
    drift_generator_free(g->audio);
    *g = (struct drift_generation){ 0 };
}
