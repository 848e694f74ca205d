/* The stream output: bounded queue and encoder thread. Generation is never blocked without
 * bound, memory is fixed, a slow generator gets repeats, a slow consumer gets drops, timestamps
 * count frames and samples. Destinations here are test sinks recording what they receive. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <libavutil/mathematics.h>

#include "stream_internal.h"
#include "test_pattern.h"

#define W 64
#define H 48

struct record_sink {
    struct drift_media_sink base;
    int video, audio, first_key;
    GstClockTime last_video_pts, audio_end;
    int bad_video_pts;
    int sleep_ms;      /* slow consumer */
    GMutex gate;       /* held by the test: blocks the consumer */
    bool gated;
};

static void record_push(struct drift_media_sink *s, enum drift_media_kind kind, GstBuffer *buf)
{
    struct record_sink *r = (struct record_sink *)s;
    if (r->gated) {
        g_mutex_lock(&r->gate);
        g_mutex_unlock(&r->gate);
    }
    if (kind == DRIFT_MEDIA_VIDEO) {
        if (r->video == 0)
            r->first_key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
        if (r->video > 0 && GST_BUFFER_PTS(buf) <= r->last_video_pts)
            r->bad_video_pts++;
        r->last_video_pts = GST_BUFFER_PTS(buf);
        r->video++;
    } else {
        r->audio_end = GST_BUFFER_PTS(buf) + GST_BUFFER_DURATION(buf);
        r->audio++;
    }
    gst_buffer_unref(buf);
    if (r->sleep_ms)
        g_usleep((gulong)r->sleep_ms * 1000);
}

static void record_eos(struct drift_media_sink *s)
{
}

static const struct drift_media_sink_ops record_ops = { .push = record_push, .eos = record_eos };

/* Each test's output and sink live here, so that a failed assertion (which skips the rest of the
 * test) cannot leave an encoder thread pushing into a dead stack frame: teardown cleans up. */
struct fixture {
    struct drift_stream_output *out;
    struct record_sink sink;
    bool attached;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->sink.base.ops = &record_ops;
    g_mutex_init(&f->sink.gate);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->sink.gated) {
        f->sink.gated = false;
        g_mutex_trylock(&f->sink.gate);
        g_mutex_unlock(&f->sink.gate);
    }
    if (f->out && f->attached)
        drift_stream_output_detach(f->out, &f->sink.base);
    drift_stream_output_free(f->out);
    g_mutex_clear(&f->sink.gate);
    free(f);
    return 0;
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

static void attach(struct fixture *f)
{
    drift_stream_output_attach(f->out, &f->sink.base);
    f->attached = true;
}

static void detach(struct fixture *f)
{
    drift_stream_output_detach(f->out, &f->sink.base);
    f->attached = false;
}

static struct drift_stream_output_config config(bool live, int fps)
{
    return (struct drift_stream_output_config){
        .width = W, .height = H, .fps_num = fps, .fps_den = 1, .preset = "ultrafast",
        .audio = true, .audio_rate = 44100, .audio_channels = 2,
        .audio_codec = DRIFT_AUDIO_OPUS, .live = live, .queue_seconds = 0.2,
    };
}

/* Pushes frame k and its audio; returns how long the two pushes took in µs. */
static gint64 push_frame(struct drift_stream_output *out, int64_t k, int fps, int *ret)
{
    static uint8_t rgb[W * H * 3];
    static float pcm[2 * 2000];
    drift_test_pattern_video(rgb, W, H, k, fps, 1);
    int64_t s0 = k * 44100 / fps, s1 = (k + 1) * 44100 / fps;
    drift_test_pattern_audio(pcm, (size_t)(s1 - s0), 2, 44100, s0);
    gint64 t0 = g_get_monotonic_time();
    int r = drift_stream_output_push_video(out, rgb, k);
    if (r == 0)
        r = drift_stream_output_push_audio(out, pcm, (size_t)(s1 - s0), s0);
    *ret = r;
    return g_get_monotonic_time() - t0;
}

