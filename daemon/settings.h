/* Stream and job settings: the keys that configuration files, D-Bus a{sv} dictionaries, job
 * specs and driftctl share (DESIGN.md "Settings and job-spec keys"), with their types, allowed
 * ranges, defaults, scopes and help.
 *
 * One table describes every key, so that a range is written once and every error message names
 * the key and its range the same way, whichever door the value came in by. The ranges the
 * engine checks come from the engine's public header (drift/generator.h); the defaults of a
 * stream, driftctl's key list and `driftctl keys` (the reference in docs/DAEMON.md) come from
 * the table; tests/daemon/test_settings.c checks conf/driftd.conf and docs/DAEMON.md against
 * it. */
#ifndef DRIFT_DAEMON_SETTINGS_H
#define DRIFT_DAEMON_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drift/error.h>

#define DRIFT_PROMPT_MAX 1024     /* bytes of a prompt or negative prompt */
#define DRIFT_PATH_MAX 1024       /* bytes of a model or output path */
#define DRIFT_NAME_MAX 64         /* bytes of a stream name ([A-Za-z0-9._-]) */

enum drift_setting_type {
    DRIFT_SETTING_STRING,
    DRIFT_SETTING_UINT,   /* uint64 */
    DRIFT_SETTING_DOUBLE,
    DRIFT_SETTING_BOOL,
};

/* Where a key is accepted. */
enum {
    DRIFT_SCOPE_STREAM = 1 << 0,
    DRIFT_SCOPE_JOB = 1 << 1,
};

/* How a running stream takes a change of the key. */
enum drift_setting_apply {
    DRIFT_APPLY_LIVE,    /* between two frames, clients keep watching */
    DRIFT_APPLY_RESTART, /* the stream restarts (new model, size or rate): clients reconnect */
    DRIFT_APPLY_NONE,    /* jobs only */
};

enum drift_setting_key {
    DRIFT_KEY_MODEL,
    DRIFT_KEY_AUDIO_MODEL,
    DRIFT_KEY_PROMPT,
    DRIFT_KEY_NEGATIVE_PROMPT,
    DRIFT_KEY_SEED,
    DRIFT_KEY_WIDTH,
    DRIFT_KEY_HEIGHT,
    DRIFT_KEY_FPS,
    DRIFT_KEY_STEPS,
    DRIFT_KEY_GUIDANCE,
    DRIFT_KEY_CACHE,
    DRIFT_KEY_CACHE_THRESHOLD,
    DRIFT_KEY_AUDIO,
    DRIFT_KEY_ON_DEMAND,
    DRIFT_KEY_IDLE_AFTER,
    DRIFT_KEY_SECONDS,
    DRIFT_KEY_OUTPUT,
    DRIFT_KEY_FORMAT,
    DRIFT_KEY_NOT_BEFORE,
    DRIFT_KEY_PRIORITY,
    _DRIFT_KEY_MAX,
};

struct drift_setting_desc {
    const char *name;
    enum drift_setting_type type;
    unsigned scope;
    enum drift_setting_apply apply;
    double min, max;       /* numbers: inclusive range; strings: max = longest length in bytes */
    const char *range;     /* the allowed range as users read it, for messages and --help */
    const char *def;       /* the default as a configuration file writes it; NULL when it is
                              not one value (then def_text says what it is) */
    const char *def_text;  /* the default as users read it, when def is NULL */
    const char *help;
};

/* The values of every key, and which ones were given. Strings are owned (g_free). */
struct drift_settings {
    uint32_t set;          /* bit (1 << key) for every key given */
    char *model, *audio_model, *prompt, *negative_prompt, *cache, *output, *format;
    uint64_t seed, width, height, steps, not_before, priority;
    double fps, guidance, cache_threshold, seconds, idle_after;
    bool audio, on_demand;
};

/* A typed value, as it arrives from D-Bus or from parsing a string. */
struct drift_setting_value {
    enum drift_setting_type type;
    const char *s;
    uint64_t u;
    double d;
    bool b;
};

const struct drift_setting_desc *drift_setting_desc(enum drift_setting_key key);
/* Returns the key for name, or -ENOENT. */
int drift_setting_lookup(const char *name);

/* Defaults of a stream: every stream key with the table's default, the model paths given,
 * guidance -1 (the model's default) and audio on when audio_model is not empty. No key is
 * marked as set. */
void drift_settings_init_stream(struct drift_settings *s, const char *video_model,
                                const char *audio_model);
void drift_settings_done(struct drift_settings *s);
void drift_settings_copy(struct drift_settings *dst, const struct drift_settings *src);
/* Copies every key set in src over dst. */
void drift_settings_merge(struct drift_settings *dst, const struct drift_settings *src);
/* Keys (bit 1 << key) whose values differ between a and b. */
uint32_t drift_settings_diff(const struct drift_settings *a, const struct drift_settings *b);
/* Copies the keys in mask from src over dst. */
void drift_settings_merge_mask(struct drift_settings *dst, const struct drift_settings *src,
                               uint32_t mask);
static inline bool drift_settings_has(const struct drift_settings *s, enum drift_setting_key k)
{
    return s->set & (1u << k);
}

/* Sets key name from a typed value after checking scope, type and range. Returns 0, -ENOENT
 * (unknown key; message lists the scope's keys), -EINVAL (wrong type or out of range; message
 * names the key and the range). Nothing changes on error. */
int drift_settings_set(struct drift_settings *s, unsigned scope, const char *name,
                       const struct drift_setting_value *value, struct drift_error *err);
/* Same, parsing value from text (configuration files, driftctl KEY=VALUE). */
int drift_settings_set_string(struct drift_settings *s, unsigned scope, const char *name,
                              const char *text, struct drift_error *err);
/* Parses text as the key's type into *ret (strings point into text). */
int drift_setting_parse(const struct drift_setting_desc *d, const char *text,
                        struct drift_setting_value *ret, struct drift_error *err);

/* The value of key as text (as a configuration file or spec would write it); transfer full. */
char *drift_setting_to_string(const struct drift_settings *s, enum drift_setting_key key);
/* A typed view of key's value (strings point into s). */
struct drift_setting_value drift_setting_get(const struct drift_settings *s,
                                             enum drift_setting_key key);

/* Checks a stream name: [A-Za-z0-9._-]{1,64}. */
int drift_stream_name_check(const char *name, struct drift_error *err);

/* The names of the keys accepted in scope and not in except, ", "-separated, in table order;
 * transfer full. */
char *drift_settings_key_list(unsigned scope, unsigned except);

/* The table as a Markdown table (key, where, type, range, default, change, meaning), as
 * `driftctl keys` prints it and docs/DAEMON.md shows it; transfer full. */
char *drift_settings_reference(void);

#endif
