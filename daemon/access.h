/* Who may use driftd's network surfaces (DESIGN.md "Access", docs/ACCESS.md): roles and the
 * users file.
 *
 * The users file ([access] users = PATH) holds one user a line:
 *
 *     # comment
 *     NAME:ROLE:HASH
 *
 * NAME is 1..64 of [A-Za-z0-9._-]; ROLE is view, control or admin; HASH is what libcrypt's
 * crypt_r made of the password (yescrypt "$y$…" by default; any method this libcrypt accepts
 * for new hashes, checked when the file is read). Blank lines and lines starting with # are
 * skipped. `driftctl passwd NAME ROLE` prints such a line (drift_access_hash).
 *
 * Pure: no GLib main loop, no logging; errors name FILE:LINE and the field. */
#ifndef DRIFT_DAEMON_ACCESS_H
#define DRIFT_DAEMON_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include <drift/error.h>

/* Ordered: a role may do everything the roles below it may. */
enum drift_role {
    DRIFT_ROLE_NONE = 0, /* not authenticated */
    DRIFT_ROLE_VIEW,     /* watch, read properties */
    DRIFT_ROLE_CONTROL,  /* steer streams, submit and cancel jobs */
    DRIFT_ROLE_ADMIN,    /* everything: create and remove streams, Reload */
};

#define DRIFT_USER_NAME_MAX 64
/* Passwords longer than this are refused (crypt_r reads at most CRYPT_MAX_PASSPHRASE_SIZE). */
#define DRIFT_PASSWORD_MAX 512

/* "view", "control", "admin" ("none" for DRIFT_ROLE_NONE). Transfer none. */
const char *drift_role_name(enum drift_role role);
/* The role called name into *ret (untouched on failure); -EINVAL when none is. */
int drift_role_parse(const char *name, enum drift_role *ret);

/* Whether name is a valid user name (1..DRIFT_USER_NAME_MAX of [A-Za-z0-9._-]). */
bool drift_user_name_valid(const char *name);

struct drift_users;

/* Parses a users file's text; file_name is for messages. *ret (transfer full:
 * drift_users_free) is untouched on failure. Errors, each "FILE:LINE: FIELD: …": -EINVAL
 * (a line that is not NAME:ROLE:HASH, a bad name, an unknown role, a duplicate name, a hash
 * libcrypt does not take, a NUL byte), -ENOENT when the file names no user at all. */
int drift_users_parse(const char *file_name, const char *data, size_t size,
                      struct drift_users **ret, struct drift_error *err);
/* drift_users_parse on the file at path (-ENOENT, -EACCES, -EIO naming it when unreadable). */
int drift_users_load(const char *path, struct drift_users **ret, struct drift_error *err);
/* Users are reference counted (atomically: a thread may check a password with a reference of
 * its own while the main thread replaces the users). Returns users. */
struct drift_users *drift_users_ref(struct drift_users *users);
/* Drops a reference; the last one frees. NULL is fine. */
void drift_users_free(struct drift_users *users);
unsigned drift_users_count(const struct drift_users *users);
/* The role of the user called name, DRIFT_ROLE_NONE when there is none. */
enum drift_role drift_users_role(const struct drift_users *users, const char *name);

/* Whether password is name's: crypt_r of it with the stored hash as setting, compared in
 * constant time. An unknown name costs the same crypt_r (against a dummy hash), so a client
 * cannot tell unknown names from wrong passwords by the time the answer takes. Returns 0 with
 * *ret_role set, or -EACCES (unknown name or wrong password; *ret_role untouched). */
int drift_users_verify(const struct drift_users *users, const char *name, const char *password,
                       enum drift_role *ret_role);

/* A new hash of password (yescrypt with a fresh salt from libcrypt's crypt_gensalt_rn):
 * *ret is transfer full (free()). -EINVAL when password is empty, longer than
 * DRIFT_PASSWORD_MAX or holds a newline; -EIO when libcrypt fails. */
int drift_access_hash(const char *password, char **ret, struct drift_error *err);

#endif
