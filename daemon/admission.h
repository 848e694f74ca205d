/* Admission of live streams (issue 19): a live stream is refused, rather than started into an
 * overload, when the capacity measured on this machine cannot hold it and every other live
 * stream at their least work, one denoising step per frame.
 *
 * A stream's load is the share of the machine its generator needs: fps x the seconds of work one
 * step of its model costs (generation runs an OpenMP team over every core, so work seconds are
 * whole-machine seconds). The costs are measured by the running streams (struct
 * drift_stream_live: real-time factor at the steps in use) and remembered per model; a model
 * not measured yet is admitted and measured as it runs. One step per frame is a lower bound of a
 * frame's cost (the decoder and the encoder come on top), so what is refused surely does not
 * fit. */
#ifndef DRIFT_DAEMON_ADMISSION_H
#define DRIFT_DAEMON_ADMISSION_H

#include <stddef.h>

#include <drift/error.h>

struct drift_admission_load {
    const char *name;     /* the stream */
    double fps;
    double step_seconds;  /* work seconds of one denoising step; 0 = not measured */
};

/* Whether the machine holds cand beside the running streams (n of them), each at one step per
 * frame: the sum of fps x step_seconds stays at most 1. Streams not measured count nothing.
 * Returns 0, or -EBUSY with err saying what runs, what cand needs and what is left. */
int drift_admission_check(const struct drift_admission_load *running, size_t n,
                          const struct drift_admission_load *cand, struct drift_error *err);

/* The seconds one step costs, from a stream's real-time factor at steps per frame and fps; 0
 * when not measured (rtf 0). */
double drift_admission_step_seconds(double realtime_factor, double fps, unsigned steps);

#endif