static void rejects_bad_settings_naming_the_field(void **state)
{
    struct drift_stream_output *out = NULL;
    struct drift_error err;
    struct drift_stream_output_config c = config(true, 25);
    c.queue_seconds = 11;
    assert_int_equal(drift_stream_output_init(&out, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "queue_seconds"));
    c = config(true, 25);
    c.audio_rate = 0;
    assert_int_equal(drift_stream_output_init(&out, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "audio_rate"));
    c = config(true, 25);
    c.width = 0;
    assert_int_equal(drift_stream_output_init(&out, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "in_width"));
    c = config(true, 25);
    c.push_timeout_ms = -2;
    assert_int_equal(drift_stream_output_init(&out, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "push_timeout_ms"));
    c = config(false, 25);
    c.audio_on_clock = true; /* an offline output has no clock of its own */
    assert_int_equal(drift_stream_output_init(&out, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "audio_on_clock"));
    assert_null(out);
}

static void rejects_bad_pushes(void **state)
{
    struct drift_stream_output *out;
    struct drift_stream_output_config c = config(true, 25);
    c.audio = false;
    assert_int_equal(drift_stream_output_init(&out, &c, NULL), 0);
    uint8_t rgb[W * H * 3] = { 0 };
    float pcm[4] = { 0 };
    assert_int_equal(drift_stream_output_push_video(out, NULL, 0), -EINVAL);
    assert_int_equal(drift_stream_output_push_video(out, rgb, 5), 0);
    assert_int_equal(drift_stream_output_push_video(out, rgb, 5), -EINVAL); /* not increasing */
    assert_int_equal(drift_stream_output_push_audio(out, pcm, 2, 0), -EINVAL); /* no audio */
    assert_int_equal(drift_stream_output_finish(out), 0);
    assert_int_equal(drift_stream_output_push_video(out, rgb, 6), -EINVAL); /* finished */
    drift_stream_output_free(out);
}

/* A generator faster than real time is held to the clock by the queue, loses nothing, and every
 * destination starts on a keyframe with frame-counted timestamps and matching audio. */
static void fast_generator_is_paced_without_loss(void **state)
{
    struct fixture *f = *state;
    int fps = 50;
    struct drift_stream_output_config c = config(true, fps);
    /* Long enough that a loaded machine's scheduling hiccups cause no drop: pacing, not the
     * timeout, must be what holds the generator here. */
    c.push_timeout_ms = 1000;
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    attach(f);
    gint64 start = g_get_monotonic_time();
    for (int k = 0; k < 50; k++) {
        int r;
        push_frame(f->out, k, fps, &r);
        assert_int_equal(r, 0);
    }
    assert_int_equal(drift_stream_output_finish(f->out), 0);
    gint64 elapsed = g_get_monotonic_time() - start;
    struct drift_stream_stats st;
    drift_stream_output_get_stats(f->out, &st);
    detach(f);
    assert_int_equal(st.frames_pushed, 50);
    assert_int_equal(st.frames_dropped, 0);
    assert_int_equal(st.frames_encoded, 50);
    assert_int_equal(st.queue_capacity, 10);
    assert_true(elapsed > 900000 && elapsed < 3000000); /* one second of video, in real time */
    struct record_sink *sink = &f->sink;
    assert_true(sink->first_key);
    assert_int_equal(sink->video, 50);
    assert_int_equal(sink->bad_video_pts, 0);
    assert_int_equal(sink->last_video_pts, 49 * GST_SECOND / 50);
    /* One clock: audio ends with the video, give or take one Opus frame and the priming. */
    GstClockTime video_end = 50 * GST_SECOND / 50;
    assert_true(sink->audio_end >= video_end);
    assert_true(sink->audio_end <= video_end + 27 * GST_MSECOND);
}

