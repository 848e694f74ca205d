/* Spectral audio models through the generator (tests/fixtures/dit/tiny-spectral: random weights,
 * x prediction, 512-sample chunks of 2 STFT frames): bounded, reproducible, continuous chunks; the
 * loader refuses a malformed representation or prediction by the key or tensor at fault; a stereo
 * model file adds a synthesised right channel. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <drift/generator.h>
#include "fixture.h"

#define MODEL FIXTURES_DIR "/dit/tiny-spectral"
#define CHUNK 512

static struct drift_generator_settings defaults(void)
{
    return (struct drift_generator_settings){ .prompt = "w1 w3", .seed = 42, .guidance = -1,
                                              .cache = DRIFT_CACHE_KV,
                                              .precision = DRIFT_PRECISION_F32 };
}

static void chunks_are_bounded_reproducible_and_continuous(void **state)
{
    (void)state;
    struct drift_generator_settings s = defaults();
    struct drift_generator *g = NULL, *h = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), 0);
    assert_int_equal(drift_generator_new(MODEL, &s, &h, &err), 0);
    const struct drift_model_info *info = drift_generator_info(g);
    assert_int_equal(info->kind, DRIFT_MODEL_AUDIO);
    assert_int_equal(info->chunk_samples, CHUNK);
    enum { N = 8 };
    static float a[N * CHUNK], b[N * CHUNK];
    for (int i = 0; i < N; i++) {
        assert_int_equal(drift_generator_next_audio(g, a + CHUNK * i, CHUNK, &err), 0);
        assert_int_equal(drift_generator_next_audio(h, b + CHUNK * i, CHUNK, &err), 0);
    }
    assert_memory_equal(a, b, sizeof(a));
    /* After the first window (1024 samples fading in), the joins between chunks are no rougher
     * than the inside: mean |second difference| at the joins within 2x of the mean elsewhere. */
    double at = 0, inside = 0, energy = 0;
    int n_at = 0, n_in = 0;
    for (int i = 1024; i < N * CHUNK - 1; i++) {
        assert_true(a[i] >= -1.0f && a[i] <= 1.0f);
        energy += (double)a[i] * a[i];
        double d2 = fabs(a[i + 1] - 2 * a[i] + a[i - 1]);
        if (i % CHUNK == 0 || i % CHUNK == CHUNK - 1) {
            at += d2;
            n_at++;
        } else {
            inside += d2;
            n_in++;
        }
    }
    print_message("joins / inside: %.3f, rms %.4f\n", (at / n_at) / (inside / n_in),
                  sqrt(energy / (N * CHUNK - 1025)));
    assert_true(energy > 0);
    assert_true(at / n_at < 2.0 * inside / n_in);
    drift_generator_free(g);
    drift_generator_free(h);
}

/* Writes DIR/m.json (the fixture's config with key = value, or without key when value is NULL)
 * and DIR/m.safetensors (the fixture's weights, with `rename` renamed to `to` when given). */
static void write_variant(const char *dir, const char *section, const char *key, json_t *value,
                          const char *rename, const char *to)
{
    json_error_t jerr;
    json_t *conf = json_load_file(MODEL ".json", 0, &jerr);
    assert_non_null(conf);
    json_t *sec = json_object_get(conf, section);
    if (value)
        json_object_set_new(sec, key, value);
    else if (key)
        json_object_del(sec, key);
    char path[512];
    snprintf(path, sizeof(path), "%s/m.json", dir);
    assert_int_equal(json_dump_file(conf, path, 0), 0);
    json_decref(conf);
    FILE *in = fopen(MODEL ".safetensors", "rb");
    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    if (rename) { /* same length: the header stays valid */
        char *at = memmem(bytes, (size_t)size, rename, strlen(rename));
        assert_non_null(at);
        memcpy(at, to, strlen(to));
    }
    snprintf(path, sizeof(path), "%s/m.safetensors", dir);
    FILE *out = fopen(path, "wb");
    assert_int_equal(fwrite(bytes, 1, (size_t)size, out), (size_t)size);
    fclose(out);
    free(bytes);
}

/* Sets one more key in DIR/m.json (after write_variant). */
static void also_set(const char *dir, const char *section, const char *key, json_t *value)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/m.json", dir);
    json_error_t jerr;
    json_t *conf = json_load_file(path, 0, &jerr);
    assert_non_null(conf);
    json_object_set_new(json_object_get(conf, section), key, value);
    assert_int_equal(json_dump_file(conf, path, 0), 0);
    json_decref(conf);
}

