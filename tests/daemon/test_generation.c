/* Settings into generator settings: the one function streams and renders share (generation.c),
 * on hand-made model infos and on the tiny fixture models. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "generation.h"

#define FIXTURES DRIFT_SOURCE_ROOT "/tests/fixtures/dit/"
#define VIDEO FIXTURES "tiny.safetensors"
#define AUDIO FIXTURES "tiny-audio.safetensors"

static void stream_settings(struct drift_settings *s, const char *prompt)
{
    drift_settings_init_stream(s, VIDEO, AUDIO);
    g_free(s->prompt);
    s->prompt = g_strdup(prompt);
}

static void audio_follows_the_words_it_knows_with_its_own_defaults(void **state)
{
    static const char *const vocab[] = { "w2", "hum" };
    struct drift_model_info info = { .kind = DRIFT_MODEL_AUDIO, .sample_rate = 24000,
                                     .chunk_samples = 2048, .channels = 1, .vocab = vocab, .vocab_size = 2 };
    struct drift_settings s;
    stream_settings(&s, "W1 w2  hum");
    g_free(s.cache);
    s.cache = g_strdup("none");
    s.guidance = 5, s.steps = 7, s.cache_threshold = 3, s.seed = 9;
    struct drift_gen_settings gs;
    struct drift_error err = { 0 };
    assert_int_equal(drift_gen_settings_init(&gs, &s, DRIFT_MODEL_AUDIO, &info, 2, &err), 0);
    assert_string_equal(gs.engine.prompt, "w2 hum");
    assert_string_equal(gs.engine.negative_prompt, "");
    assert_true(gs.engine.guidance < 0);         /* the audio model's, not the video's 5 */
    assert_int_equal(gs.engine.steps, 0);        /* the audio model's, not the video's 7 or 2 */
    assert_int_equal(gs.engine.cache, DRIFT_CACHE_KV); /* not the video's none */
    assert_true(gs.engine.cache_threshold == 0);
    assert_int_equal(gs.engine.seed, 9);
    assert_int_equal(gs.engine.prompt_blend_frames, 2); /* a quarter second: 24000/2048/4 */
    /* Before the model is loaded nothing is known: no words, no blend. */
    assert_int_equal(drift_gen_settings_init(&gs, &s, DRIFT_MODEL_AUDIO, NULL, 0, &err), 0);
    assert_string_equal(gs.engine.prompt, "");
    assert_int_equal(gs.engine.prompt_blend_frames, 0);
    drift_settings_done(&s);
}

static void video_takes_the_settings(void **state)
{
    struct drift_settings s;
    stream_settings(&s, "w1 w2");
    g_free(s.cache);
    s.cache = g_strdup("kv+step");
    s.guidance = 5, s.steps = 7, s.cache_threshold = 3, s.fps = 24;
    struct drift_gen_settings gs;
    struct drift_error err = { 0 };
    assert_int_equal(drift_gen_settings_init(&gs, &s, DRIFT_MODEL_VIDEO, NULL, 0, &err), 0);
    assert_string_equal(gs.engine.prompt, "w1 w2");
    assert_true(gs.engine.guidance == 5 && gs.engine.cache_threshold == 3);
    assert_int_equal(gs.engine.steps, 7);
    assert_int_equal(gs.engine.cache, DRIFT_CACHE_KV_TEACACHE);
    assert_int_equal(gs.engine.prompt_blend_frames, 6); /* a quarter second at 24 fps */
    assert_int_equal(drift_gen_settings_init(&gs, &s, DRIFT_MODEL_VIDEO, NULL, 2, &err), 0);
    assert_int_equal(gs.engine.steps, 2); /* lowered by the stream */
    drift_settings_done(&s);
}

static void an_unknown_cache_policy_is_an_error_not_kv(void **state)
{
    struct drift_settings s;
    stream_settings(&s, "");
    g_free(s.cache);
    s.cache = g_strdup("turbo");
    struct drift_gen_settings gs;
    struct drift_error err = { 0 };
    assert_int_equal(drift_gen_settings_init(&gs, &s, DRIFT_MODEL_VIDEO, NULL, 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "cache: 'turbo'"));
    drift_settings_done(&s);
}

static void one_formula_for_frame_rates_and_audio(void **state)
{
    int num, den;
    drift_fps_fraction(24, &num, &den);
    assert_true(num == 24 && den == 1);
    drift_fps_fraction(29.97, &num, &den);
    assert_true(num == 2997 && den == 100);
    drift_fps_fraction(12.5, &num, &den);
    assert_true(num == 25 && den == 2);
    assert_int_equal(drift_audio_samples_for(1, 24000, 24, 1), 1000);
    assert_int_equal(drift_audio_samples_for(1, 24000, 2997, 100), 800); /* 800.8, down */
    assert_int_equal(drift_audio_samples_for(2997, 48000, 2997, 100), 4800000); /* 100 s */
}

