/* The settings table and its checks; see settings.h. */
#include "settings.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <glib.h>

#define S DRIFT_SCOPE_STREAM
#define J DRIFT_SCOPE_JOB
#define SJ (DRIFT_SCOPE_STREAM | DRIFT_SCOPE_JOB)

static const struct drift_setting_desc table[_DRIFT_KEY_MAX] = {
    [DRIFT_KEY_MODEL] = { "model", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_RESTART, 1, DRIFT_PATH_MAX,
                          "a path of 1..1024 bytes", "video model (.safetensors, JSON beside it)" },
    [DRIFT_KEY_AUDIO_MODEL] = { "audio_model", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_RESTART, 0,
                                DRIFT_PATH_MAX, "a path of 0..1024 bytes", "audio model" },
    [DRIFT_KEY_PROMPT] = { "prompt", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_LIVE, 0,
                           DRIFT_PROMPT_MAX, "0..1024 bytes of words from the model's vocabulary",
                           "what to generate" },
    [DRIFT_KEY_NEGATIVE_PROMPT] = { "negative_prompt", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_LIVE,
                                    0, DRIFT_PROMPT_MAX, "0..1024 bytes", "what to steer away from" },
    [DRIFT_KEY_SEED] = { "seed", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_LIVE, 0, 18446744073709551615.0,
                         "0..18446744073709551615", "noise seed" },
    [DRIFT_KEY_WIDTH] = { "width", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_RESTART, 16, 4096,
                          "16..4096, even", "encoded width in pixels" },
    [DRIFT_KEY_HEIGHT] = { "height", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_RESTART, 16, 4096,
                           "16..4096, even", "encoded height in pixels" },
    [DRIFT_KEY_FPS] = { "fps", DRIFT_SETTING_DOUBLE, SJ, DRIFT_APPLY_RESTART, 1, 60, "1..60",
                        "frames per second" },
    [DRIFT_KEY_STEPS] = { "steps", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_LIVE, 0, 50,
                          "0..50 (0 = the model's default)", "denoising steps per frame" },
    [DRIFT_KEY_GUIDANCE] = { "guidance", DRIFT_SETTING_DOUBLE, SJ, DRIFT_APPLY_LIVE, 0, 20, "0..20",
                             "classifier-free guidance scale (1 = none)" },
    [DRIFT_KEY_CACHE] = { "cache", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_LIVE, 1, 32,
                          "none, kv, kv+step, kv+teacache, kv+fbcache or kv+fora",
                          "step-level cache policy" },
    [DRIFT_KEY_CACHE_THRESHOLD] = { "cache_threshold", DRIFT_SETTING_DOUBLE, SJ, DRIFT_APPLY_LIVE,
                                    0, 100, "0..100", "cache threshold (FORA: interval)" },
    [DRIFT_KEY_AUDIO] = { "audio", DRIFT_SETTING_BOOL, SJ, DRIFT_APPLY_RESTART, 0, 1,
                          "true or false", "generate audio with audio_model" },
    [DRIFT_KEY_SECONDS] = { "seconds", DRIFT_SETTING_DOUBLE, J, DRIFT_APPLY_NONE, 0.1, 86400,
                            "0.1..86400", "length of a render" },
    [DRIFT_KEY_OUTPUT] = { "output", DRIFT_SETTING_STRING, J, DRIFT_APPLY_NONE, 1, DRIFT_PATH_MAX,
                           "a file name or path of 1..1024 bytes", "where a render goes" },
    [DRIFT_KEY_FORMAT] = { "format", DRIFT_SETTING_STRING, J, DRIFT_APPLY_NONE, 1, 8,
                           "mp4 or mkv", "container of a render" },
    [DRIFT_KEY_NOT_BEFORE] = { "not_before", DRIFT_SETTING_UINT, J, DRIFT_APPLY_NONE, 0,
                               18446744073709551615.0, "µs since the epoch (0 = now)",
                               "earliest start of a render" },
    [DRIFT_KEY_PRIORITY] = { "priority", DRIFT_SETTING_UINT, J, DRIFT_APPLY_NONE, 0, 100,
                             "0..100 (higher first)", "order among queued renders" },
};

static const struct { const char *name; int policy; } cache_policies[] = {
    /* Values of the engine's enum drift_cache_policy (generator.h). */
    { "none", 0 }, { "kv", 1 }, { "kv+teacache", 2 }, { "kv+step", 2 }, { "kv+fbcache", 3 },
    { "kv+fora", 4 },
};

