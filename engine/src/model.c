/* The public face of the transformer (drift/model.h): dit.c's evaluations behind an opaque handle
 * with its own context, shapes checked at the door. */
#include <errno.h>
#include <stdlib.h>

#include <drift/model.h>

#include "dit.h"
#include "internal.h"

struct drift_model {
    struct drift_context *ctx;
    struct dit dit;
    double flops_per_eval;
    float *text_null; /* (D): the null prompt's text vector */
};

int drift_model_new(const struct drift_safetensors *weights, const struct drift_config *config,
                    const struct drift_context_options *options, struct drift_model **ret,
                    struct drift_error *err)
{
    struct dit_config arch;
    int r = dit_read_config(config, &arch, err);
    if (r < 0)
        return r;
    struct drift_model *m = calloc(1, sizeof(*m));
    if (!m)
        return drift_error_set(err, -ENOMEM, "model: out of memory");
    struct drift_context_options opt = { 0 };
    if (options)
        opt = *options;
    m->flops_per_eval = dit_flops_per_eval(&arch, arch.window);
    if ((r = drift_context_new(&opt, &m->ctx, err)) < 0) {
        free(m);
        return r;
    }
    /* Before anything is built: kernels are built for the team that runs them. */
    if (opt.threads == 0)
        drift_context_fit_threads(m->ctx, m->flops_per_eval);
    if ((r = dit_load(m->ctx, weights, config, 1, &m->dit, err)) < 0) {
        drift_context_free(m->ctx);
        free(m);
        return r;
    }
    m->text_null = calloc((size_t)arch.hidden, sizeof(float));
    r = m->text_null ? dit_text_cond(&m->dit, NULL, 0, m->text_null, err)
                     : drift_error_set(err, -ENOMEM, "model: out of memory");
    if (r < 0) {
        drift_model_free(m);
        return r;
    }
    *ret = m;
    return 0;
}

void drift_model_free(struct drift_model *m)
{
    if (!m)
        return;
    dit_free(&m->dit);
    drift_context_free(m->ctx);
    free(m->text_null);
    free(m);
}

void drift_model_get_shape(const struct drift_model *m, struct drift_model_shape *ret)
{
    *ret = (struct drift_model_shape){ .window = m->dit.cfg.window, .tokens = m->dit.cfg.tokens,
                                       .in_dim = m->dit.cfg.in_dim, .hidden = m->dit.cfg.hidden };
}

double drift_model_flops_per_eval(const struct drift_model *m)
{
    return m->flops_per_eval;
}

struct drift_context *drift_model_context(struct drift_model *m)
{
    return m->ctx;
}

int drift_model_condition(struct drift_model *m, float t, const float *text,
                          struct drift_error *err)
{
    const float *texts[1] = { text ? text : m->text_null };
    return dit_condition(&m->dit, &t, texts, err);
}

/* A frame as the model takes it: dense f32 (1, tokens, in_dim). */
static int check_frame(const struct drift_model *m, const struct drift_tensor *t, const char *what,
                       struct drift_error *err)
{
    if (!t || !t->data || t->dtype != DRIFT_F32 || t->ndim != 3 || t->shape[0] != 1 ||
        t->shape[1] != m->dit.cfg.tokens || t->shape[2] != m->dit.cfg.in_dim ||
        !drift_tensor_is_dense(t))
        return drift_error_set(err, -EINVAL, "model: %s must be a dense f32 tensor (1,%d,%d)",
                               what, m->dit.cfg.tokens, m->dit.cfg.in_dim);
    return 0;
}

int drift_model_commit(struct drift_model *m, const struct drift_tensor *frame, int64_t position,
                       struct drift_error *err)
{
    int r = check_frame(m, frame, "frame", err);
    return r < 0 ? r : dit_commit(&m->dit, frame, position, err);
}

int drift_model_forward(struct drift_model *m, const struct drift_tensor *x, int64_t position,
                        struct drift_tensor *out, struct drift_error *err)
{
    int r = check_frame(m, x, "x", err);
    if (r == 0)
        r = check_frame(m, out, "out", err);
    return r < 0 ? r : dit_forward(&m->dit, x, position, NULL, out, err);
}
