/* The JSON config beside a model: typed getters on dotted keys, with errors that name the file,
 * the key, the expected type or range and what was found. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <drift/model_file.h>

struct drift_config {
    json_t *root;
    char *label;
};

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int adopt(json_t *root, const char *label, struct drift_config **ret, struct drift_error *err)
{
    if (!json_is_object(root)) {
        json_decref(root);
        return drift_error_set(err, -EINVAL, "%s: the config must be a JSON object", label);
    }
    struct drift_config *c = calloc(1, sizeof(*c));
    if (!c || !(c->label = strdup(label))) {
        free(c);
        json_decref(root);
        return drift_error_set(err, -ENOMEM, "%s: out of memory", label);
    }
    c->root = root;
    *ret = c;
    return 0;
}

int drift_config_parse(const char *text, size_t length, const char *label,
                       struct drift_config **ret, struct drift_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return drift_error_set(err, -EINVAL, "%s: line %d column %d: %s", label, jerr.line,
                               jerr.column, jerr.text);
    return adopt(root, label, ret, err);
}

int drift_config_open(const char *path, struct drift_config **ret, struct drift_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line < 0) /* jansson could not read the file */
            return drift_error_set(err, -ENOENT, "%s: %s", path, jerr.text);
        return drift_error_set(err, -EINVAL, "%s: line %d column %d: %s", path, jerr.line,
                               jerr.column, jerr.text);
    }
    return adopt(root, path, ret, err);
}

void drift_config_free(struct drift_config *c)
{
    if (!c)
        return;
    json_decref(c->root);
    free(c->label);
    free(c);
}

const char *drift_config_label(const struct drift_config *c) { return c->label; }

/* Walks "a.b.c" through nested objects; NULL when any part is missing. */
static json_t *lookup(const struct drift_config *c, const char *key)
{
    json_t *node = c->root;
    const char *part = key;
    while (node && *part) {
        const char *dot = strchr(part, '.');
        size_t len = dot ? (size_t)(dot - part) : strlen(part);
        if (!json_is_object(node))
            return NULL;
        node = json_object_getn(node, part, len);
        part = dot ? dot + 1 : part + len;
    }
    return node;
}

int drift_config_has(const struct drift_config *c, const char *key)
{
    return lookup(c, key) != NULL;
}

static json_t *need(const struct drift_config *c, const char *key, struct drift_error *err)
{
    json_t *v = lookup(c, key);
    if (!v)
        drift_error_set(err, -ENOENT, "%s: key '%s' is missing", c->label, key);
    return v;
}

int drift_config_get_int(const struct drift_config *c, const char *key, int64_t min, int64_t max,
                         int64_t *ret, struct drift_error *err)
{
    json_t *v = need(c, key, err);
    if (!v)
        return -ENOENT;
    if (!json_is_integer(v))
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be an integer in [%lld, %lld], "
                               "got %s", c->label, key, (long long)min, (long long)max, type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be in [%lld, %lld], got %lld",
                               c->label, key, (long long)min, (long long)max, (long long)x);
    *ret = x;
    return 0;
}

int drift_config_get_double(const struct drift_config *c, const char *key, double min, double max,
                            double *ret, struct drift_error *err)
{
    json_t *v = need(c, key, err);
    if (!v)
        return -ENOENT;
    if (!json_is_number(v))
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be a number in [%g, %g], got %s",
                               c->label, key, min, max, type_name(v));
    double x = json_number_value(v);
    if (!(x >= min && x <= max))
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be in [%g, %g], got %g", c->label,
                               key, min, max, x);
    *ret = x;
    return 0;
}

int drift_config_get_bool(const struct drift_config *c, const char *key, bool *ret,
                          struct drift_error *err)
{
    json_t *v = need(c, key, err);
    if (!v)
        return -ENOENT;
    if (!json_is_boolean(v))
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be true or false, got %s",
                               c->label, key, type_name(v));
    *ret = json_is_true(v);
    return 0;
}

int drift_config_get_string(const struct drift_config *c, const char *key, const char **ret,
                            struct drift_error *err)
{
    json_t *v = need(c, key, err);
    if (!v)
        return -ENOENT;
    if (!json_is_string(v))
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be a string, got %s", c->label,
                               key, type_name(v));
    *ret = json_string_value(v);
    return 0;
}

int drift_config_get_string_array(const struct drift_config *c, const char *key,
                                  const char ***ret, size_t *ret_count, struct drift_error *err)
{
    json_t *v = need(c, key, err);
    if (!v)
        return -ENOENT;
    if (!json_is_array(v))
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be an array of strings, got %s",
                               c->label, key, type_name(v));
    size_t n = json_array_size(v);
    const char **items = calloc(n + 1, sizeof(*items));
    if (!items)
        return drift_error_set(err, -ENOMEM, "%s: out of memory", c->label);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        if (!json_is_string(item)) {
            free(items);
            return drift_error_set(err, -EINVAL, "%s: key '%s'[%zu] must be a string, got %s",
                                   c->label, key, i, type_name(item));
        }
        items[i] = json_string_value(item);
    }
    *ret = items;
    *ret_count = n;
    return 0;
}

int drift_config_get_double_array(const struct drift_config *c, const char *key, double *out,
                                  size_t max, size_t *ret_count, struct drift_error *err)
{
    json_t *v = need(c, key, err);
    if (!v)
        return -ENOENT;
    if (!json_is_array(v) || json_array_size(v) > max)
        return drift_error_set(err, -EINVAL, "%s: key '%s' must be an array of at most %zu "
                               "numbers, got %s", c->label, key, max,
                               json_is_array(v) ? "a longer array" : type_name(v));
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        if (!json_is_number(item))
            return drift_error_set(err, -EINVAL, "%s: key '%s'[%zu] must be a number, got %s",
                                   c->label, key, i, type_name(item));
        out[i] = json_number_value(item);
    }
    *ret_count = n;
    return 0;
}
