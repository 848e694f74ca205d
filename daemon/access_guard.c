/* Users, tokens and failed logins; see access_guard.h. */
#include "access_guard.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <gio/gio.h>

#define US 1000000

struct failures {
    unsigned count;
    int64_t first;         /* when the counted failures began */
    int64_t blocked_until; /* 0: not blocked */
};

struct token {
    char *name;
    int64_t expires;
};

struct drift_guard {
    GMutex lock;                /* everything below */
    struct drift_users *users;
    GHashTable *failures; /* address key -> struct failures * */
    GHashTable *tokens;   /* SHA-256 hex of the token -> struct token * */
    uint64_t failures_total, blocks_total;
};

static void token_free(void *p)
{
    struct token *t = p;
    g_free(t->name);
    g_free(t);
}

struct drift_guard *drift_guard_new(void)
{
    struct drift_guard *g = g_new0(struct drift_guard, 1);
    g_mutex_init(&g->lock);
    g->failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, token_free);
    return g;
}

void drift_guard_free(struct drift_guard *g)
{
    if (!g)
        return;
    drift_users_free(g->users);
    g_hash_table_unref(g->failures);
    g_hash_table_unref(g->tokens);
    g_mutex_clear(&g->lock);
    g_free(g);
}

void drift_guard_set_users(struct drift_guard *g, struct drift_users *users)
{
    g_mutex_lock(&g->lock);
    struct drift_users *old = g->users;
    g->users = users;
    g_mutex_unlock(&g->lock);
    drift_users_free(old); /* or later, by a check still holding it */
}

bool drift_guard_on(const struct drift_guard *g)
{
    g_mutex_lock((GMutex *)&g->lock);
    bool on = drift_users_count(g->users) > 0;
    g_mutex_unlock((GMutex *)&g->lock);
    return on;
}

/* ---- failures per address ----------------------------------------------------------------- */

/* What failures are counted under (transfer full): the address, or its /64 for IPv6. */
static char *address_key(const char *peer)
{
    g_autoptr(GInetAddress) a = peer ? g_inet_address_new_from_string(peer) : NULL;
    if (!a)
        return g_strdup(peer ? peer : "?");
    if (g_inet_address_get_family(a) != G_SOCKET_FAMILY_IPV6)
        return g_inet_address_to_string(a);
    const guint8 *b = g_inet_address_to_bytes(a);
    return g_strdup_printf("%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1], b[2], b[3],
                           b[4], b[5], b[6], b[7]);
}

static bool expired(const struct failures *f, int64_t now)
{
    return f->blocked_until ? now >= f->blocked_until
                            : now - f->first >= (int64_t)DRIFT_GUARD_WINDOW_S * US;
}

/* Room for one more address: the expired go first, then (an attack from very many
 * addresses) the one whose failures are oldest. */
static void make_room(struct drift_guard *g, int64_t now)
{
    if (g_hash_table_size(g->failures) < DRIFT_GUARD_ADDRESSES_MAX)
        return;
    GHashTableIter it;
    gpointer key, value, oldest = NULL;
    int64_t oldest_t = INT64_MAX;
    g_hash_table_iter_init(&it, g->failures);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        struct failures *f = value;
        if (expired(f, now))
            g_hash_table_iter_remove(&it);
        else if (f->first < oldest_t)
            oldest_t = f->first, oldest = key;
    }
    if (g_hash_table_size(g->failures) >= DRIFT_GUARD_ADDRESSES_MAX && oldest)
        g_hash_table_remove(g->failures, oldest);
}

/* drift_guard_blocked with the lock held. */
static int blocked(struct drift_guard *g, const char *peer, int64_t now, unsigned *ret_retry_s)
{
    g_autofree char *key = address_key(peer);
    struct failures *f = g_hash_table_lookup(g->failures, key);
    if (!f)
        return 0;
    if (expired(f, now)) {
        g_hash_table_remove(g->failures, key);
        return 0;
    }
    if (!f->blocked_until)
        return 0;
    *ret_retry_s = (unsigned)((f->blocked_until - now + US - 1) / US);
    return -EAGAIN;
}

int drift_guard_blocked(struct drift_guard *g, const char *peer, int64_t now,
                        unsigned *ret_retry_s)
{
    g_mutex_lock(&g->lock);
    int r = blocked(g, peer, now, ret_retry_s);
    g_mutex_unlock(&g->lock);
    return r;
}

/* Counts a failure from peer (lock held); err says what failed (what) and how many failures there were. */
static int fail(struct drift_guard *g, const char *what, const char *peer, int64_t now,
                struct drift_error *err)
{
    g_autofree char *key = address_key(peer);
    struct failures *f = g_hash_table_lookup(g->failures, key);
    if (!f) {
        make_room(g, now);
        f = g_new0(struct failures, 1);
        f->first = now;
        g_hash_table_insert(g->failures, g_strdup(key), f);
    } else if (expired(f, now)) { /* old failures (or a block that ended) count no more */
        *f = (struct failures){ .first = now };
    }
    f->count++;
    g->failures_total++;
    if (f->count >= DRIFT_GUARD_FAILURES) {
        g->blocks_total++;
        f->blocked_until = now + (int64_t)DRIFT_GUARD_BLOCK_S * US;
        return drift_error_set(err, -EACCES, "%s (%u failures from %s within %d s: refused "
                               "for %d s)", what, f->count, key, DRIFT_GUARD_WINDOW_S,
                               DRIFT_GUARD_BLOCK_S);
    }
    return drift_error_set(err, -EACCES, "%s (failure %u of %d from %s within %d s)", what,
                           f->count, DRIFT_GUARD_FAILURES, key, DRIFT_GUARD_WINDOW_S);
}

