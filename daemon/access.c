/* Roles and the users file; see access.h. Hashing and checking are libcrypt's (crypt_r,
 * crypt_gensalt_rn, crypt_checksalt): nothing here is cryptography of our own. */
#include "access.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

struct drift_user {
    char *name;
    enum drift_role role;
    char *hash;
};

struct drift_users {
    gint ref;
    GPtrArray *list; /* struct drift_user * */
};

static const char *const role_names[] = {
    [DRIFT_ROLE_NONE] = "none",
    [DRIFT_ROLE_VIEW] = "view",
    [DRIFT_ROLE_CONTROL] = "control",
    [DRIFT_ROLE_ADMIN] = "admin",
};

const char *drift_role_name(enum drift_role role)
{
    return role <= DRIFT_ROLE_ADMIN ? role_names[role] : "none";
}

int drift_role_parse(const char *name, enum drift_role *ret)
{
    for (int r = DRIFT_ROLE_VIEW; r <= DRIFT_ROLE_ADMIN; r++)
        if (!strcmp(name, role_names[r])) {
            *ret = r;
            return 0;
        }
    return -EINVAL;
}

bool drift_user_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > DRIFT_USER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && !strchr("._-", name[i]))
            return false;
    return true;
}

static void user_free(void *p)
{
    struct drift_user *u = p;
    g_free(u->name);
    /* The hash is not secret, but there is no reason to leave it in freed memory either. */
    if (u->hash)
        explicit_bzero(u->hash, strlen(u->hash));
    g_free(u->hash);
    g_free(u);
}

struct drift_users *drift_users_ref(struct drift_users *users)
{
    g_atomic_int_inc(&users->ref);
    return users;
}

void drift_users_free(struct drift_users *users)
{
    if (!users || !g_atomic_int_dec_and_test(&users->ref))
        return;
    g_ptr_array_unref(users->list);
    g_free(users);
}

unsigned drift_users_count(const struct drift_users *users)
{
    return users ? users->list->len : 0;
}

static const struct drift_user *find(const struct drift_users *users, const char *name)
{
    for (guint i = 0; users && i < users->list->len; i++) {
        const struct drift_user *u = users->list->pdata[i];
        if (!strcmp(u->name, name))
            return u;
    }
    return NULL;
}

enum drift_role drift_users_role(const struct drift_users *users, const char *name)
{
    const struct drift_user *u = find(users, name);
    return u ? u->role : DRIFT_ROLE_NONE;
}

/* crypt_r(password, setting) into a new string (transfer full), or NULL when libcrypt refuses
 * (it then returns a string starting with '*', or NULL). */
static char *crypt_new(const char *password, const char *setting)
{
    struct crypt_data *cd = g_new0(struct crypt_data, 1); /* ~32 KiB: not on the stack */
    const char *out = crypt_r(password, setting, cd);
    char *copy = out && out[0] != '*' ? g_strdup(out) : NULL;
    explicit_bzero(cd, sizeof(*cd));
    g_free(cd);
    return copy;
}

/* Equal strings, in a time that depends on their lengths only. */
static bool same(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n != strlen(b))
        return false;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)a[i] ^ (unsigned char)b[i];
    return d == 0;
}

int drift_users_verify(const struct drift_users *users, const char *name, const char *password,
                       enum drift_role *ret_role)
{
    if (!users || !users->list->len || strlen(password) > DRIFT_PASSWORD_MAX)
        return -EACCES;
    const struct drift_user *u = find(users, name);
    /* An unknown name pays for the same crypt_r as a known one (the first user's method and
     * cost), and then fails. */
    const struct drift_user *as = u ? u : users->list->pdata[0];
    g_autofree char *got = crypt_new(password, as->hash);
    bool ok = got && same(got, as->hash);
    if (!u || !ok)
        return -EACCES;
    *ret_role = u->role;
    return 0;
}

/* Whether libcrypt takes hash as a stored password hash: a method it still offers for new
 * hashes (no DES, no MD5, not too cheap), and a complete hash, not only its setting (crypt_r
 * of anything with it as setting has its length). */
static const char *hash_problem(const char *hash)
{
    switch (crypt_checksalt(hash)) {
    case CRYPT_SALT_OK:
        break;
    case CRYPT_SALT_METHOD_LEGACY:
        return "a legacy method libcrypt no longer offers for new hashes";
    case CRYPT_SALT_TOO_CHEAP:
        return "its cost is too low";
    case CRYPT_SALT_METHOD_DISABLED:
        return "a method this libcrypt does not offer";
    default:
        return "not a hash libcrypt knows";
    }
    g_autofree char *probe = crypt_new("", hash);
    if (!probe || strlen(probe) != strlen(hash))
        return "not a complete hash (a setting without the hashed password?)";
    return NULL;
}

