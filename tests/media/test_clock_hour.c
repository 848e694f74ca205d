/* One clock per stream: an hour of frames and audio at 30000/1001 fps and 44.1 kHz (neither
 * divides the other) goes through the output; at the end the audio and video timelines must
 * still agree within 20 ms. Offline output and tiny frames, so it takes seconds, not an hour. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream_internal.h"

struct end_sink {
    struct drift_media_sink base;
    GstClockTime video_end, audio_end;
    uint64_t video;
};

static void end_push(struct drift_media_sink *s, enum drift_media_kind kind, GstBuffer *buf)
{
    struct end_sink *e = (struct end_sink *)s;
    GstClockTime end = GST_BUFFER_PTS(buf) + GST_BUFFER_DURATION(buf);
    if (kind == DRIFT_MEDIA_VIDEO) {
        e->video_end = end;
        e->video++;
    } else {
        e->audio_end = end;
    }
    gst_buffer_unref(buf);
}

static void end_eos(struct drift_media_sink *s)
{
}

static const struct drift_media_sink_ops end_ops = { .push = end_push, .eos = end_eos };

static void an_hour_of_stream_keeps_audio_and_video_together(void **state)
{
    const int num = 30000, den = 1001, rate = 44100;
    const int64_t frames = (int64_t)(3600.0 * num / den);
    struct drift_stream_output_config c = {
        .width = 16, .height = 16, .fps_num = num, .fps_den = den, .preset = "ultrafast",
        .video_bitrate_kbps = 50, .audio = true, .audio_rate = rate, .audio_channels = 1,
        .audio_codec = DRIFT_AUDIO_OPUS, .audio_bitrate_kbps = 16, .live = false,
    };
    struct drift_stream_output *out;
    assert_int_equal(drift_stream_output_init(&out, &c, NULL), 0);
    struct end_sink sink = { .base.ops = &end_ops };
    drift_stream_output_attach(out, &sink.base);
    uint8_t rgb[16 * 16 * 3] = { 0 };
    float pcm[2048];
    for (int i = 0; i < 2048; i++)
        pcm[i] = 0.1f * sinf((float)i * 0.05f);
    for (int64_t k = 0; k < frames; k++) {
        int64_t s0 = k * rate * den / num, s1 = (k + 1) * rate * den / num;
        rgb[0] = (uint8_t)k;
        assert_int_equal(drift_stream_output_push_video(out, rgb, k), 0);
        assert_int_equal(drift_stream_output_push_audio(out, pcm, (size_t)(s1 - s0), s0), 0);
    }
    assert_int_equal(drift_stream_output_finish(out), 0);
    struct drift_stream_stats st;
    drift_stream_output_get_stats(out, &st);
    drift_stream_output_detach(out, &sink.base);
    drift_stream_output_free(out);
    assert_int_equal(sink.video, frames);
    assert_int_equal(st.audio_silence_samples, 0);
    assert_int_equal(st.audio_dropped_samples, 0);
    double video = sink.video_end / 1e9, audio = sink.audio_end / 1e9;
    /* The audio ends with the last frame, plus the codec's priming and last-frame padding,
     * which are constant: what must not appear is an error that grows with time. */
    double priming = 312 / 48000.0, last_frame = 960 / 48000.0;
    print_message("after %.1f s of video: audio ends %+.2f ms after it (priming %.2f ms, "
                  "last-frame padding up to %.2f ms)\n",
                  video, (audio - video) * 1e3, priming * 1e3, last_frame * 1e3);
    assert_true(fabs(audio - video) <= priming + last_frame + 0.020);
    assert_true(audio - video >= -0.020);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_hour_of_stream_keeps_audio_and_video_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
