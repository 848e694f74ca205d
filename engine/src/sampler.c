#include <errno.h>
#include <math.h>
#include <string.h>

#include "sampler.h"

static const char *const names[] = { "euler", "dpmpp-2m", "heun" };

int drift_sampler_from_string(const char *name, enum drift_sampler *ret)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *ret = (enum drift_sampler)i;
            return 0;
        }
    return -EINVAL;
}

const char *drift_sampler_name(enum drift_sampler sampler)
{
    return (unsigned)sampler < 3 ? names[sampler] : "?";
}

void drift_sampler_times(int steps, double shift, float *times)
{
    for (int i = 0; i <= steps; i++) {
        double t = 1.0 - (double)i / steps;
        times[i] = (float)(shift * t / (1.0 + (shift - 1.0) * t));
    }
}

int drift_sampler_evals(enum drift_sampler sampler, int steps)
{
    return sampler == DRIFT_SAMPLER_HEUN ? 2 * steps - 1 : steps;
}

static int run_euler(const float *times, int steps, float *x, size_t n, float *v,
                     drift_velocity_fn velocity, void *user)
{
    for (int i = 0; i < steps; i++) {
        int r = velocity(user, x, times[i], i, i == steps - 1, v);
        if (r < 0)
            return r;
        float dt = times[i + 1] - times[i];
        for (size_t j = 0; j < n; j++)
            x[j] += dt * v[j];
    }
    return 0;
}

static int run_heun(const float *times, int steps, float *x, size_t n, float *v, float *v2,
                    float *xp, drift_velocity_fn velocity, void *user)
{
    for (int i = 0; i < steps; i++) {
        int r = velocity(user, x, times[i], i, i == steps - 1, v);
        if (r < 0)
            return r;
        float dt = times[i + 1] - times[i];
        if (times[i + 1] <= 0.0f) { /* the last step stays first order (t = 0 is data) */
            for (size_t j = 0; j < n; j++)
                x[j] += dt * v[j];
            continue;
        }
        for (size_t j = 0; j < n; j++)
            xp[j] = x[j] + dt * v[j];
        if ((r = velocity(user, xp, times[i + 1], i, 0, v2)) < 0)
            return r;
        for (size_t j = 0; j < n; j++)
            x[j] += dt * 0.5f * (v[j] + v2[j]);
    }
    return 0;
}

/* DPM-Solver++(2M) with alpha = 1 - t, sigma = t, lambda = log(alpha / sigma); the model's data
 * prediction is x0 = x - t v. At t = 1 (lambda = -inf) the step reduces to first order. */
static int run_dpmpp_2m(const float *times, int steps, float *x, size_t n, float *v, float *x0,
                        float *x0_prev, drift_velocity_fn velocity, void *user)
{
    double h_prev = INFINITY;
    for (int i = 0; i < steps; i++) {
        double t = times[i], tn = times[i + 1];
        int r = velocity(user, x, (float)t, i, i == steps - 1, v);
        if (r < 0)
            return r;
        for (size_t j = 0; j < n; j++)
            x0[j] = x[j] - (float)t * v[j];
        if (tn <= 0.0) {
            memcpy(x, x0, n * sizeof(float));
            break;
        }
        double lam = t >= 1.0 ? -INFINITY : log((1.0 - t) / t);
        double lam_n = log((1.0 - tn) / tn);
        double h = lam_n - lam;
        double decay = isinf(h) ? 0.0 : exp(-h); /* exp(-h) - 1 = -(1 - decay) */
        double c_x = tn / t, c_d = (1.0 - tn) * (1.0 - decay);
        double k = (i == 0 || isinf(h_prev) || isinf(h)) ? 0.0 : 1.0 / (2.0 * (h_prev / h));
        for (size_t j = 0; j < n; j++) {
            double d = (1.0 + k) * x0[j] - k * x0_prev[j];
            x[j] = (float)(c_x * x[j] + c_d * d);
        }
        memcpy(x0_prev, x0, n * sizeof(float));
        h_prev = h;
    }
    return 0;
}

int drift_sampler_run(enum drift_sampler sampler, const float *times, int steps, float *x,
                      size_t n, float *scratch, drift_velocity_fn velocity, void *user)
{
    float *a = scratch, *b = scratch + n, *c = scratch + 2 * n;
    switch (sampler) {
    case DRIFT_SAMPLER_EULER: return run_euler(times, steps, x, n, a, velocity, user);
    case DRIFT_SAMPLER_HEUN: return run_heun(times, steps, x, n, a, b, c, velocity, user);
    case DRIFT_SAMPLER_DPMPP_2M: return run_dpmpp_2m(times, steps, x, n, a, b, c, velocity, user);
    }
    return -EINVAL;
}