static int parse_line(struct drift_users *users, const char *file, unsigned line, char *text,
                      struct drift_error *err)
{
    char **f = g_strsplit(text, ":", 4);
    int r = 0;
    enum drift_role role = DRIFT_ROLE_NONE;
    const char *why;
    if (g_strv_length(f) != 3)
        r = drift_error_set(err, -EINVAL, "%s:%u: expected NAME:ROLE:HASH (%u fields)", file,
                            line, g_strv_length(f));
    else if (!drift_user_name_valid(f[0]))
        r = drift_error_set(err, -EINVAL,
                            "%s:%u: name: '%.64s' must be 1..%d of A-Z a-z 0-9 . _ -", file,
                            line, f[0], DRIFT_USER_NAME_MAX);
    else if (find(users, f[0]))
        r = drift_error_set(err, -EINVAL, "%s:%u: name: '%s' appears twice", file, line, f[0]);
    else if (drift_role_parse(f[1], &role) < 0)
        r = drift_error_set(err, -EINVAL, "%s:%u: role: '%.32s' is unknown; allowed: view, "
                            "control, admin", file, line, f[1]);
    else if ((why = hash_problem(f[2])))
        r = drift_error_set(err, -EINVAL, "%s:%u: hash: %s; make one with driftctl passwd",
                            file, line, why);
    if (r == 0) {
        struct drift_user *u = g_new0(struct drift_user, 1);
        u->name = g_strdup(f[0]);
        u->role = role;
        u->hash = g_strdup(f[2]);
        g_ptr_array_add(users->list, u);
    }
    g_strfreev(f);
    return r;
}

int drift_users_parse(const char *file_name, const char *data, size_t size,
                      struct drift_users **ret, struct drift_error *err)
{
    if (memchr(data, '\0', size))
        return drift_error_set(err, -EINVAL, "%s: contains a NUL byte", file_name);
    struct drift_users *users = g_new0(struct drift_users, 1);
    users->ref = 1;
    users->list = g_ptr_array_new_with_free_func(user_free);
    g_autofree char *text = g_strndup(data, size);
    char **lines = g_strsplit(text, "\n", -1);
    int r = 0;
    for (unsigned i = 0; lines[i] && r == 0; i++) {
        char *l = g_strstrip(lines[i]); /* also the \r of a file written on Windows */
        if (l[0] && l[0] != '#')
            r = parse_line(users, file_name, i + 1, l, err);
    }
    g_strfreev(lines);
    if (r == 0 && users->list->len == 0)
        r = drift_error_set(err, -ENOENT, "%s: no users (add a NAME:ROLE:HASH line made with "
                            "driftctl passwd, or remove [access] users)", file_name);
    if (r < 0) {
        drift_users_free(users);
        return r;
    }
    *ret = users;
    return 0;
}

int drift_users_load(const char *path, struct drift_users **ret, struct drift_error *err)
{
    g_autofree char *data = NULL;
    gsize size;
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(path, &data, &size, &e)) {
        int code = e->code == G_FILE_ERROR_NOENT ? -ENOENT
                   : e->code == G_FILE_ERROR_ACCES ? -EACCES : -EIO;
        return drift_error_set(err, code, "%s", e->message);
    }
    return drift_users_parse(path, data, size, ret, err);
}

int drift_access_hash(const char *password, char **ret, struct drift_error *err)
{
    size_t n = strlen(password);
    if (n == 0 || n > DRIFT_PASSWORD_MAX || strpbrk(password, "\r\n"))
        return drift_error_set(err, -EINVAL, "password: must be 1..%d bytes on one line",
                               DRIFT_PASSWORD_MAX);
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL random bytes: libcrypt takes them from the kernel; count 0: the method's default
     * cost. */
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)))
        return drift_error_set(err, -EIO, "crypt_gensalt_rn: %s", g_strerror(errno));
    char *hash = crypt_new(password, setting);
    if (!hash)
        return drift_error_set(err, -EIO, "crypt_r: %s", g_strerror(errno));
    *ret = strdup(hash);
    g_free(hash);
    return *ret ? 0 : drift_error_set(err, -ENOMEM, "out of memory");
}
