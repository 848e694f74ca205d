/* Timing helpers shared by the benchmarks. */
#ifndef DRIFT_BENCH_UTIL_H
#define DRIFT_BENCH_UTIL_H

#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs fn(arg) a few times to warm up, then repeatedly for at least min_seconds (and at least 5
 * times); returns the median seconds per call. fn returns < 0 on failure (then -1 is returned). */
double bench_median(int (*fn)(void *arg), void *arg, double min_seconds);

/* The path of the default model name ("drift-video", "drift-audio"), without extension: under
 * $DRIFT_MODELS_DIR when set, else the source tree's models/ when it is there (a build tree's
 * drift-bench), else where drift installs them. Lives until exit. */
const char *bench_model_path(const char *name);

#endif
