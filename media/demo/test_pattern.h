/* A moving test pattern with a sync mark: frame k is a colour wash with a bouncing square; on
 * the first frame of every second the bottom quarter flashes white, and the audio beeps (1 kHz)
 * for the first 100 ms of every second over a quiet 220 Hz tone. A recording can be checked for
 * A/V sync by comparing flash and beep times. */
#ifndef DRIFT_TEST_PATTERN_H
#define DRIFT_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* @rgb: width * height * 3 bytes. @fps: frames per second (num/den). */
void drift_test_pattern_video(uint8_t *rgb, int width, int height, int64_t k, int fps_num,
                              int fps_den);

/* Fills @n frames of @channels-channel float PCM at @rate, starting at sample @index. */
void drift_test_pattern_audio(float *pcm, size_t n, int channels, int rate, int64_t index);

#endif