const struct drift_setting_desc *drift_setting_desc(enum drift_setting_key key)
{
    return key < _DRIFT_KEY_MAX ? &table[key] : NULL;
}

int drift_setting_lookup(const char *name)
{
    for (int k = 0; k < _DRIFT_KEY_MAX; k++)
        if (strcmp(table[k].name, name) == 0)
            return k;
    return -ENOENT;
}

int drift_cache_policy_parse(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cache_policies); i++)
        if (strcmp(cache_policies[i].name, name) == 0)
            return cache_policies[i].policy;
    return -EINVAL;
}

void drift_settings_init_stream(struct drift_settings *s, const char *video_model,
                                const char *audio_model)
{
    *s = (struct drift_settings){
        .model = g_strdup(video_model), .audio_model = g_strdup(audio_model ? audio_model : ""),
        .prompt = g_strdup(""), .negative_prompt = g_strdup(""), .cache = g_strdup("kv"),
        .seed = 0, .width = 256, .height = 256, .fps = 24, .steps = 0, .guidance = -1,
        .cache_threshold = 0, .audio = audio_model && audio_model[0],
    };
}

void drift_settings_done(struct drift_settings *s)
{
    g_free(s->model);
    g_free(s->audio_model);
    g_free(s->prompt);
    g_free(s->negative_prompt);
    g_free(s->cache);
    g_free(s->output);
    g_free(s->format);
    *s = (struct drift_settings){ 0 };
}

void drift_settings_copy(struct drift_settings *dst, const struct drift_settings *src)
{
    *dst = *src;
    dst->model = g_strdup(src->model);
    dst->audio_model = g_strdup(src->audio_model);
    dst->prompt = g_strdup(src->prompt);
    dst->negative_prompt = g_strdup(src->negative_prompt);
    dst->cache = g_strdup(src->cache);
    dst->output = g_strdup(src->output);
    dst->format = g_strdup(src->format);
}

/* Where each key lives in struct drift_settings. */
static void *field(struct drift_settings *s, enum drift_setting_key k)
{
    switch (k) {
    case DRIFT_KEY_MODEL: return &s->model;
    case DRIFT_KEY_AUDIO_MODEL: return &s->audio_model;
    case DRIFT_KEY_PROMPT: return &s->prompt;
    case DRIFT_KEY_NEGATIVE_PROMPT: return &s->negative_prompt;
    case DRIFT_KEY_SEED: return &s->seed;
    case DRIFT_KEY_WIDTH: return &s->width;
    case DRIFT_KEY_HEIGHT: return &s->height;
    case DRIFT_KEY_FPS: return &s->fps;
    case DRIFT_KEY_STEPS: return &s->steps;
    case DRIFT_KEY_GUIDANCE: return &s->guidance;
    case DRIFT_KEY_CACHE: return &s->cache;
    case DRIFT_KEY_CACHE_THRESHOLD: return &s->cache_threshold;
    case DRIFT_KEY_AUDIO: return &s->audio;
    case DRIFT_KEY_SECONDS: return &s->seconds;
    case DRIFT_KEY_OUTPUT: return &s->output;
    case DRIFT_KEY_FORMAT: return &s->format;
    case DRIFT_KEY_NOT_BEFORE: return &s->not_before;
    case DRIFT_KEY_PRIORITY: return &s->priority;
    default: return NULL;
    }
}

static void store(struct drift_settings *s, enum drift_setting_key k,
                  const struct drift_setting_value *v)
{
    void *p = field(s, k);
    switch (table[k].type) {
    case DRIFT_SETTING_STRING:
        g_free(*(char **)p);
        *(char **)p = g_strdup(v->s);
        break;
    case DRIFT_SETTING_UINT: *(uint64_t *)p = v->u; break;
    case DRIFT_SETTING_DOUBLE: *(double *)p = v->d; break;
    case DRIFT_SETTING_BOOL: *(bool *)p = v->b; break;
    }
    s->set |= 1u << k;
}

