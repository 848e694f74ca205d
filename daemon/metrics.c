/* See metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

struct drift_metrics {
    GString *text;
    GHashTable *families;    /* names written (owned keys) */
    const char *family;      /* the current family's name (a key of families); NULL before the
                                first */
    enum drift_metric_type type;
};

struct drift_metrics *drift_metrics_new(void)
{
    struct drift_metrics *m = g_new0(struct drift_metrics, 1);
    m->text = g_string_new(NULL);
    m->families = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return m;
}

void drift_metrics_free(struct drift_metrics *m)
{
    if (!m)
        return;
    g_string_free(m->text, TRUE);
    g_hash_table_unref(m->families);
    g_free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, the same without ':' for labels. */
static bool valid_name(const char *name, bool label)
{
    if (!name || !name[0] || g_ascii_isdigit(name[0]))
        return false;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_' && (label || *p != ':'))
            return false;
    return !label || strncmp(name, "__", 2) != 0; /* reserved for Prometheus itself */
}

int drift_metrics_family(struct drift_metrics *m, const char *name, enum drift_metric_type type,
                         const char *help, struct drift_error *err)
{
    if (!valid_name(name, false))
        return drift_error_set(err, -EINVAL, "metric name '%.64s': allowed: [a-zA-Z_:][a-zA-Z0-9_:]*",
                               name ? name : "(null)");
    if (type == DRIFT_METRIC_COUNTER && !g_str_has_suffix(name, "_total"))
        return drift_error_set(err, -EINVAL, "metric %s: a counter's name ends in _total", name);
    if (g_hash_table_contains(m->families, name))
        return drift_error_set(err, -EINVAL, "metric %s: written twice", name);
    char *key = g_strdup(name); /* the table owns it; the current family points to it */
    g_hash_table_add(m->families, key);
    g_string_append_printf(m->text, "# HELP %s ", name);
    /* HELP text escapes backslash and newline. */
    for (const char *p = help ? help : ""; *p; p++) {
        if (*p == '\\')
            g_string_append(m->text, "\\\\");
        else if (*p == '\n')
            g_string_append(m->text, "\\n");
        else
            g_string_append_c(m->text, *p);
    }
    g_string_append_printf(m->text, "\n# TYPE %s %s\n", name,
                           type == DRIFT_METRIC_COUNTER ? "counter" : "gauge");
    m->family = key;
    m->type = type;
    return 0;
}

char *drift_metrics_format_value(double value, char *buf, size_t size)
{
    if (isnan(value))
        g_strlcpy(buf, "NaN", size);
    else if (isinf(value))
        g_strlcpy(buf, value > 0 ? "+Inf" : "-Inf", size);
    else if (g_ascii_strtod(g_ascii_formatd(buf, size, "%.15g", value), NULL) != value)
        g_ascii_formatd(buf, size, "%.17g", value);
    return buf;
}

static void append_label_value(GString *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            g_string_append(out, "\\\\");
        else if (*p == '"')
            g_string_append(out, "\\\"");
        else if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
}

static int check_labels(const char *const *labels, struct drift_error *err)
{
    for (size_t i = 0; labels && labels[i]; i += 2) {
        if (!valid_name(labels[i], true))
            return drift_error_set(err, -EINVAL, "label name '%.64s': allowed: [a-zA-Z_][a-zA-Z0-9_]*, "
                                   "not starting with __", labels[i]);
        if (!labels[i + 1])
            return drift_error_set(err, -EINVAL, "label %s: no value", labels[i]);
        if (!g_utf8_validate(labels[i + 1], -1, NULL))
            return drift_error_set(err, -EINVAL, "label %s: not valid UTF-8", labels[i]);
        for (size_t j = 0; j < i; j += 2)
            if (!strcmp(labels[j], labels[i]))
                return drift_error_set(err, -EINVAL, "label %s: given twice", labels[i]);
    }
    return 0;
}

int drift_metrics_sample(struct drift_metrics *m, const char *const *labels, double value,
                         struct drift_error *err)
{
    if (!m->family)
        return drift_error_set(err, -EINVAL, "a sample before any metric family");
    if (m->type == DRIFT_METRIC_COUNTER && (!isfinite(value) || value < 0))
        return drift_error_set(err, -EINVAL, "metric %s: a counter's value %g; allowed: finite, >= 0",
                               m->family, value);
    int r = check_labels(labels, err);
    if (r < 0)
        return r;
    g_string_append(m->text, m->family);
    for (size_t i = 0; labels && labels[i]; i += 2) {
        g_string_append_printf(m->text, "%s%s=\"", i ? "," : "{", labels[i]);
        append_label_value(m->text, labels[i + 1]);
        g_string_append_c(m->text, '"');
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf(m->text, "%s %s\n", labels && labels[0] ? "}" : "",
                           drift_metrics_format_value(value, buf, sizeof buf));
    return 0;
}

const char *drift_metrics_text(const struct drift_metrics *m, size_t *ret_size)
{
    if (ret_size)
        *ret_size = m->text->len;
    return m->text->str;
}
