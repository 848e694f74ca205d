/* Access control's pure parts: the users file (daemon/access.c) read and refused with FILE:LINE
 * and the field, passwords checked through libcrypt, and the guard (daemon/access_guard.c):
 * failed logins blocking an address for a while, bearer tokens issued, expired and revoked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "access.h"
#include "access_guard.h"

#define S 1000000LL /* microseconds */

/* Hashes made once: yescrypt is slow on purpose. */
static char *alice_hash, *bob_hash;

static int make_hashes(void **state)
{
    struct drift_error err = { 0 };
    assert_int_equal(drift_access_hash("alice-secret", &alice_hash, &err), 0);
    assert_int_equal(drift_access_hash("bob secret: with colon", &bob_hash, &err), 0);
    return 0;
}

static int free_hashes(void **state)
{
    free(alice_hash);
    free(bob_hash);
    return 0;
}

static struct drift_users *two_users(void)
{
    g_autofree char *text = g_strdup_printf("# drift users\n\nalice:admin:%s\n  bob:view:%s  \r\n",
                                            alice_hash, bob_hash);
    struct drift_users *users = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_users_parse("users", text, strlen(text), &users, &err), 0);
    return users;
}

static void roles_are_ordered_and_named(void **state)
{
    enum drift_role r = DRIFT_ROLE_NONE;
    assert_true(DRIFT_ROLE_VIEW < DRIFT_ROLE_CONTROL && DRIFT_ROLE_CONTROL < DRIFT_ROLE_ADMIN);
    assert_int_equal(drift_role_parse("control", &r), 0);
    assert_int_equal(r, DRIFT_ROLE_CONTROL);
    assert_int_equal(drift_role_parse("root", &r), -EINVAL);
    assert_int_equal(drift_role_parse("none", &r), -EINVAL);
    assert_int_equal(r, DRIFT_ROLE_CONTROL); /* untouched on failure */
    assert_string_equal(drift_role_name(DRIFT_ROLE_ADMIN), "admin");
}

static void a_new_hash_is_yescrypt_and_checks_its_password(void **state)
{
    assert_true(g_str_has_prefix(alice_hash, "$y$"));
    struct drift_users *users = two_users();
    enum drift_role role = DRIFT_ROLE_NONE;
    assert_int_equal(drift_users_count(users), 2);
    assert_int_equal(drift_users_verify(users, "alice", "alice-secret", &role), 0);
    assert_int_equal(role, DRIFT_ROLE_ADMIN);
    assert_int_equal(drift_users_verify(users, "bob", "bob secret: with colon", &role), 0);
    assert_int_equal(role, DRIFT_ROLE_VIEW);
    role = DRIFT_ROLE_NONE;
    assert_int_equal(drift_users_verify(users, "alice", "alice-secreT", &role), -EACCES);
    assert_int_equal(drift_users_verify(users, "alice", "", &role), -EACCES);
    assert_int_equal(drift_users_verify(users, "bob", "alice-secret", &role), -EACCES);
    assert_int_equal(drift_users_verify(users, "carol", "alice-secret", &role), -EACCES);
    assert_int_equal(role, DRIFT_ROLE_NONE);
    assert_int_equal(drift_users_role(users, "bob"), DRIFT_ROLE_VIEW);
    assert_int_equal(drift_users_role(users, "carol"), DRIFT_ROLE_NONE);
    drift_users_free(users);
}

static void two_hashes_of_one_password_differ(void **state)
{
    char *a = NULL, *b = NULL;
    assert_int_equal(drift_access_hash("same", &a, NULL), 0);
    assert_int_equal(drift_access_hash("same", &b, NULL), 0);
    assert_string_not_equal(a, b); /* a fresh salt each time */
    free(a);
    free(b);
}