static struct drift_setting_value value_of(const struct drift_settings *src,
                                           enum drift_setting_key k)
{
    void *p = field((struct drift_settings *)src, k);
    struct drift_setting_value v = { .type = table[k].type };
    switch (table[k].type) {
    case DRIFT_SETTING_STRING: v.s = *(char **)p; break;
    case DRIFT_SETTING_UINT: v.u = *(uint64_t *)p; break;
    case DRIFT_SETTING_DOUBLE: v.d = *(double *)p; break;
    case DRIFT_SETTING_BOOL: v.b = *(bool *)p; break;
    }
    return v;
}

struct drift_setting_value drift_setting_get(const struct drift_settings *s,
                                             enum drift_setting_key key)
{
    return value_of(s, key);
}

char *drift_setting_to_string(const struct drift_settings *s, enum drift_setting_key key)
{
    struct drift_setting_value v = value_of(s, key);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    switch (v.type) {
    case DRIFT_SETTING_STRING: return g_strdup(v.s ? v.s : "");
    case DRIFT_SETTING_UINT: return g_strdup_printf("%" G_GUINT64_FORMAT, v.u);
    case DRIFT_SETTING_DOUBLE: return g_strdup(g_ascii_dtostr(buf, sizeof buf, v.d));
    case DRIFT_SETTING_BOOL: return g_strdup(v.b ? "true" : "false");
    }
    return g_strdup("");
}

void drift_settings_merge_mask(struct drift_settings *dst, const struct drift_settings *src,
                               uint32_t mask)
{
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        if (!(mask & (1u << k)))
            continue;
        struct drift_setting_value v = value_of(src, k);
        store(dst, k, &v);
    }
}

void drift_settings_merge(struct drift_settings *dst, const struct drift_settings *src)
{
    drift_settings_merge_mask(dst, src, src->set);
}

uint32_t drift_settings_diff(const struct drift_settings *a, const struct drift_settings *b)
{
    uint32_t mask = 0;
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        struct drift_setting_value x = value_of(a, k), y = value_of(b, k);
        bool same = x.type == DRIFT_SETTING_STRING ? !g_strcmp0(x.s, y.s)
                    : x.type == DRIFT_SETTING_UINT ? x.u == y.u
                    : x.type == DRIFT_SETTING_DOUBLE ? x.d == y.d
                                                     : x.b == y.b;
        if (!same)
            mask |= 1u << k;
    }
    return mask;
}

static const char *type_name(enum drift_setting_type t)
{
    switch (t) {
    case DRIFT_SETTING_STRING: return "a string";
    case DRIFT_SETTING_UINT: return "an unsigned integer";
    case DRIFT_SETTING_DOUBLE: return "a number";
    case DRIFT_SETTING_BOOL: return "a boolean";
    }
    return "?";
}

static int unknown_key(unsigned scope, const char *name, struct drift_error *err)
{
    g_autoptr(GString) keys = g_string_new(NULL);
    for (int k = 0; k < _DRIFT_KEY_MAX; k++)
        if (table[k].scope & scope)
            g_string_append_printf(keys, "%s%s", keys->len ? ", " : "", table[k].name);
    g_autofree char *shown = g_strndup(name, 64);
    return drift_error_set(err, -ENOENT, "unknown key '%s%s'; known keys: %s", shown,
                           strlen(name) > 64 ? "…" : "", keys->str);
}

static int check_string(const struct drift_setting_desc *d, enum drift_setting_key k,
                        const char *s, struct drift_error *err)
{
    size_t len = strlen(s);
    if (len < d->min || len > d->max)
        return drift_error_set(err, -EINVAL, "%s: %zu bytes; allowed: %s", d->name, len, d->range);
    if (!g_utf8_validate(s, -1, NULL))
        return drift_error_set(err, -EINVAL, "%s: not valid UTF-8", d->name);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return drift_error_set(err, -EINVAL, "%s: control character at byte %td", d->name,
                                   p - s);
    if (k == DRIFT_KEY_CACHE && drift_cache_policy_parse(s) < 0)
        return drift_error_set(err, -EINVAL, "%s: '%s' is not a cache policy; allowed: %s",
                               d->name, s, d->range);
    if (k == DRIFT_KEY_FORMAT && strcmp(s, "mp4") != 0 && strcmp(s, "mkv") != 0)
        return drift_error_set(err, -EINVAL, "%s: '%s'; allowed: %s", d->name, s, d->range);
    return 0;
}

