/* Samplers on the rectified-flow ODE dx/dt = v(x, t), from t = 1 (noise) to t = 0 (data),
 * x_t = (1 - t) x0 + t eps. Each takes the model as a callback. */
#ifndef DRIFT_SAMPLER_H
#define DRIFT_SAMPLER_H

#include <stddef.h>

#include <drift/error.h>
#include <drift/generator.h>

enum drift_sampler {
    DRIFT_SAMPLER_EULER = 0, /* first order, one evaluation per step */
    DRIFT_SAMPLER_DPMPP_2M,  /* DPM-Solver++(2M) in data prediction, one evaluation per step */
    DRIFT_SAMPLER_HEUN,      /* second order, two evaluations per step (one on the last) */
};

#define DRIFT_MAX_STEPS DRIFT_STEPS_MAX /* public: generator.h */

/* Parses "euler", "dpmpp-2m", "heun"; -EINVAL for anything else. */
int drift_sampler_from_string(const char *name, enum drift_sampler *ret);
const char *drift_sampler_name(enum drift_sampler sampler);

/* times[0..steps] from 1 to 0, shifted toward the noisy end by `shift` (1 = uniform):
 * t' = shift t / (1 + (shift - 1) t). */
void drift_sampler_times(int steps, double shift, float *times);

/* Evaluations a sampler makes for `steps` steps. */
int drift_sampler_evals(enum drift_sampler sampler, int steps);

/* The model: v = f(x, t) for the frame; `step` and `last` tell the step caches where they are.
 * `last` is set on the frame's final evaluation only, in every sampler (Heun's last step stays
 * first order): the commit "last-step" keeps that evaluation's input. Returns 0 or a negative
 * errno. */
typedef int (*drift_velocity_fn)(void *user, const float *x, float t, int step, int last,
                                 float *v);

/* Denoises x (n floats, pure noise at entry) in place along times[0..steps]. scratch must hold
 * 4n floats. */
int drift_sampler_run(enum drift_sampler sampler, const float *times, int steps, float *x,
                      size_t n, float *scratch, drift_velocity_fn velocity, void *user);

#endif
