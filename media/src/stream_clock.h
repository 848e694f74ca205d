/* Paces a live output: when frame N is due in wall time. Wall time decides only *when* a frame
 * is emitted; timestamps come from N. */
#ifndef DRIFT_MEDIA_STREAM_CLOCK_H
#define DRIFT_MEDIA_STREAM_CLOCK_H

#include <stdint.h>

struct drift_stream_clock {
    int64_t start_us; /* monotonic time of tick 0 */
    int fps_num, fps_den;
    uint64_t resets;  /* times the clock gave up catching up */
};

void drift_stream_clock_start(struct drift_stream_clock *clock, int fps_num, int fps_den);

/* Monotonic deadline (g_get_monotonic_time() units) of tick @n. If the encoder fell more than a
 * second behind (a stall), the clock restarts at @n instead of bursting to catch up. */
int64_t drift_stream_clock_deadline(struct drift_stream_clock *clock, int64_t n);

#endif
