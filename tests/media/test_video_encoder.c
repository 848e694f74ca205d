/* H.264 encoder: argument checks, Annex-B with SPS/PPS on every keyframe, a keyframe at least
 * every second and on demand, one packet per frame with the frame's timestamp, scaling. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drift/media/video_encoder.h"

static const struct drift_video_encoder_config base = {
    .in_width = 64, .in_height = 48, .fps_num = 24, .fps_den = 1, .preset = "ultrafast",
};

static void rejects_bad_settings_naming_the_field(void **state)
{
    struct drift_video_encoder *enc = NULL;
    struct drift_error err = { 0 };
    struct {
        struct drift_video_encoder_config c;
        const char *field;
    } cases[] = {
        { { .in_width = 0, .in_height = 48, .fps_num = 24 }, "in_width" },
        { { .in_width = 64, .in_height = -1, .fps_num = 24 }, "in_height" },
        { { .in_width = 63, .in_height = 48, .fps_num = 24 }, "out_width" }, /* odd */
        { { .in_width = 64, .in_height = 48, .out_height = 8, .fps_num = 24 }, "out_height" },
        { { .in_width = 64, .in_height = 48, .fps_num = 0 }, "fps" },
        { { .in_width = 64, .in_height = 48, .fps_num = 1000 }, "fps" },
        { { .in_width = 64, .in_height = 48, .fps_num = 24, .bitrate_kbps = -5 }, "bitrate_kbps" },
        { { .in_width = 64, .in_height = 48, .fps_num = 24, .gop = -1 }, "gop" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(drift_video_encoder_init(&enc, &cases[i].c, &err), -EINVAL);
        assert_non_null(strstr(err.message, cases[i].field));
        assert_null(enc);
    }
    assert_int_equal(drift_video_encoder_init(&enc, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.message, "config"));
    assert_int_equal(drift_video_encoder_init(NULL, &base, NULL), -EINVAL);
}

/* Returns whether the Annex-B packet holds a NAL unit of @type (7 SPS, 8 PPS, 5 IDR). */
static int has_nal(const AVPacket *p, int type)
{
    for (int i = 0; i + 3 < p->size; i++)
        if (p->data[i] == 0 && p->data[i + 1] == 0 && p->data[i + 2] == 1 &&
            (p->data[i + 3] & 0x1f) == type)
            return 1;
    return 0;
}

static uint8_t *pattern(int w, int h, int k)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++)
        rgb[i] = (uint8_t)(i * 7 + k * 13);
    return rgb;
}

static void keyframes_every_second_and_on_demand_with_headers(void **state)
{
    struct drift_video_encoder *enc;
    struct drift_video_encoder_config c = base;
    c.gop = 1000; /* asks for more than a second: clamped to one second */
    assert_int_equal(drift_video_encoder_init(&enc, &c, NULL), 0);
    assert_int_equal(drift_video_encoder_gop(enc), 24);
    int keys[60] = { 0 };
    for (int k = 0; k < 60; k++) {
        uint8_t *rgb = pattern(64, 48, k);
        assert_int_equal(drift_video_encoder_send(enc, rgb, 0, k, k == 30, NULL), 0);
        free(rgb);
        AVPacket *p;
        /* Zero latency: the packet of frame k is out before frame k + 1 goes in. */
        assert_int_equal(drift_video_encoder_receive(enc, &p), 0);
        assert_int_equal(p->pts, k);
        assert_int_equal(p->dts, k);
        assert_int_equal(p->duration, 1);
        assert_memory_equal(p->data, "\0\0\0\1", 4); /* Annex-B start code */
        keys[k] = (p->flags & AV_PKT_FLAG_KEY) != 0;
        if (keys[k]) { /* a late joiner can start on any keyframe */
            assert_true(has_nal(p, 7));
            assert_true(has_nal(p, 8));
            assert_true(has_nal(p, 5));
        }
        av_packet_free(&p);
        assert_int_equal(drift_video_encoder_receive(enc, &p), -EAGAIN);
    }
    assert_true(keys[0]);
    assert_true(keys[24]);
    assert_true(keys[30]); /* requested */
    int since = 0;
    for (int k = 0; k < 60; k++) {
        since = keys[k] ? 0 : since + 1;
        assert_true(since < 24);
    }
    assert_int_equal(drift_video_encoder_flush(enc), 0);
    AVPacket *p;
    assert_int_equal(drift_video_encoder_receive(enc, &p), -ENODATA);
    drift_video_encoder_free(enc);
}