static int check_value(enum drift_setting_key k, const struct drift_setting_value *v,
                       struct drift_error *err)
{
    const struct drift_setting_desc *d = &table[k];
    if (v->type != d->type)
        return drift_error_set(err, -EINVAL, "%s: must be %s (%s)", d->name, type_name(d->type),
                               d->range);
    switch (d->type) {
    case DRIFT_SETTING_STRING:
        return check_string(d, k, v->s, err);
    case DRIFT_SETTING_UINT:
        if ((double)v->u < d->min || (double)v->u > d->max)
            return drift_error_set(err, -EINVAL, "%s: %" G_GUINT64_FORMAT " is out of range; allowed: %s",
                                   d->name, v->u, d->range);
        if ((k == DRIFT_KEY_WIDTH || k == DRIFT_KEY_HEIGHT) && v->u % 2)
            return drift_error_set(err, -EINVAL, "%s: %" G_GUINT64_FORMAT " is odd; allowed: %s",
                                   d->name, v->u, d->range);
        return 0;
    case DRIFT_SETTING_DOUBLE:
        if (!isfinite(v->d) || v->d < d->min || v->d > d->max)
            return drift_error_set(err, -EINVAL, "%s: %g is out of range; allowed: %s", d->name,
                                   v->d, d->range);
        return 0;
    case DRIFT_SETTING_BOOL:
        return 0;
    }
    return -EINVAL;
}

int drift_settings_set(struct drift_settings *s, unsigned scope, const char *name,
                       const struct drift_setting_value *value, struct drift_error *err)
{
    int k = drift_setting_lookup(name);
    if (k < 0 || !(table[k].scope & scope))
        return unknown_key(scope, name, err);
    int r = check_value(k, value, err);
    if (r < 0)
        return r;
    store(s, k, value);
    return 0;
}

int drift_setting_parse(const struct drift_setting_desc *d, const char *text,
                        struct drift_setting_value *ret, struct drift_error *err)
{
    struct drift_setting_value v = { .type = d->type, .s = text };
    char *end = NULL;
    switch (d->type) {
    case DRIFT_SETTING_STRING:
        break;
    case DRIFT_SETTING_UINT:
        errno = 0;
        if (!g_ascii_isdigit(text[0]) || (v.u = g_ascii_strtoull(text, &end, 10), errno) || *end)
            return drift_error_set(err, -EINVAL, "%s: '%.64s' is not an unsigned integer; allowed: %s",
                                   d->name, text, d->range);
        break;
    case DRIFT_SETTING_DOUBLE:
        errno = 0;
        v.d = g_ascii_strtod(text, &end);
        if (errno == ERANGE && fabs(v.d) < DBL_MIN)
            errno = 0; /* underflow: a subnormal that D-Bus accepted must read back */
        if (!text[0] || errno || *end || g_ascii_isspace(text[0]))
            return drift_error_set(err, -EINVAL, "%s: '%.64s' is not a number; allowed: %s",
                                   d->name, text, d->range);
        break;
    case DRIFT_SETTING_BOOL:
        if (!g_ascii_strcasecmp(text, "true") || !g_ascii_strcasecmp(text, "yes") || !strcmp(text, "1"))
            v.b = true;
        else if (!g_ascii_strcasecmp(text, "false") || !g_ascii_strcasecmp(text, "no") || !strcmp(text, "0"))
            v.b = false;
        else
            return drift_error_set(err, -EINVAL, "%s: '%.64s' is not a boolean; allowed: %s",
                                   d->name, text, d->range);
        break;
    }
    *ret = v;
    return 0;
}

int drift_settings_set_string(struct drift_settings *s, unsigned scope, const char *name,
                              const char *text, struct drift_error *err)
{
    int k = drift_setting_lookup(name);
    if (k < 0 || !(table[k].scope & scope))
        return unknown_key(scope, name, err);
    struct drift_setting_value v;
    int r = drift_setting_parse(&table[k], text, &v, err);
    if (r < 0)
        return r;
    return drift_settings_set(s, scope, name, &v, err);
}

int drift_stream_name_check(const char *name, struct drift_error *err)
{
    size_t len = strlen(name);
    if (len < 1 || len > DRIFT_NAME_MAX)
        return drift_error_set(err, -EINVAL, "stream name: %zu bytes; allowed: 1..64 of A-Z a-z 0-9 . _ -", len);
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            return drift_error_set(err, -EINVAL,
                                   "stream name: character %td is not allowed; allowed: 1..64 of A-Z a-z 0-9 . _ -",
                                   p - name);
    return 0;
}
