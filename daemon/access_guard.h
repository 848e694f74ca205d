/* The gate every network request passes when users are configured (docs/ACCESS.md): the users
 * (access.h), the bearer tokens issued to them, and the failed logins counted per address.
 *
 * Failed logins: after DRIFT_GUARD_FAILURES failures from one address within
 * DRIFT_GUARD_WINDOW_S seconds, that address is refused for DRIFT_GUARD_BLOCK_S seconds,
 * whatever it sends (HTTP answers 429, RTSP 503). IPv6 addresses count per /64 prefix, as one
 * host usually has all of one.
 *
 * Bearer tokens: POST /api/login (with a name and password) issues one; it is 32 random bytes
 * from the kernel (getrandom), written as 64 hex digits, good for DRIFT_GUARD_TOKEN_LIFETIME_S
 * seconds, kept in memory only (a restart ends them all), stored as its SHA-256 (GLib's
 * GChecksum): a token is as random as a key, so a fast hash is as good as a slow one and no
 * copy of a usable token sits in memory. The role is the user's current one: a reload that
 * removes the user or changes the role applies at once.
 *
 * Times are g_get_monotonic_time() microseconds, passed in (tests choose them). Any thread
 * (the RTSP server checks on its own threads, the web server on the main loop): a mutex
 * guards the tables, and passwords are checked outside it, on a reference to the users.
 * Prints nothing (callers log, naming the peer). */
#ifndef DRIFT_DAEMON_ACCESS_GUARD_H
#define DRIFT_DAEMON_ACCESS_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/error.h>

#include "access.h"

#define DRIFT_GUARD_FAILURES 5
#define DRIFT_GUARD_WINDOW_S 60
#define DRIFT_GUARD_BLOCK_S 60
#define DRIFT_GUARD_TOKEN_LIFETIME_S (12 * 3600)
#define DRIFT_GUARD_TOKENS_MAX 1024    /* live tokens at once */
#define DRIFT_GUARD_ADDRESSES_MAX 4096 /* addresses with recent failures remembered */
#define DRIFT_GUARD_TOKEN_LEN 64

struct drift_guard;

/* Transfer full: drift_guard_free. No users: drift_guard_on() is false. */
struct drift_guard *drift_guard_new(void);
void drift_guard_free(struct drift_guard *g);

/* Replaces the users (users: transfer full; NULL: none, access control off). Tokens stay, and
 * take their user's role from the new users. */
void drift_guard_set_users(struct drift_guard *g, struct drift_users *users);
/* Whether users are configured: every request must then say who it is. */
bool drift_guard_on(const struct drift_guard *g);

/* Whether peer (an IP address as text) is refused now for its failures: -EAGAIN with
 * *ret_retry_s the seconds until it may try again, else 0. */
int drift_guard_blocked(struct drift_guard *g, const char *peer, int64_t now,
                        unsigned *ret_retry_s);

/* Name and password from peer: 0 with *ret_role set; -EAGAIN when peer is blocked (nothing
 * checked); -EACCES when wrong, the failure counted and err saying so (for the log: whose
 * name, how many failures, whether peer is now blocked). */
int drift_guard_login(struct drift_guard *g, const char *name, const char *password,
                      const char *peer, int64_t now, enum drift_role *ret_role,
                      struct drift_error *err);

/* A bearer token from peer: 0 with *ret_name (transfer full, g_free) and *ret_role; -EAGAIN when blocked; -EACCES (unknown, expired, user gone), counted as a
 * failure, err set. */
int drift_guard_token_check(struct drift_guard *g, const char *token, const char *peer,
                            int64_t now, char **ret_name, enum drift_role *ret_role,
                            struct drift_error *err);

/* A new token for user name (who just logged in): *ret_token is transfer full (g_free), valid
 * until now + DRIFT_GUARD_TOKEN_LIFETIME_S. -E2BIG when DRIFT_GUARD_TOKENS_MAX live tokens
 * exist; -EIO when the kernel gives no random bytes. */
int drift_guard_token_issue(struct drift_guard *g, const char *name, int64_t now,
                            char **ret_token, struct drift_error *err);

/* Failed logins since start, and how many times an address was blocked for them (/metrics). */
void drift_guard_counts(struct drift_guard *g, uint64_t *ret_failures, uint64_t *ret_blocks);

/* The current role of the user called name (DRIFT_ROLE_NONE: no such user). */
enum drift_role drift_guard_role(struct drift_guard *g, const char *name);

/* Ends a token (logout); an unknown one is fine. */
void drift_guard_token_revoke(struct drift_guard *g, const char *token);

#endif