/* A generator at a third of real time: the output keeps its clock by repeating frames. */
static void slow_generator_gets_repeats_and_the_clock_holds(void **state)
{
    struct fixture *f = *state;
    int fps = 48; /* 918.75 samples per frame: repeats must not round the audio clock off */
    struct drift_stream_output_config c = config(true, fps);
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    gint64 start = g_get_monotonic_time();
    for (int k = 0; k < 15; k++) {
        int r;
        push_frame(f->out, k, fps, &r);
        assert_int_equal(r, 0);
        g_usleep(60000);
    }
    struct drift_stream_stats st;
    drift_stream_output_get_stats(f->out, &st);
    gint64 elapsed = g_get_monotonic_time() - start;
    double expect = elapsed / 1e6 * fps;
    assert_true(st.frames_out > expect * 0.6 && st.frames_out < expect * 1.3);
    assert_true(st.frames_repeated > st.frames_out / 2);
    assert_int_equal(st.frames_unwatched, st.frames_out); /* nobody attached: nothing encoded */
    assert_int_equal(st.frames_encoded, 0);
    /* One clock: however frames were repeated, the audio is exactly as long as the video. */
    assert_int_equal(st.audio_samples_out, av_rescale((int64_t)st.frames_out, 44100, fps));
    assert_true(st.audio_silence_samples > 0); /* repeated frames carry silence */
    assert_int_equal(st.frames_dropped, 0);
}

/* Audio on the output clock: a producer that keeps its audio ahead of the clock is heard
 * through repeated frames, and a late one gets silence for the time it missed. */
static void audio_on_clock_is_heard_through_repeats(void **state)
{
    struct fixture *f = *state;
    int fps = 48, rate = 44100;
    struct drift_stream_output_config c = config(true, fps);
    c.audio_on_clock = true;
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    static uint8_t rgb[W * H * 3];
    static float pcm[2 * 1024];
    const int64_t lead = rate / 8, chunk = 1024; /* 125 ms of lead: the ring holds 250 ms */
    int64_t next = 0;
    struct drift_stream_stats st = { 0 };
    for (int k = 0; k < 15; k++) { /* video at a third of real time, audio kept ahead */
        gint64 until = g_get_monotonic_time() + 60000;
        do {
            drift_stream_output_get_stats(f->out, &st);
            while (next + chunk <= (int64_t)st.audio_samples_out + lead) {
                drift_test_pattern_audio(pcm, (size_t)chunk, 2, rate, next);
                assert_int_equal(drift_stream_output_push_audio(f->out, pcm, (size_t)chunk, next), 0);
                next += chunk;
            }
            if (k == 0 || g_get_monotonic_time() >= until)
                break;
            g_usleep(5000);
        } while (true);
        drift_test_pattern_video(rgb, W, H, k, fps, 1);
        assert_int_equal(drift_stream_output_push_video(f->out, rgb, k), 0);
    }
    drift_stream_output_get_stats(f->out, &st);
    assert_true(st.frames_repeated > st.frames_out / 2);
    assert_int_equal(st.audio_samples_out, av_rescale((int64_t)st.frames_out, rate, fps));
    /* Repeats carried the audio pushed for their time: silence only where a loaded machine kept
     * this loop from its 5 ms rounds for longer than the lead (the frame-bound timeline would
     * have sent silence for every repeat, over half the time). */
    assert_true(st.audio_silence_samples < st.audio_samples_out / 10);
    /* A producer that stops: the clock goes on with silence. */
    uint64_t silent = st.audio_silence_samples;
    g_usleep(300000);
    drift_stream_output_get_stats(f->out, &st);
    assert_true(st.audio_silence_samples > silent + (uint64_t)(rate / 10));
}

/* A consumer far slower than real time: pushes still return within the timeout, the queue stays
 * at its capacity and the oldest frames are dropped and counted. */
