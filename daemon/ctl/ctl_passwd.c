/* driftctl passwd NAME ROLE: prints "NAME:ROLE:HASH" for driftd's users file (docs/ACCESS.md).
 * The password comes from stdin: one line from a pipe, or typed twice without echo on a
 * terminal. The hash is libcrypt's (access.h); nothing talks to driftd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib.h>

#include "access.h"
#include "ctl.h"

/* One line of stdin without its newline (transfer full; explicit_bzero before g_free), or
 * NULL at end of input. prompt: shown on stderr with echo off (a terminal), or NULL. */
static char *read_password(const char *prompt)
{
    struct termios saved, quiet;
    bool tty = prompt && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fputs(prompt, stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char buf[DRIFT_PASSWORD_MAX + 2];
    char *line = fgets(buf, sizeof(buf), stdin) ? g_strdup(buf) : NULL;
    explicit_bzero(buf, sizeof(buf));
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (line)
        line[strcspn(line, "\r\n")] = 0;
    return line;
}

static void forget(char *secret)
{
    if (secret)
        explicit_bzero(secret, strlen(secret));
    g_free(secret);
}

int ctl_passwd(struct ctl *c, int argc, char **argv)
{
    enum drift_role role;
    if (argc != 2) {
        fprintf(stderr, "usage: driftctl passwd NAME ROLE  (ROLE: view, control or admin; the "
                        "password from stdin)\n");
        return CTL_EXIT_USAGE;
    }
    if (!drift_user_name_valid(argv[0])) {
        fprintf(stderr, "driftctl: NAME: '%s' must be 1..%d of A-Z a-z 0-9 . _ -\n", argv[0],
                DRIFT_USER_NAME_MAX);
        return CTL_EXIT_USAGE;
    }
    if (drift_role_parse(argv[1], &role) < 0) {
        fprintf(stderr, "driftctl: ROLE: '%s' is unknown; allowed: view, control, admin\n",
                argv[1]);
        return CTL_EXIT_USAGE;
    }
    bool tty = isatty(STDIN_FILENO);
    char *password = read_password(tty ? "Password: " : NULL);
    if (!password) {
        fprintf(stderr, "driftctl: no password on stdin\n");
        return CTL_EXIT_FAILURE;
    }
    if (tty) {
        char *again = read_password("Again: ");
        bool same = again && !strcmp(password, again);
        forget(again);
        if (!same) {
            forget(password);
            fprintf(stderr, "driftctl: the passwords differ\n");
            return CTL_EXIT_FAILURE;
        }
    }
    char *hash = NULL;
    struct drift_error err = { 0 };
    int r = drift_access_hash(password, &hash, &err);
    forget(password);
    if (r < 0) {
        fprintf(stderr, "driftctl: %s\n", err.message);
        return CTL_EXIT_FAILURE;
    }
    printf("%s:%s:%s\n", argv[0], drift_role_name(role), hash);
    free(hash);
    return CTL_EXIT_OK;
}