/* The SPS's profile_idc and constraint flags: the two bytes after its NAL header. */
static void sps_profile(const AVPacket *p, int *ret_profile, int *ret_flags)
{
    for (int i = 0; i + 5 < p->size; i++)
        if (p->data[i] == 0 && p->data[i + 1] == 0 && p->data[i + 2] == 1 &&
            (p->data[i + 3] & 0x1f) == 7) {
            *ret_profile = p->data[i + 4];
            *ret_flags = p->data[i + 5];
            return;
        }
    fail_msg("no SPS");
}

static void baseline_is_constrained_baseline_and_high_is_high(void **state)
{
    for (int baseline = 0; baseline < 2; baseline++) {
        struct drift_video_encoder *enc;
        struct drift_video_encoder_config c = base;
        c.baseline = baseline;
        c.preset = "veryfast"; /* CABAC and 8x8 transforms: high unless told otherwise */
        assert_int_equal(drift_video_encoder_init(&enc, &c, NULL), 0);
        assert_int_equal(drift_video_encoder_baseline(enc), baseline);
        uint8_t *rgb = pattern(64, 48, 0);
        assert_int_equal(drift_video_encoder_send(enc, rgb, 0, 0, true, NULL), 0);
        free(rgb);
        AVPacket *p;
        assert_int_equal(drift_video_encoder_receive(enc, &p), 0);
        int profile = 0, flags = 0;
        sps_profile(p, &profile, &flags);
        if (baseline) {
            assert_int_equal(profile, 66);     /* baseline (profile-level-id 42…) */
            assert_true(flags & 0x40);         /* constraint_set1: constrained baseline */
        } else {
            assert_int_equal(profile, 100);    /* high */
        }
        av_packet_free(&p);
        drift_video_encoder_free(enc);
    }
}

static void scales_to_the_output_size_and_honours_stride(void **state)
{
    struct drift_video_encoder *enc;
    struct drift_video_encoder_config c = base;
    c.out_width = 128;
    c.out_height = 96;
    assert_int_equal(drift_video_encoder_init(&enc, &c, NULL), 0);
    int w, h;
    drift_video_encoder_size(enc, &w, &h);
    assert_int_equal(w, 128);
    assert_int_equal(h, 96);
    AVRational fps = drift_video_encoder_frame_rate(enc);
    assert_int_equal(fps.num, 24);
    assert_int_equal(fps.den, 1);
    uint8_t *rgb = calloc(1, 70 * 3 * 48);
    struct drift_error err;
    assert_int_equal(drift_video_encoder_send(enc, rgb, 100, 0, false, &err), -EINVAL);
    assert_non_null(strstr(err.message, "stride"));
    assert_int_equal(drift_video_encoder_send(enc, rgb, 70 * 3, 0, false, NULL), 0);
    assert_int_equal(drift_video_encoder_send(enc, rgb, 70 * 3, 0, false, &err), -EINVAL);
    assert_non_null(strstr(err.message, "pts"));
    assert_int_equal(drift_video_encoder_send(enc, NULL, 0, 1, false, &err), -EINVAL);
    assert_non_null(strstr(err.message, "rgb"));
    free(rgb);
    drift_video_encoder_free(enc);
    drift_video_encoder_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_settings_naming_the_field),
        cmocka_unit_test(keyframes_every_second_and_on_demand_with_headers),
        cmocka_unit_test(scales_to_the_output_size_and_honours_stride),
        cmocka_unit_test(baseline_is_constrained_baseline_and_high_is_high),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
