/* Admission of live streams (issue 19): a live stream is refused, rather than started into an
 * overload, when the capacity measured on this machine cannot hold it and every other live
 * stream at their least work, one denoising step per frame.
 *
 * A stream's load is the share of the machine its generator needs: fps x the seconds of work a
 * frame of its model costs at one step (generation runs an OpenMP team over every core, so work
 * seconds are whole-machine seconds). The costs are measured by the running streams (struct
 * drift_stream_live: real-time factor at the steps in use) and remembered per model; a model
 * not measured yet is admitted and measured as it runs, and so is a stream that would run
 * alone. A frame at k steps costs k + 1 model evaluations with the KV cache (the steps and the
 * pass that commits the frame to the cache) plus the decoder and the encoder; the estimate at
 * one step scales the measured frame by 2 / (k + 1), which leaves the decoder's share out: a
 * lower bound, so that what is refused surely does not fit. */
#ifndef DRIFT_DAEMON_ADMISSION_H
#define DRIFT_DAEMON_ADMISSION_H

#include <stddef.h>

#include <drift/error.h>

struct drift_admission_load {
    const char *name;     /* the stream */
    double fps;
    double frame_seconds; /* work seconds of a frame at one step; 0 = not measured */
};

/* Whether the machine holds cand beside the running streams (n of them), each at one step per
 * frame: the sum of fps x frame_seconds stays at most 1. Streams not measured count nothing.
 * Admission protects what runs: a stream alone (n = 0) is always admitted, and degrades (fewer
 * steps, repeated frames) where the machine is too slow for it.
 * Returns 0, or -EBUSY with err saying what runs, what cand needs and what is left. */
int drift_admission_check(const struct drift_admission_load *running, size_t n,
                          const struct drift_admission_load *cand, struct drift_error *err);

/* The work seconds of a frame at one step, from a stream's real-time factor at steps per frame
 * (each frame costing commit_evals more evaluations to join the window: 1 for a commit pass, 0
 * when the last step's are kept) and fps (see above); 0 when not measured (rtf 0). */
double drift_admission_min_frame_seconds(double realtime_factor, double fps, unsigned steps,
                                         unsigned commit_evals);

#endif