static void slow_consumer_never_blocks_generation(void **state)
{
    struct fixture *f = *state;
    int fps = 50;
    struct drift_stream_output_config c = config(true, fps);
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    f->sink.sleep_ms = 100;
    attach(f);
    gint64 worst = 0, total = 0;
    for (int k = 0; k < 60; k++) {
        int r;
        gint64 t = push_frame(f->out, k, fps, &r);
        assert_int_equal(r, 0);
        worst = MAX(worst, t);
        total += t;
    }
    struct drift_stream_stats st;
    drift_stream_output_get_stats(f->out, &st);
    /* Video and audio pushes may each wait the timeout (two frame periods, 40 ms) once. The
     * consumer takes 100 ms per packet, several per frame: a push that waited for it would
     * take far longer than this bound, which leaves room for a loaded machine. */
    assert_true(worst < 300000);
    assert_true(total < 60 * 2 * 40000 + 1000000);
    assert_true(st.frames_dropped > 20);
    assert_true(st.queued_frames <= st.queue_capacity);
    assert_true(st.audio_dropped_samples > 0);
}

/* Offline (files): nothing is dropped; a stuck consumer makes a push fail with -EAGAIN after
 * the timeout, and everything pushed is encoded once it moves again. */
static void offline_output_pushes_back_instead_of_dropping(void **state)
{
    struct fixture *f = *state;
    struct drift_stream_output_config c = config(false, 25);
    c.push_timeout_ms = 50;
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    g_mutex_lock(&f->sink.gate);
    f->sink.gated = true;
    attach(f);
    int r = 0, k;
    for (k = 0; k < 40 && r == 0; k++)
        push_frame(f->out, k, 25, &r);
    assert_int_equal(r, -EAGAIN);
    int pushed = k - 1;
    f->sink.gated = false;
    g_mutex_unlock(&f->sink.gate);
    push_frame(f->out, pushed, 25, &r); /* retried: goes in now */
    assert_int_equal(r, 0);
    assert_int_equal(drift_stream_output_finish(f->out), 0);
    struct drift_stream_stats st;
    drift_stream_output_get_stats(f->out, &st);
    detach(f);
    assert_int_equal(st.frames_dropped, 0);
    assert_int_equal(st.frames_repeated, 0);
    assert_int_equal(st.frames_encoded, (uint64_t)pushed + 1);
    assert_int_equal(f->sink.video, pushed + 1);
}

/* Audio is placed by its sample index, not by arrival: a gap becomes silence, an overlap is
 * dropped, and the counters say how much of each. */
static void audio_gaps_are_silence_and_overlaps_are_dropped(void **state)
{
    struct drift_stream_output *out;
    struct drift_stream_output_config c = config(false, 25);
    c.audio_channels = 1;
    c.audio_rate = 48000;
    assert_int_equal(drift_stream_output_init(&out, &c, NULL), 0);
    static float pcm[4000];
    uint8_t rgb[W * H * 3] = { 0 };
    assert_int_equal(drift_stream_output_push_audio(out, pcm, 1000, 0), 0);
    assert_int_equal(drift_stream_output_push_audio(out, pcm, 1000, 1500), 0); /* 500 missing */
    assert_int_equal(drift_stream_output_push_audio(out, pcm, 1000, 2000), 0); /* 500 again */
    struct drift_stream_stats st;
    drift_stream_output_get_stats(out, &st);
    assert_int_equal(st.audio_silence_samples, 500);
    assert_int_equal(st.audio_dropped_samples, 500);
    assert_int_equal(st.audio_samples_pushed, 2500);
    /* Frames 0 and 1 own samples 0..3839 (1920 each at 25 fps): all there, nothing added. */
    assert_int_equal(drift_stream_output_push_video(out, rgb, 0), 0);
    assert_int_equal(drift_stream_output_push_video(out, rgb, 1), 0);
    assert_int_equal(drift_stream_output_push_audio(out, pcm, 840, 3000), 0);
    assert_int_equal(drift_stream_output_finish(out), 0);
    drift_stream_output_get_stats(out, &st);
    assert_int_equal(st.frames_encoded, 2);
    assert_int_equal(st.audio_silence_samples, 500);
    assert_int_equal(st.audio_dropped_samples, 500);
    drift_stream_output_free(out);
}