static void passwords_that_cannot_be_hashed_are_refused(void **state)
{
    char *h = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_access_hash("", &h, &err), -EINVAL);
    assert_non_null(strstr(err.message, "password"));
    assert_int_equal(drift_access_hash("two\nlines", &h, &err), -EINVAL);
    g_autofree char *long_one = g_strnfill(DRIFT_PASSWORD_MAX + 1, 'x');
    assert_int_equal(drift_access_hash(long_one, &h, &err), -EINVAL);
    assert_null(h);
}

/* Each bad file is refused with its line and the field at fault. */
static void bad_users_files_name_the_line_and_field(void **state)
{
    struct {
        const char *text; /* %s: a good hash */
        int code;
        const char *needle;
    } cases[] = {
        { "alice:admin\n", -EINVAL, "users:1: expected NAME:ROLE:HASH (2 fields)" },
        { "# c\nalice:admin:%s:extra\n", -EINVAL, "users:2: expected NAME:ROLE:HASH (4 fields)" },
        { "al ice:admin:%s\n", -EINVAL, "users:1: name: 'al ice'" },
        { ":admin:%s\n", -EINVAL, "users:1: name: ''" },
        { "alice:root:%s\n", -EINVAL, "users:1: role: 'root' is unknown; allowed: view, control, admin" },
        { "alice:admin:%s\n\nalice:view:%s\n", -EINVAL, "users:3: name: 'alice' appears twice" },
        { "alice:admin:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n", -EINVAL,
          "users:1: hash: a legacy method" },                                   /* MD5 */
        { "alice:admin:abJnggxhB/yWI\n", -EINVAL, "users:1: hash: a legacy method" }, /* DES */
        { "alice:admin:!locked\n", -EINVAL, "users:1: hash: not a hash libcrypt knows" },
        { "alice:admin:$y$j9T$F5Jx5fExrKuPp53xLKQ..1\n", -EINVAL,
          "users:1: hash: not a complete hash" },
        { "# nobody\n\n", -ENOENT, "users: no users" },
        { "", -ENOENT, "users: no users" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        g_autofree char *text = g_strdup_printf(cases[i].text, alice_hash, alice_hash);
#pragma GCC diagnostic pop
        struct drift_users *users = NULL;
        struct drift_error err = { 0 };
        int r = drift_users_parse("users", text, strlen(text), &users, &err);
        if (r != cases[i].code || !strstr(err.message, cases[i].needle))
            fail_msg("case %zu: %d %s", i, r, err.message);
        assert_null(users);
    }
    struct drift_users *users = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_users_parse("users", "a:view:x\0", 9, &users, &err), -EINVAL);
    assert_non_null(strstr(err.message, "NUL"));
    assert_int_equal(drift_users_load("/nonexistent/drift-users", &users, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent/drift-users"));
}

static struct drift_guard *guard(void)
{
    struct drift_guard *g = drift_guard_new();
    assert_false(drift_guard_on(g));
    drift_guard_set_users(g, two_users());
    assert_true(drift_guard_on(g));
    return g;
}

static void failed_logins_block_the_address_for_a_while(void **state)
{
    struct drift_guard *g = guard();
    enum drift_role role;
    struct drift_error err = { 0 };
    int64_t t = 1000 * S;
    for (int i = 1; i < DRIFT_GUARD_FAILURES; i++) {
        assert_int_equal(drift_guard_login(g, "alice", "guess", "192.0.2.7", t + i * S, &role,
                                           &err), -EACCES);
        assert_non_null(strstr(err.message, "wrong name or password for 'alice' from 192.0.2.7"));
    }
    /* Still let in with the right password before the limit. */
    assert_int_equal(drift_guard_login(g, "alice", "alice-secret", "192.0.2.7", t + 5 * S, &role,
                                       &err), 0);
    assert_int_equal(drift_guard_login(g, "bob", "guess", "192.0.2.7", t + 6 * S, &role, &err),
                     -EACCES);
    assert_non_null(strstr(err.message, "refused for"));
    /* A name is the client's: it cannot forge log lines. */
    assert_int_equal(drift_guard_login(g, "x\ny: forged", "x", "192.0.2.99", t, &role, &err),
                     -EACCES);
    assert_non_null(strstr(err.message, "for 'x\\ny: forged' from 192.0.2.99"));
    unsigned retry = 0;
    /* Blocked now: even the right password is refused, unchecked. */
    assert_int_equal(drift_guard_login(g, "alice", "alice-secret", "192.0.2.7", t + 7 * S, &role,
                                       &err), -EAGAIN);
    assert_int_equal(drift_guard_blocked(g, "192.0.2.7", t + 7 * S, &retry), -EAGAIN);
    assert_int_equal(retry, DRIFT_GUARD_BLOCK_S - 1);
    /* Another address is not. */
    assert_int_equal(drift_guard_login(g, "alice", "alice-secret", "192.0.2.8", t + 7 * S, &role,
                                       &err), 0);
    uint64_t failures, blocks;
    drift_guard_counts(g, &failures, &blocks);
    assert_int_equal(failures, DRIFT_GUARD_FAILURES + 1); /* with the forged name's */
    assert_int_equal(blocks, 1);
    /* After the block, the address starts afresh. */
    int64_t later = t + (6 + DRIFT_GUARD_BLOCK_S) * S;
    assert_int_equal(drift_guard_blocked(g, "192.0.2.7", later, &retry), 0);
    assert_int_equal(drift_guard_login(g, "alice", "alice-secret", "192.0.2.7", later, &role,
                                       &err), 0);
    drift_guard_free(g);
}

static void failures_spread_over_more_than_the_window_do_not_block(void **state)
{
    struct drift_guard *g = guard();
    enum drift_role role;
    unsigned retry;
    int64_t t = 0;
    for (int i = 0; i < 3 * DRIFT_GUARD_FAILURES; i++, t += (DRIFT_GUARD_WINDOW_S / 2 + 1) * S) {
        assert_int_equal(drift_guard_login(g, "bob", "x", "198.51.100.1", t, &role, NULL),
                         -EACCES);
        assert_int_equal(drift_guard_blocked(g, "198.51.100.1", t, &retry), 0);
    }
    drift_guard_free(g);
}

static void ipv6_failures_count_per_64_prefix(void **state)
{
    struct drift_guard *g = guard();
    enum drift_role role;
    unsigned retry;
    struct drift_error err = { 0 };
    for (int i = 0; i < DRIFT_GUARD_FAILURES; i++) {
        g_autofree char *peer = g_strdup_printf("2001:db8:1:2::%x", i + 1);
        assert_int_equal(drift_guard_login(g, "bob", "x", peer, i * S, &role, &err), -EACCES);
    }
    assert_non_null(strstr(err.message, "2001:0db8:0001:0002::/64"));
    assert_int_equal(drift_guard_blocked(g, "2001:db8:1:2:ffff::9", 10 * S, &retry), -EAGAIN);
    assert_int_equal(drift_guard_blocked(g, "2001:db8:1:3::1", 10 * S, &retry), 0);
    drift_guard_free(g);
}

static void tokens_carry_the_users_current_role_until_they_end(void **state)
{
    struct drift_guard *g = guard();
    char *token = NULL;
    g_autofree char *name = NULL;
    enum drift_role role = DRIFT_ROLE_NONE;
    struct drift_error err = { 0 };
    assert_int_equal(drift_guard_token_issue(g, "bob", 0, &token, &err), 0);
    assert_int_equal(strlen(token), DRIFT_GUARD_TOKEN_LEN);
    assert_int_equal(drift_guard_token_check(g, token, "::1", 1 * S, &name, &role, &err), 0);
    assert_string_equal(name, "bob");
    g_clear_pointer(&name, g_free);
    assert_int_equal(role, DRIFT_ROLE_VIEW);
    /* A token differs from the next. */
    char *other = NULL;
    assert_int_equal(drift_guard_token_issue(g, "alice", 0, &other, &err), 0);
    assert_string_not_equal(token, other);
    assert_int_equal(drift_guard_token_check(g, other, "::1", 1 * S, &name, &role, &err), 0);
    g_clear_pointer(&name, g_free);
    assert_int_equal(role, DRIFT_ROLE_ADMIN);
    /* A wrong one, and one with a character changed, are failures. */
    assert_int_equal(drift_guard_token_check(g, "0000", "::1", 1 * S, &name, &role, &err), -EACCES);
    assert_non_null(strstr(err.message, "unknown or expired token from ::1"));
    char first = token[0];
    token[0] = first == 'a' ? 'b' : 'a';
    assert_int_equal(drift_guard_token_check(g, token, "::1", 1 * S, &name, &role, &err), -EACCES);
    token[0] = first;
    /* Past its lifetime it is gone. */
    int64_t end = (int64_t)DRIFT_GUARD_TOKEN_LIFETIME_S * S;
    assert_int_equal(drift_guard_token_check(g, token, "127.0.0.2", end - 1, &name, &role, &err), 0);
    g_clear_pointer(&name, g_free);
    assert_int_equal(drift_guard_token_check(g, token, "127.0.0.2", end, &name, &role, &err),
                     -EACCES);
    /* Revoked: gone. */
    drift_guard_token_revoke(g, other);
    assert_int_equal(drift_guard_token_check(g, other, "127.0.0.3", 2 * S, &name, &role, &err),
                     -EACCES);
    g_free(token);
    g_free(other);

    /* New users (a reload): bob's token takes his new role; alice, removed, loses hers. */
    assert_int_equal(drift_guard_token_issue(g, "bob", 0, &token, &err), 0);
    assert_int_equal(drift_guard_token_issue(g, "alice", 0, &other, &err), 0);
    g_autofree char *text = g_strdup_printf("bob:control:%s\n", bob_hash);
    struct drift_users *users = NULL;
    assert_int_equal(drift_users_parse("users", text, strlen(text), &users, &err), 0);
    drift_guard_set_users(g, users);
    assert_int_equal(drift_guard_token_check(g, token, "127.0.0.4", 3 * S, &name, &role, &err), 0);
    g_clear_pointer(&name, g_free);
    assert_int_equal(role, DRIFT_ROLE_CONTROL);
    assert_int_equal(drift_guard_token_check(g, other, "127.0.0.4", 3 * S, &name, &role, &err),
                     -EACCES);
    g_free(token);
    g_free(other);
    drift_guard_free(g);
}

static void wrong_tokens_count_as_failed_logins(void **state)
{
    struct drift_guard *g = guard();
    char *name = NULL;
    enum drift_role role;
    char *token = NULL;
    assert_int_equal(drift_guard_token_issue(g, "alice", 0, &token, NULL), 0);
    for (int i = 0; i < DRIFT_GUARD_FAILURES; i++)
        assert_int_equal(drift_guard_token_check(g, "guess", "203.0.113.9", S, &name, &role, NULL),
                         -EACCES);
    assert_int_equal(drift_guard_token_check(g, token, "203.0.113.9", 2 * S, &name, &role, NULL),
                     -EAGAIN);
    g_free(token);
    drift_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roles_are_ordered_and_named),
        cmocka_unit_test(a_new_hash_is_yescrypt_and_checks_its_password),
        cmocka_unit_test(two_hashes_of_one_password_differ),
        cmocka_unit_test(passwords_that_cannot_be_hashed_are_refused),
        cmocka_unit_test(bad_users_files_name_the_line_and_field),
        cmocka_unit_test(failed_logins_block_the_address_for_a_while),
        cmocka_unit_test(failures_spread_over_more_than_the_window_do_not_block),
        cmocka_unit_test(ipv6_failures_count_per_64_prefix),
        cmocka_unit_test(tokens_carry_the_users_current_role_until_they_end),
        cmocka_unit_test(wrong_tokens_count_as_failed_logins),
    };
    return cmocka_run_group_tests(tests, make_hashes, free_hashes);
}
