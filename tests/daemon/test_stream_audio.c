/* A live stream's audio thread (daemon/stream_audio.c) on the tiny fixture models and a real
 * live output of the media layer (audio_on_clock, nobody attached: the clock runs, nothing is
 * encoded). The output's clock only starts with the first video frame, so before it the thread
 * must fill its lead and then wait: that makes the lead and the place of an update exact. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include <drift/media/stream_output.h>

#include "generation.h"
#include "stream_audio.h"

#define FIXTURES DRIFT_SOURCE_ROOT "/tests/fixtures/dit/"
#define VIDEO FIXTURES "tiny.safetensors"
#define AUDIO FIXTURES "tiny-audio.safetensors"
#define LEAD_USEC 100000
#define FPS 24

struct fixture {
    struct drift_settings s;
    struct drift_generation g;
    struct drift_stream_output *out;
    struct drift_stream_audio *audio;
    int rate, chunk;
    int64_t lead_chunks; /* whole chunks within the lead */
};

static int setup(void **state)
{
    struct fixture *f = g_new0(struct fixture, 1);
    drift_settings_init_stream(&f->s, VIDEO, AUDIO);
    g_free(f->s.prompt);
    f->s.prompt = g_strdup("w1 w2");
    f->s.fps = FPS;
    struct drift_error err = { 0 };
    if (drift_generation_open(&f->g, &f->s, NULL, &err) < 0)
        fail_msg("%s", err.message);
    f->rate = f->g.ainfo->sample_rate;
    f->chunk = f->g.ainfo->chunk_samples;
    f->lead_chunks = (int64_t)f->rate * LEAD_USEC / G_USEC_PER_SEC / f->chunk;
    assert_true(f->lead_chunks >= 2);
    struct drift_stream_output_config oc = {
        .width = f->g.vinfo->width, .height = f->g.vinfo->height, .fps_num = FPS, .fps_den = 1,
        .preset = "ultrafast", .audio = true, .audio_rate = f->rate,
        .audio_channels = f->g.ainfo->channels,
        .audio_codec = DRIFT_AUDIO_OPUS, .live = true, .audio_on_clock = true,
    };
    if (drift_stream_output_init(&f->out, &oc, &err) < 0)
        fail_msg("%s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    drift_stream_audio_stop(f->audio, NULL); /* before the generator and the output it uses */
    drift_stream_output_free(f->out);
    drift_generation_close(&f->g);
    drift_settings_done(&f->s);
    g_free(f);
    return 0;
}

static void start(struct fixture *f)
{
    struct drift_error err = { 0 };
    if (drift_stream_audio_start(&f->audio, f->g.audio, f->out, "test", LEAD_USEC, &err) < 0)
        fail_msg("%s", err.message);
}

static uint64_t chunks(struct fixture *f)
{
    struct drift_stream_audio_counters c;
    drift_stream_audio_get_counters(f->audio, &c);
    return c.chunks;
}

/* Waits (generously: a loaded machine) until the thread made at least n chunks. */
static void wait_for_chunks(struct fixture *f, uint64_t n)
{
    gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (chunks(f) < n && g_get_monotonic_time() < end)
        g_usleep(2000);
    assert_true(chunks(f) >= n);
}

static void stop(struct fixture *f, struct drift_stream_audio_counters *ret_final)
{
    drift_stream_audio_stop(f->audio, ret_final);
    f->audio = NULL;
}

/* Before the clock starts the thread fills its lead and then waits: it never runs further ahead,
 * and everything it made is in the output. */
static void the_audio_runs_a_bounded_lead_ahead(void **state)
{
    struct fixture *f = *state;
    start(f);
    wait_for_chunks(f, (uint64_t)f->lead_chunks);
    g_usleep(300000); /* three leads: a thread that ignored the clock would have gone on */
    assert_int_equal(chunks(f), f->lead_chunks);
    struct drift_stream_stats st;
    drift_stream_output_get_stats(f->out, &st);
    assert_int_equal(st.audio_samples_pushed, f->lead_chunks * f->chunk);
    assert_int_equal(st.audio_samples_out, 0);
    struct drift_stream_audio_counters c;
    stop(f, &c); /* joins a waiting thread */
    assert_int_equal(c.chunks, f->lead_chunks);
    assert_int_equal(c.late, 0);
}

/* Generates n chunks into pcm (n * chunk floats). */
static void generate(struct drift_generator *gen, int chunk, int n, float *pcm)
{
    struct drift_error err = { 0 };
    for (int i = 0; i < n; i++)
        if (drift_generator_next_audio(gen, pcm + (size_t)i * chunk, (size_t)chunk, &err) < 0)
            fail_msg("%s", err.message);
}

/* A prompt change goes to the audio generator on its thread, between two chunks: what the
 * generator makes afterwards is what a generator given the same change after the same chunks
 * makes, and not what one without the change makes. */
static void an_update_reaches_the_audio_generator(void **state)
{
    struct fixture *f = *state;
    const int after = 8;
    int k = (int)f->lead_chunks;
    start(f);
    wait_for_chunks(f, (uint64_t)k); /* the thread waits for the clock now */
    struct drift_settings next;
    drift_settings_copy(&next, &f->s);
    g_free(next.prompt);
    next.prompt = g_strdup("w5 w6 w7");
    struct drift_error err = { 0 };
    assert_int_equal(drift_stream_audio_update(f->audio, &next, &err), 0);
    assert_int_equal(chunks(f), k);
    stop(f, NULL); /* the generator is ours again */
    size_t n = (size_t)after * f->chunk;
    float *got = g_new(float, n), *want = g_new(float, n), *unchanged = g_new(float, n);
    float *skip = g_new(float, (size_t)k * f->chunk);
    generate(f->g.audio, f->chunk, after, got);
    for (int changed = 0; changed < 2; changed++) {
        struct drift_generation ref;
        if (drift_generation_open(&ref, &f->s, NULL, &err) < 0)
            fail_msg("%s", err.message);
        generate(ref.audio, f->chunk, k, skip);
        if (changed)
            assert_int_equal(drift_generation_update_audio(ref.audio, &next, &err), 0);
        generate(ref.audio, f->chunk, after, changed ? want : unchanged);
        drift_generation_close(&ref);
    }
    assert_memory_equal(got, want, n * sizeof(float));
    assert_memory_not_equal(got, unchanged, n * sizeof(float));
    g_free(got), g_free(want), g_free(unchanged), g_free(skip);
    drift_settings_done(&next);
}

/* Video far below real time (a frame every quarter second at 24 fps): the output repeats most
 * frames while the audio goes on. Every chunk reaches the output, the audio stays within its
 * lead of the clock, and any silence the output had to send is reported as late audio (a
 * loaded machine may starve the thread; it must say so). */
static void the_audio_goes_on_while_frames_are_repeated(void **state)
{
    struct fixture *f = *state;
    start(f);
    wait_for_chunks(f, (uint64_t)f->lead_chunks);
    size_t size = (size_t)f->g.vinfo->width * f->g.vinfo->height * 3;
    uint8_t *rgb = g_malloc0(size);
    struct drift_stream_stats st;
    int64_t most_ahead = 0;
    for (int k = 0; k < 6; k++) {
        assert_int_equal(drift_stream_output_push_video(f->out, rgb, k), 0);
        for (int i = 0; i < 25; i++) {
            g_usleep(10000);
            drift_stream_output_get_stats(f->out, &st);
            most_ahead = MAX(most_ahead, (int64_t)st.audio_samples_pushed -
                                             (int64_t)st.audio_samples_out);
        }
    }
    /* The output's counters now, the thread's once it made two more chunks: a gap the output
     * had filled with silence by now is known to the thread at its next chunk. */
    drift_stream_output_get_stats(f->out, &st);
    struct drift_stream_audio_counters c, final;
    wait_for_chunks(f, chunks(f) + 2);
    drift_stream_audio_get_counters(f->audio, &c);
    stop(f, &final);
    g_free(rgb);
    assert_true(st.frames_repeated > st.frames_out / 2);
    assert_true(c.chunks > (uint64_t)f->lead_chunks);
    /* Every chunk went to the output: placed, or dropped where its time had gone. */
    struct drift_stream_stats end;
    drift_stream_output_get_stats(f->out, &end);
    assert_int_equal(final.chunks * (uint64_t)f->chunk,
                     end.audio_samples_pushed + end.audio_dropped_samples);
    assert_true(most_ahead <= (int64_t)f->rate * LEAD_USEC / G_USEC_PER_SEC);
    /* The repeats carried sound: silence only where the thread came late, and said so. */
    assert_true(st.audio_silence_samples == 0 || c.late > 0);
}

/* Nonsense is refused with a message naming it. */
static void start_refuses_what_is_not_an_audio_generator(void **state)
{
    struct fixture *f = *state;
    struct drift_stream_audio *a = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_stream_audio_start(&a, f->g.video, f->out, "x", LEAD_USEC, &err),
                     -EINVAL);
    assert_non_null(strstr(err.message, "not an audio generator"));
    assert_int_equal(drift_stream_audio_start(&a, f->g.audio, NULL, "x", LEAD_USEC, &err),
                     -EINVAL);
    assert_non_null(strstr(err.message, "no output"));
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_audio_runs_a_bounded_lead_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(an_update_reaches_the_audio_generator, setup, teardown),
        cmocka_unit_test_setup_teardown(the_audio_goes_on_while_frames_are_repeated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(start_refuses_what_is_not_an_audio_generator, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
