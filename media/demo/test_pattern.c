#include <math.h>
#include <string.h>

#include "test_pattern.h"

void drift_test_pattern_video(uint8_t *rgb, int width, int height, int64_t k, int fps_num,
                              int fps_den)
{
    /* The frame that starts second s is the first k with k * den / num >= s. */
    int64_t sec_now = k * fps_den / fps_num;
    int64_t sec_prev = k > 0 ? (k - 1) * fps_den / fps_num : -1;
    int flash = sec_now != sec_prev;
    int box = height / 5 > 4 ? height / 5 : 4;
    int bx = (int)((k * 3) % (width > box ? width - box : 1));
    int by = (int)((k * 2) % (height > box ? height - box : 1));
    for (int y = 0; y < height; y++) {
        uint8_t *row = rgb + (size_t)y * width * 3;
        for (int x = 0; x < width; x++) {
            uint8_t *p = row + x * 3;
            int white = flash && y >= height * 3 / 4;
            int in_box = x >= bx && x < bx + box && y >= by && y < by + box;
            if (white) {
                p[0] = p[1] = p[2] = 235;
            } else if (in_box) {
                p[0] = 230; p[1] = 200; p[2] = 40;
            } else {
                /* Dark enough that the flash stands out in any decoder. */
                p[0] = (uint8_t)((x + k) & 63);
                p[1] = (uint8_t)((y * 2 + k) & 63);
                p[2] = (uint8_t)(((x + y) / 2) & 63);
            }
        }
    }
}

void drift_test_pattern_audio(float *pcm, size_t n, int channels, int rate, int64_t index)
{
    for (size_t i = 0; i < n; i++) {
        int64_t s = index + (int64_t)i;
        double t = (double)s / rate;
        int64_t in_second = s % rate;
        double v = 0.05 * sin(2 * M_PI * 220.0 * t);
        if (in_second < rate / 10)
            v = 0.7 * sin(2 * M_PI * 1000.0 * t);
        for (int c = 0; c < channels; c++)
            pcm[i * channels + c] = (float)v;
    }
}