int drift_guard_login(struct drift_guard *g, const char *name, const char *password,
                      const char *peer, int64_t now, enum drift_role *ret_role,
                      struct drift_error *err)
{
    unsigned retry;
    g_mutex_lock(&g->lock);
    if (blocked(g, peer, now, &retry) < 0) {
        g_mutex_unlock(&g->lock);
        return drift_error_set(err, -EAGAIN, "%s: too many failed logins; retry in %u s",
                               peer, retry);
    }
    struct drift_users *users = g->users ? drift_users_ref(g->users) : NULL;
    g_mutex_unlock(&g->lock);
    /* crypt_r takes its time (on purpose): not with the lock held. */
    int r = drift_users_verify(users, name, password, ret_role);
    drift_users_free(users);
    if (r == 0)
        return 0;
    /* The name is the client's: escaped, so that it cannot write lines of its own in the log. */
    g_autofree char *shown = g_strescape(name, NULL);
    g_autofree char *what = g_strdup_printf("wrong name or password for '%.64s' from %s", shown,
                                            peer);
    g_mutex_lock(&g->lock);
    r = fail(g, what, peer, now, err);
    g_mutex_unlock(&g->lock);
    return r;
}

/* ---- tokens ------------------------------------------------------------------------------- */

static char *token_key(const char *token)
{
    return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

static int token_check(struct drift_guard *g, const char *token, const char *peer,
                       int64_t now, char **ret_name, enum drift_role *ret_role,
                       struct drift_error *err)
{
    unsigned retry;
    if (blocked(g, peer, now, &retry) < 0)
        return drift_error_set(err, -EAGAIN, "%s: too many failed logins; retry in %u s",
                               peer, retry);
    g_autofree char *key = token_key(token);
    struct token *t = g_hash_table_lookup(g->tokens, key);
    enum drift_role role = t ? drift_users_role(g->users, t->name) : DRIFT_ROLE_NONE;
    if (t && now >= t->expires) {
        g_hash_table_remove(g->tokens, key);
        t = NULL;
    }
    if (!t || role == DRIFT_ROLE_NONE) {
        g_autofree char *what = g_strdup_printf("unknown or expired token from %s", peer);
        return fail(g, what, peer, now, err);
    }
    *ret_name = g_strdup(t->name);
    *ret_role = role;
    return 0;
}

int drift_guard_token_check(struct drift_guard *g, const char *token, const char *peer,
                            int64_t now, char **ret_name, enum drift_role *ret_role,
                            struct drift_error *err)
{
    g_mutex_lock(&g->lock);
    int r = token_check(g, token, peer, now, ret_name, ret_role, err);
    g_mutex_unlock(&g->lock);
    return r;
}

static int token_issue(struct drift_guard *g, const char *name, int64_t now, char **ret_token,
                       struct drift_error *err)
{
    if (g_hash_table_size(g->tokens) >= DRIFT_GUARD_TOKENS_MAX) {
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, g->tokens);
        while (g_hash_table_iter_next(&it, NULL, &value))
            if (now >= ((struct token *)value)->expires)
                g_hash_table_iter_remove(&it);
    }
    if (g_hash_table_size(g->tokens) >= DRIFT_GUARD_TOKENS_MAX)
        return drift_error_set(err, -E2BIG, "%d tokens are live; allowed: at most %d",
                               DRIFT_GUARD_TOKENS_MAX, DRIFT_GUARD_TOKENS_MAX);
    guint8 bytes[DRIFT_GUARD_TOKEN_LEN / 2];
    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
        return drift_error_set(err, -EIO, "getrandom: %s", g_strerror(errno));
    char *token = g_malloc(DRIFT_GUARD_TOKEN_LEN + 1);
    for (size_t i = 0; i < sizeof(bytes); i++)
        g_snprintf(token + 2 * i, 3, "%02x", bytes[i]);
    explicit_bzero(bytes, sizeof(bytes));
    struct token *t = g_new0(struct token, 1);
    t->name = g_strdup(name);
    t->expires = now + (int64_t)DRIFT_GUARD_TOKEN_LIFETIME_S * US;
    g_hash_table_replace(g->tokens, token_key(token), t);
    *ret_token = token;
    return 0;
}

int drift_guard_token_issue(struct drift_guard *g, const char *name, int64_t now,
                            char **ret_token, struct drift_error *err)
{
    g_mutex_lock(&g->lock);
    int r = token_issue(g, name, now, ret_token, err);
    g_mutex_unlock(&g->lock);
    return r;
}

void drift_guard_token_revoke(struct drift_guard *g, const char *token)
{
    g_autofree char *key = token_key(token);
    g_mutex_lock(&g->lock);
    g_hash_table_remove(g->tokens, key);
    g_mutex_unlock(&g->lock);
}

void drift_guard_counts(struct drift_guard *g, uint64_t *ret_failures, uint64_t *ret_blocks)
{
    g_mutex_lock(&g->lock);
    *ret_failures = g->failures_total;
    *ret_blocks = g->blocks_total;
    g_mutex_unlock(&g->lock);
}

enum drift_role drift_guard_role(struct drift_guard *g, const char *name)
{
    g_mutex_lock(&g->lock);
    enum drift_role role = drift_users_role(g->users, name);
    g_mutex_unlock(&g->lock);
    return role;
}
