#include <glib.h>

#include "stream_clock.h"

static int64_t tick_us(const struct drift_stream_clock *c, int64_t n)
{
    return (int64_t)((double)n * 1e6 * c->fps_den / c->fps_num + 0.5);
}

void drift_stream_clock_start(struct drift_stream_clock *clock, int fps_num, int fps_den)
{
    clock->fps_num = fps_num;
    clock->fps_den = fps_den;
    clock->start_us = g_get_monotonic_time();
    clock->resets = 0;
}

int64_t drift_stream_clock_deadline(struct drift_stream_clock *clock, int64_t n)
{
    int64_t deadline = clock->start_us + tick_us(clock, n);
    int64_t now = g_get_monotonic_time();
    if (now - deadline > G_USEC_PER_SEC) {
        clock->start_us = now - tick_us(clock, n);
        clock->resets++;
        deadline = now;
    }
    return deadline;
}