/* A live output nobody watches keeps its clock without encoding; the first destination gets a
 * keyframe at once and audio still ends with the video. */
static void unwatched_output_skips_encoding_and_stays_in_sync(void **state)
{
    struct fixture *f = *state;
    int fps = 50;
    struct drift_stream_output_config c = config(true, fps);
    c.push_timeout_ms = 1000;
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    int r;
    for (int k = 0; k < 50; k++) {
        push_frame(f->out, k, fps, &r);
        assert_int_equal(r, 0);
        if (k == 24)
            attach(f);
    }
    assert_int_equal(drift_stream_output_finish(f->out), 0);
    struct drift_stream_stats st;
    drift_stream_output_get_stats(f->out, &st);
    detach(f);
    struct record_sink *sink = &f->sink;
    assert_int_equal(st.frames_out, 50);
    assert_true(st.frames_unwatched >= 10);
    assert_int_equal(st.frames_encoded + st.frames_unwatched, 50);
    assert_true(sink->first_key);
    assert_int_equal(sink->video, (int)st.frames_encoded);
    assert_int_equal(sink->bad_video_pts, 0);
    assert_int_equal(sink->last_video_pts, 49 * GST_SECOND / 50);
    GstClockTime video_end = GST_SECOND;
    assert_true(sink->audio_end >= video_end);
    assert_true(sink->audio_end <= video_end + 27 * GST_MSECOND);
}

static gpointer attach_later(gpointer data)
{
    g_usleep(50000);
    attach(data);
    return NULL;
}

/* A producer can sleep until somebody watches: attaching a destination wakes it at once. */
static void waiting_for_a_destination_wakes_when_one_attaches(void **state)
{
    struct fixture *f = *state;
    struct drift_stream_output_config c = config(true, 25);
    assert_int_equal(drift_stream_output_init(&f->out, &c, NULL), 0);
    assert_false(drift_stream_output_wait_watched(f->out, 0));
    gint64 t0 = g_get_monotonic_time();
    assert_false(drift_stream_output_wait_watched(f->out, 30000)); /* nobody: the timeout */
    assert_true(g_get_monotonic_time() - t0 >= 30000);
    GThread *t = g_thread_new("attach", attach_later, f);
    t0 = g_get_monotonic_time();
    assert_true(drift_stream_output_wait_watched(f->out, 10 * G_USEC_PER_SEC));
    gint64 waited = g_get_monotonic_time() - t0;
    g_thread_join(t);
    assert_true(waited >= 40000 && waited < 5 * G_USEC_PER_SEC); /* woken, not timed out */
    assert_true(drift_stream_output_wait_watched(f->out, 0));
    detach(f);
    assert_false(drift_stream_output_wait_watched(f->out, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_settings_naming_the_field),
        cmocka_unit_test(rejects_bad_pushes),
        FIXTURE_TEST(fast_generator_is_paced_without_loss),
        FIXTURE_TEST(slow_generator_gets_repeats_and_the_clock_holds),
        FIXTURE_TEST(audio_on_clock_is_heard_through_repeats),
        FIXTURE_TEST(slow_consumer_never_blocks_generation),
        FIXTURE_TEST(offline_output_pushes_back_instead_of_dropping),
        cmocka_unit_test(audio_gaps_are_silence_and_overlaps_are_dropped),
        FIXTURE_TEST(unwatched_output_skips_encoding_and_stays_in_sync),
        FIXTURE_TEST(waiting_for_a_destination_wakes_when_one_attaches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
