/* The Prometheus text exposition format (version 0.0.4), written by driftd's /metrics
 * (http.c): families of samples, each with its # HELP and # TYPE lines, label values escaped.
 *
 * Only the format lives here; what is measured is the caller's. Names are checked as
 * Prometheus wants them ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without a leading "__"), a counter's
 * name ends in "_total" and its values are finite and never negative, and a family is written
 * once: a mistake in the caller is an error, not a page that scrapers refuse. */
#ifndef DRIFT_DAEMON_METRICS_H
#define DRIFT_DAEMON_METRICS_H

#include <stddef.h>

#include <drift/error.h>

enum drift_metric_type {
    DRIFT_METRIC_COUNTER,
    DRIFT_METRIC_GAUGE,
};

struct drift_metrics;

/* An empty page (transfer full: drift_metrics_free). */
struct drift_metrics *drift_metrics_new(void);
void drift_metrics_free(struct drift_metrics *m);

/* Starts the family name (# HELP with help, # TYPE type); the samples that follow belong to it.
 * Returns 0, or -EINVAL with err naming the fault (a bad name, a counter not ending in "_total",
 * a family already written); the page is unchanged on error. */
int drift_metrics_family(struct drift_metrics *m, const char *name, enum drift_metric_type type,
                         const char *help, struct drift_error *err);

/* One sample of the current family: labels is NULL or a NULL-terminated list of name, value
 * pairs (values any UTF-8, escaped here). Returns 0, or -EINVAL with err set (no family yet, a
 * bad label name, a label twice, a counter's value negative or not finite); the page is
 * unchanged on error. */
int drift_metrics_sample(struct drift_metrics *m, const char *const *labels, double value,
                         struct drift_error *err);

/* The page so far (transfer none: valid until the next call on m); *ret_size gets its length
 * when not NULL. */
const char *drift_metrics_text(const struct drift_metrics *m, size_t *ret_size);

/* value as the format writes it: the shortest of %.15g/%.17g that reads back exactly, "NaN",
 * "+Inf" or "-Inf"; buf holds at least 32 bytes. Returns buf. */
char *drift_metrics_format_value(double value, char *buf, size_t size);

#endif
