/* The settings table and its checks; see settings.h. */
#include "settings.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <glib.h>

#include <drift/generator.h> /* the engine's ranges and cache policy names (header-only) */

#define S DRIFT_SCOPE_STREAM
#define J DRIFT_SCOPE_JOB
#define SJ (DRIFT_SCOPE_STREAM | DRIFT_SCOPE_JOB)
#define STR_(x) #x
#define STR(x) STR_(x) /* the engine's limits as text: STR(DRIFT_STEPS_MAX) is "50" */

/* { name, type, scope, apply, min, max, range, def, def_text, help } */
static const struct drift_setting_desc table[_DRIFT_KEY_MAX] = {
    [DRIFT_KEY_MODEL] = { "model", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_RESTART, 1, DRIFT_PATH_MAX,
                          "a path of 1..1024 bytes", NULL, "the installed drift-video model",
                          "video model (NAME.safetensors, NAME.json beside it)" },
    [DRIFT_KEY_AUDIO_MODEL] = { "audio_model", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_RESTART, 0,
                                DRIFT_PATH_MAX, "a path of 0..1024 bytes", NULL,
                                "the installed drift-audio model",
                                "audio model; it follows the prompt's words that it knows" },
    [DRIFT_KEY_PROMPT] = { "prompt", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_LIVE, 0,
                           DRIFT_PROMPT_MAX, "0..1024 bytes of words from the model's vocabulary",
                           "", NULL, "what to generate (\"\" = unconditional)" },
    [DRIFT_KEY_NEGATIVE_PROMPT] = { "negative_prompt", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_LIVE,
                                    0, DRIFT_PROMPT_MAX, "0..1024 bytes", "", NULL,
                                    "what to steer away from" },
    [DRIFT_KEY_SEED] = { "seed", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_LIVE, 0, 18446744073709551615.0,
                         "0..18446744073709551615", "0", NULL, "noise seed" },
    [DRIFT_KEY_WIDTH] = { "width", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_RESTART, 16, 4096,
                          "16..4096, even", "256", NULL, "encoded width in pixels" },
    [DRIFT_KEY_HEIGHT] = { "height", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_RESTART, 16, 4096,
                           "16..4096, even", "256", NULL, "encoded height in pixels" },
    [DRIFT_KEY_FPS] = { "fps", DRIFT_SETTING_DOUBLE, SJ, DRIFT_APPLY_RESTART, 1, 60, "1..60", "24",
                        NULL, "frames per second" },
    [DRIFT_KEY_STEPS] = { "steps", DRIFT_SETTING_UINT, SJ, DRIFT_APPLY_LIVE, 0, DRIFT_STEPS_MAX,
                          "0.." STR(DRIFT_STEPS_MAX) " (0 = the model's default)", "0", NULL,
                          "denoising steps per frame" },
    [DRIFT_KEY_GUIDANCE] = { "guidance", DRIFT_SETTING_DOUBLE, SJ, DRIFT_APPLY_LIVE, 0,
                             DRIFT_GUIDANCE_MAX, "0.." STR(DRIFT_GUIDANCE_MAX), NULL, "the model's",
                             "classifier-free guidance scale (1 = none)" },
    [DRIFT_KEY_CACHE] = { "cache", DRIFT_SETTING_STRING, SJ, DRIFT_APPLY_LIVE, 1, 32,
                          DRIFT_CACHE_POLICY_NAMES, "kv", NULL, "step-level cache policy" },
    [DRIFT_KEY_CACHE_THRESHOLD] = { "cache_threshold", DRIFT_SETTING_DOUBLE, SJ, DRIFT_APPLY_LIVE,
                                    0, DRIFT_CACHE_THRESHOLD_MAX,
                                    "0.." STR(DRIFT_CACHE_THRESHOLD_MAX), "0", NULL,
                                    "TeaCache/first-block threshold; FORA interval when >= 1" },
    [DRIFT_KEY_AUDIO] = { "audio", DRIFT_SETTING_BOOL, SJ, DRIFT_APPLY_RESTART, 0, 1,
                          "true or false", NULL, "true when audio_model is set",
                          "generate audio with audio_model" },
    [DRIFT_KEY_ON_DEMAND] = { "on_demand", DRIFT_SETTING_BOOL, S, DRIFT_APPLY_LIVE, 0, 1,
                              "true or false", "true", NULL,
                              "generate only while watched: idle_after seconds without a viewer "
                              "stop generation, the first viewer wakes it" },
    [DRIFT_KEY_IDLE_AFTER] = { "idle_after", DRIFT_SETTING_DOUBLE, S, DRIFT_APPLY_LIVE, 0.1, 86400,
                               "0.1..86400", "5", NULL,
                               "seconds without a viewer before an on_demand stream idles" },
    [DRIFT_KEY_SECONDS] = { "seconds", DRIFT_SETTING_DOUBLE, J, DRIFT_APPLY_NONE, 0.1, 86400,
                            "0.1..86400", NULL, "none: required", "length of a render" },
    [DRIFT_KEY_OUTPUT] = { "output", DRIFT_SETTING_STRING, J, DRIFT_APPLY_NONE, 1, DRIFT_PATH_MAX,
                           "a file name or path of 1..1024 bytes", NULL, "STATE/renders/ID.FORMAT",
                           "where a render goes (a file name goes under STATE/renders)" },
    [DRIFT_KEY_FORMAT] = { "format", DRIFT_SETTING_STRING, J, DRIFT_APPLY_NONE, 1, 8,
                           "mp4 or mkv", NULL, "output's extension, else mp4",
                           "container of a render (mp4: H.264 + AAC, mkv: H.264 + Opus)" },
    [DRIFT_KEY_NOT_BEFORE] = { "not_before", DRIFT_SETTING_UINT, J, DRIFT_APPLY_NONE, 0,
                               18446744073709551615.0, "µs since the epoch (0 = now)", "0", NULL,
                               "earliest start of a render" },
    [DRIFT_KEY_PRIORITY] = { "priority", DRIFT_SETTING_UINT, J, DRIFT_APPLY_NONE, 0, 100,
                             "0..100 (higher first)", "0", NULL, "order among queued renders" },
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
    case DRIFT_KEY_ON_DEMAND: return &s->on_demand;
    case DRIFT_KEY_IDLE_AFTER: return &s->idle_after;
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

void drift_settings_init_stream(struct drift_settings *s, const char *video_model,
                                const char *audio_model)
{
    *s = (struct drift_settings){ .guidance = -1 }; /* < 0: the model's default (generator.h) */
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        struct drift_setting_value v = { 0 };
        if (!(table[k].scope & DRIFT_SCOPE_STREAM) || !table[k].def)
            continue;
        if (drift_setting_parse(&table[k], table[k].def, &v, NULL) < 0)
            g_error("settings table: %s: bad default", table[k].name); /* test_settings checks */
        store(s, k, &v);
    }
    s->model = g_strdup(video_model);
    s->audio_model = g_strdup(audio_model ? audio_model : "");
    s->audio = audio_model && audio_model[0];
    s->set = 0;
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

char *drift_settings_key_list(unsigned scope, unsigned except)
{
    GString *keys = g_string_new(NULL);
    for (int k = 0; k < _DRIFT_KEY_MAX; k++)
        if ((table[k].scope & scope) && !(table[k].scope & except))
            g_string_append_printf(keys, "%s%s", keys->len ? ", " : "", table[k].name);
    return g_string_free(keys, FALSE);
}

static int unknown_key(unsigned scope, const char *name, struct drift_error *err)
{
    g_autofree char *keys = drift_settings_key_list(scope, 0);
    g_autofree char *shown = g_strndup(name, 64);
    return drift_error_set(err, -ENOENT, "unknown key '%s%s'; known keys: %s", shown,
                           strlen(name) > 64 ? "…" : "", keys);
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
    enum drift_cache_policy policy;
    if (k == DRIFT_KEY_CACHE && drift_cache_policy_from_string(s, &policy) < 0)
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

char *drift_settings_reference(void)
{
    static const char *const types[] = { [DRIFT_SETTING_STRING] = "string",
                                         [DRIFT_SETTING_UINT] = "unsigned",
                                         [DRIFT_SETTING_DOUBLE] = "number",
                                         [DRIFT_SETTING_BOOL] = "boolean" };
    static const char *const applies[] = { [DRIFT_APPLY_LIVE] = "live",
                                           [DRIFT_APPLY_RESTART] = "restart",
                                           [DRIFT_APPLY_NONE] = "-" };
    GString *t = g_string_new("| key | scope | type | range | default | change | meaning |\n"
                              "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        const struct drift_setting_desc *d = &table[k];
        g_autofree char *def = !d->def ? g_strdup(d->def_text)
                               : d->def[0] ? g_strdup_printf("`%s`", d->def)
                                           : g_strdup("\"\"");
        g_string_append_printf(t, "| `%s` | %s | %s | %s | %s | %s | %s |\n", d->name,
                               d->scope == (S | J) ? "stream, job" : d->scope == S ? "stream" : "job",
                               types[d->type], d->range, def, applies[d->apply], d->help);
    }
    return g_string_free(t, FALSE);
}