static void expect_refusal(const char *dir, const char *words)
{
    char model[512];
    snprintf(model, sizeof(model), "%s/m", dir);
    struct drift_generator_settings s = defaults();
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    struct drift_model_info info;
    int r = drift_generator_new(model, &s, &g, &err);
    assert_true(r < 0);
    assert_null(g);
    if (!strstr(err.message, words))
        fail_msg("'%s' does not name '%s'", err.message, words);
    err.message[0] = 0;
    assert_true(drift_model_probe(model, &info, &err) < 0); /* the probe refuses it too */
    if (!strstr(err.message, words))
        fail_msg("probe: '%s' does not name '%s'", err.message, words);
}

static void malformed_representations_are_refused_by_name(void **state)
{
    (void)state;
    char dir[] = "/tmp/drift-spectral-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_variant(dir, "audio", "representation", json_string("wavelet"), NULL, NULL);
    expect_refusal(dir, "audio.representation");
    write_variant(dir, "audio", "n_fft", json_integer(1000), NULL, NULL);
    expect_refusal(dir, "audio.n_fft");
    write_variant(dir, "audio", "n_fft", json_integer(2048), NULL, NULL); /* not 4 x the hop */
    expect_refusal(dir, "audio.n_fft 2048");
    write_variant(dir, "audio", "floor", NULL, NULL, NULL);
    expect_refusal(dir, "audio.floor");
    write_variant(dir, "audio", "spread", json_real(-1), NULL, NULL);
    expect_refusal(dir, "audio.spread");
    write_variant(dir, "arch", "prediction", json_string("eps"), NULL, NULL);
    expect_refusal(dir, "arch.prediction");
    write_variant(dir, "arch", "in_dim", json_integer(512), NULL, NULL);
    expect_refusal(dir, "needs (32,512)"); /* the weights no longer fit the architecture */
    write_variant(dir, "audio", NULL, NULL, "spectral.mean", "spectral.mxan");
    expect_refusal(dir, "spectral.mean");
    write_variant(dir, "audio", "channels", json_integer(3), NULL, NULL);
    expect_refusal(dir, "audio.channels");
    write_variant(dir, "audio", "channels", json_integer(2), NULL, NULL); /* no width */
    expect_refusal(dir, "audio.stereo_width");
    also_set(dir, "audio", "stereo_width", json_real(1.5));
    expect_refusal(dir, "audio.stereo_width");
    write_variant(dir, "audio", "stereo_width", json_real(0.5), NULL, NULL); /* mono */
    expect_refusal(dir, "audio.stereo_width is set but audio.channels is not 2");
    write_variant(dir, "audio", "noise_level", json_real(0.1), NULL, NULL);
    expect_refusal(dir, "audio.noise_level");
    write_variant(dir, "audio", "noise_level", json_string("loud"), NULL, NULL);
    expect_refusal(dir, "audio.noise_level");
    fixture_remove_model_dir(dir);
}

/* A stereo model file (audio.channels 2) is the same model with a second synthesised channel:
 * the left channel is the mono model's output sample for sample, the right one differs, and a
 * buffer of one channel's room is refused by name. */
static void a_stereo_model_adds_a_right_channel(void **state)
{
    (void)state;
    char dir[] = "/tmp/drift-spectral-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_variant(dir, "audio", "channels", json_integer(2), NULL, NULL);
    also_set(dir, "audio", "stereo_width", json_real(1.0));
    char model[512];
    snprintf(model, sizeof(model), "%s/m", dir);
    struct drift_generator_settings s = defaults();
    struct drift_generator *mono = NULL, *stereo = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_new(MODEL, &s, &mono, &err), 0);
    assert_int_equal(drift_generator_new(model, &s, &stereo, &err), 0);
    assert_int_equal(drift_generator_info(mono)->channels, 1);
    assert_int_equal(drift_generator_info(stereo)->channels, 2);
    static float m[CHUNK], st[2 * CHUNK];
    assert_int_equal(drift_generator_next_audio(stereo, st, CHUNK, &err), -EINVAL);
    assert_non_null(strstr(err.message, "2 channels"));
    double differ = 0;
    for (int c = 0; c < 6; c++) {
        assert_int_equal(drift_generator_next_audio(mono, m, CHUNK, &err), 0);
        assert_int_equal(drift_generator_next_audio(stereo, st, 2 * CHUNK, &err), 0);
        for (int i = 0; i < CHUNK; i++) {
            if (st[2 * i] != m[i])
                fail_msg("chunk %d sample %d: left %g, mono %g", c, i, st[2 * i], m[i]);
            differ += fabs(st[2 * i + 1] - st[2 * i]);
        }
    }
    assert_true(differ > 0);
    drift_generator_free(mono);
    drift_generator_free(stereo);
    fixture_remove_model_dir(dir);
}

int main(void)
{
    unsetenv("DRIFT_PRECISION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunks_are_bounded_reproducible_and_continuous),
        cmocka_unit_test(malformed_representations_are_refused_by_name),
        cmocka_unit_test(a_stereo_model_adds_a_right_channel),
    };
    return cmocka_run_group_tests_name("spectral model", tests, NULL, NULL);
}