/* An audio model whose vocabulary lacks "w1" (the fixture's weights, other words). */
static char *audio_model_without_w1(void)
{
    char *dir = g_dir_make_tmp("drift-gen-XXXXXX", NULL);
    g_autofree char *json = NULL;
    assert_true(g_file_get_contents(FIXTURES "tiny-audio.json", &json, NULL, NULL));
    assert_non_null(strstr(json, "\"w1\""));
    g_autoptr(GString) edited = g_string_new(json);
    g_string_replace(edited, "\"w1\"", "\"hum\"", 1);
    g_autofree char *path = g_build_filename(dir, "other.json", NULL);
    assert_true(g_file_set_contents(path, edited->str, -1, NULL));
    g_autofree char *weights = g_build_filename(dir, "other.safetensors", NULL);
    assert_int_equal(symlink(AUDIO, weights), 0);
    return dir;
}

static void a_prompt_with_words_the_audio_model_lacks_still_has_audio(void **state)
{
    g_autofree char *dir = audio_model_without_w1();
    g_autofree char *model = g_build_filename(dir, "other.safetensors", NULL);
    struct drift_settings s;
    stream_settings(&s, "w1 w2");
    g_free(s.audio_model);
    s.audio_model = g_strdup(model);
    struct drift_generation g;
    struct drift_error err = { 0 };
    if (drift_generation_open(&g, &s, NULL, &err) < 0)
        fail_msg("%s", err.message);
    assert_non_null(g.audio);
    assert_int_equal(g.ainfo->kind, DRIFT_MODEL_AUDIO);
    float pcm[4096];
    assert_true((size_t)g.ainfo->chunk_samples <= G_N_ELEMENTS(pcm));
    assert_int_equal(drift_generator_next_audio(g.audio, pcm, G_N_ELEMENTS(pcm), &err), 0);
    g_free(s.prompt);
    s.prompt = g_strdup("w1");
    assert_int_equal(drift_generation_update(&g, &s, 0, true, &err), 0);
    drift_generation_close(&g);
    g_autofree char *json = g_build_filename(dir, "other.json", NULL);
    g_unlink(json), g_unlink(model), g_rmdir(dir);
    drift_settings_done(&s);
}

static void a_bad_audio_model_fails_a_render_and_warns_a_stream(void **state)
{
    struct drift_settings s;
    stream_settings(&s, "w1");
    g_free(s.audio_model);
    s.audio_model = g_strdup(VIDEO); /* a video model */
    struct drift_generation g;
    struct drift_error err = { 0 }, audio_err = { 0 };
    assert_true(drift_generation_open(&g, &s, NULL, &err) < 0);
    assert_non_null(strstr(err.message, "audio_model"));
    assert_null(g.video);
    err = (struct drift_error){ 0 };
    assert_int_equal(drift_generation_open(&g, &s, &audio_err, &err), 0);
    assert_non_null(g.video);
    assert_null(g.audio);
    assert_non_null(strstr(audio_err.message, "not an audio model"));
    drift_generation_close(&g);
    drift_settings_done(&s);
}

static void models_are_checked_by_kind(void **state)
{
    struct drift_settings s;
    struct drift_error err = { 0 };
    stream_settings(&s, "");
    assert_int_equal(drift_check_models(&s, NULL, &err), 0);
    g_free(s.audio_model);
    s.audio_model = g_strdup("/nonexistent/audio.safetensors");
    assert_int_equal(drift_check_models(&s, NULL, &err), -ENOEXEC);
    assert_non_null(strstr(err.message, "audio_model: /nonexistent/audio.safetensors"));
    s.audio = false; /* no audio: its model is not looked at */
    assert_int_equal(drift_check_models(&s, NULL, &err), 0);
    g_free(s.model);
    s.model = g_strdup(AUDIO);
    assert_int_equal(drift_check_models(&s, NULL, &err), -ENOEXEC);
    assert_non_null(strstr(err.message, "is not a video model"));
    drift_settings_done(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audio_follows_the_words_it_knows_with_its_own_defaults),
        cmocka_unit_test(video_takes_the_settings),
        cmocka_unit_test(an_unknown_cache_policy_is_an_error_not_kv),
        cmocka_unit_test(one_formula_for_frame_rates_and_audio),
        cmocka_unit_test(a_prompt_with_words_the_audio_model_lacks_still_has_audio),
        cmocka_unit_test(a_bad_audio_model_fails_a_render_and_warns_a_stream),
        cmocka_unit_test(models_are_checked_by_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
