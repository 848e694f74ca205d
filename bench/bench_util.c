#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

const char *bench_model_path(const char *name)
{
    const char *dir = getenv("DRIFT_MODELS_DIR");
    if (!dir || !dir[0]) {
        char probe[4096];
        snprintf(probe, sizeof probe, "%s/%s.json", DRIFT_MODELS_DIR, name);
        dir = access(probe, R_OK) == 0 ? DRIFT_MODELS_DIR : DRIFT_MODELS_INSTALL_DIR;
    }
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%s/%s", dir, name);
    return path ? path : name;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(int (*fn)(void *arg), void *arg, double min_seconds)
{
    for (int i = 0; i < 3; i++)
        if (fn(arg) < 0)
            return -1;
    enum { MAX_SAMPLES = 4096 };
    static double samples[MAX_SAMPLES];
    int n = 0;
    double start = bench_now();
    while (n < MAX_SAMPLES && (n < 5 || bench_now() - start < min_seconds)) {
        double t0 = bench_now();
        if (fn(arg) < 0)
            return -1;
        samples[n++] = bench_now() - t0;
    }
    qsort(samples, (size_t)n, sizeof(double), compare_double);
    return samples[n / 2];
}
