/* A small stream output for the media tests (32x32 at fps, ultrafast, mono audio at 48 kHz in
 * the given codec), live or not; fails the test if it cannot be made. The caller owns it.
 * Include after <cmocka.h>. */
#ifndef DRIFT_TESTS_MEDIA_SMALL_OUTPUT_H
#define DRIFT_TESTS_MEDIA_SMALL_OUTPUT_H

#include <stdbool.h>

#include "drift/media/stream_output.h"

static struct drift_stream_output *small_output(bool live, enum drift_audio_codec codec, int fps)
{
    struct drift_stream_output_config c = {
        .width = 32, .height = 32, .fps_num = fps, .preset = "ultrafast", .audio = true,
        .audio_rate = 48000, .audio_channels = 1, .audio_codec = codec, .live = live,
    };
    struct drift_stream_output *out = NULL;
    assert_int_equal(drift_stream_output_init(&out, &c, NULL), 0);
    return out;
}

#endif
