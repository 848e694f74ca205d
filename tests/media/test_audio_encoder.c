/* Audio encoders: argument checks, resampling to 48 kHz, packet times that count samples with
 * no gap and no overlap, codec configuration present. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drift/media/audio_encoder.h"

static void rejects_bad_settings_naming_the_field(void **state)
{
    struct drift_audio_encoder *enc = NULL;
    struct drift_error err = { 0 };
    struct {
        struct drift_audio_encoder_config c;
        const char *field;
    } cases[] = {
        { { .codec = 7, .in_rate = 48000, .in_channels = 2 }, "codec" },
        { { .in_rate = 100, .in_channels = 2 }, "in_rate" },
        { { .in_rate = 48000, .in_channels = 0 }, "in_channels" },
        { { .in_rate = 48000, .in_channels = 2, .out_channels = 3 }, "out_channels" },
        { { .in_rate = 48000, .in_channels = 2, .bitrate_kbps = 9999 }, "bitrate_kbps" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(drift_audio_encoder_init(&enc, &cases[i].c, &err), -EINVAL);
        assert_non_null(strstr(err.message, cases[i].field));
        assert_null(enc);
    }
}

/* Encodes @seconds of a tone in odd-sized chunks; checks the packets tile the timeline. */
static void encode_and_check(enum drift_audio_codec codec, int rate, int channels)
{
    struct drift_audio_encoder *enc;
    struct drift_audio_encoder_config c = { .codec = codec, .in_rate = rate,
                                            .in_channels = channels };
    assert_int_equal(drift_audio_encoder_init(&enc, &c, NULL), 0);
    assert_int_equal(drift_audio_encoder_codec(enc), codec);
    assert_int_equal(drift_audio_encoder_channels(enc), channels > 1 ? 2 : 1);
    size_t extra_size;
    const uint8_t *extra = drift_audio_encoder_extradata(enc, &extra_size);
    assert_true(extra_size >= 2);
    if (codec == DRIFT_AUDIO_OPUS)
        assert_memory_equal(extra, "OpusHead", 8);
    size_t chunk = 777, total = (size_t)rate * 2; /* two seconds */
    float *pcm = calloc(chunk * channels, sizeof(float));
    int64_t next = 0;
    size_t packets = 0;
    for (size_t done = 0; done < total; done += chunk) {
        size_t n = total - done < chunk ? total - done : chunk;
        for (size_t i = 0; i < n * channels; i++)
            pcm[i] = 0.3f * (float)((done * channels + i) % 50) / 50.0f;
        assert_int_equal(drift_audio_encoder_send(enc, pcm, n), 0);
        if (done == chunk) /* a gap filled with silence */
            assert_int_equal(drift_audio_encoder_send(enc, NULL, 5), 0), total += 5;
        AVPacket *p;
        int r;
        while ((r = drift_audio_encoder_receive(enc, &p)) == 0) {
            assert_int_equal(p->pts, next); /* no gap, no overlap */
            next += p->duration;
            packets++;
            av_packet_free(&p);
        }
        assert_int_equal(r, -EAGAIN);
    }
    assert_int_equal(drift_audio_encoder_flush(enc), 0);
    AVPacket *p;
    int r;
    while ((r = drift_audio_encoder_receive(enc, &p)) == 0) {
        assert_int_equal(p->pts, next);
        next += p->duration;
        av_packet_free(&p);
    }
    assert_int_equal(r, -ENODATA);
    assert_int_equal(drift_audio_encoder_send(enc, pcm, 1), -EINVAL); /* after flush */
    /* Every input sample is in the output at 48 kHz, plus priming and the last frame's padding. */
    int64_t want = (int64_t)total * DRIFT_AUDIO_OUT_RATE / rate;
    assert_true(next >= want);
    assert_true(next <= want + drift_audio_encoder_priming(enc) + 2048 + 64);
    assert_true(packets > 10);
    free(pcm);
    drift_audio_encoder_free(enc);
}

static void opus_from_44100_stereo(void **state)
{
    encode_and_check(DRIFT_AUDIO_OPUS, 44100, 2);
}

static void opus_from_16000_mono(void **state)
{
    encode_and_check(DRIFT_AUDIO_OPUS, 16000, 1);
}

static void aac_from_48000_six_channels_downmixed(void **state)
{
    encode_and_check(DRIFT_AUDIO_AAC, 48000, 6);
}

/* Skipping (nobody listens) moves the timeline on exactly: after 1 s sent, 0.5 s skipped and
 * 1 s sent, the packets end at 2.5 s plus priming and padding, and never go back. */
static void skip_keeps_the_timeline(void **state)
{
    struct drift_audio_encoder *enc;
    struct drift_audio_encoder_config c = { .codec = DRIFT_AUDIO_OPUS, .in_rate = 44100,
                                            .in_channels = 1 };
    assert_int_equal(drift_audio_encoder_init(&enc, &c, NULL), 0);
    static float pcm[44100];
    int64_t end = 0, last_pts = -1;
    AVPacket *p;
    for (int step = 0; step < 3; step++) {
        if (step == 1)
            assert_int_equal(drift_audio_encoder_skip(enc, 22050), 0);
        else
            assert_int_equal(drift_audio_encoder_send(enc, pcm, 44100), 0);
        while (drift_audio_encoder_receive(enc, &p) == 0) {
            assert_true(p->pts > last_pts);
            last_pts = p->pts;
            end = p->pts + p->duration;
            av_packet_free(&p);
        }
    }
    assert_int_equal(drift_audio_encoder_flush(enc), 0);
    while (drift_audio_encoder_receive(enc, &p) == 0) {
        end = p->pts + p->duration;
        av_packet_free(&p);
    }
    assert_true(end >= 120000 && end <= 120000 + 312 + 960);
    drift_audio_encoder_free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_settings_naming_the_field),
        cmocka_unit_test(opus_from_44100_stereo),
        cmocka_unit_test(opus_from_16000_mono),
        cmocka_unit_test(aac_from_48000_six_channels_downmixed),
        cmocka_unit_test(skip_keeps_the_timeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
