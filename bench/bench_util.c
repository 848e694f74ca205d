#include <stdlib.h>

#include "bench_util.h"

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
