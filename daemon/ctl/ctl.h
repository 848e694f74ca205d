/* driftctl: internal interfaces between its files. */
#ifndef DRIFT_CTL_H
#define DRIFT_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <systemd/sd-bus.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

enum ctl_bus { CTL_BUS_AUTO, CTL_BUS_SYSTEM, CTL_BUS_USER };

struct ctl {
    enum ctl_bus bus_kind;
    const char *socket;      /* --socket PATH: talk to this private socket */
    bool json;
    sd_bus *bus;
    const char *destination; /* "org.drift1" on a bus, NULL on the private socket */
};

/* ctl_bus.c: connects as asked, falling back to the private socket when org.drift1 is not on
 * the bus. Prints why on failure. */
int ctl_connect(struct ctl *c);
/* Properties.GetAll of path/iface as a JSON object (transfer full), NULL after printing why. */
json_t *ctl_get_all(struct ctl *c, const char *path, const char *iface);
/* Calls a method; prints the error and returns -1 on failure. reply may be NULL. */
int ctl_call(struct ctl *c, const char *path, const char *iface, const char *member,
             sd_bus_message **reply, const char *types, ...);
int ctl_call_message(struct ctl *c, sd_bus_message *m, sd_bus_message **reply);
int ctl_new_call(struct ctl *c, const char *path, const char *iface, const char *member,
                 sd_bus_message **ret);
/* Object paths of streams and jobs. transfer full (free()). */
char *ctl_stream_path(const char *name);
char *ctl_job_path(const char *id);

/* ctl_output.c */
void ctl_print_json(json_t *j);
const char *ctl_str(json_t *obj, const char *key);
double ctl_num(json_t *obj, const char *key);
void ctl_print_stream_table(json_t *streams);
void ctl_print_properties(json_t *obj);
void ctl_print_job_table(json_t *jobs);
/* A progress bar line for watch (terminal) or a plain line. */
void ctl_print_progress(const char *id, const char *state, double progress, double eta_s,
                        bool tty);

/* ctl_commands.c: each returns an exit code. */
int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_streams(struct ctl *c, int argc, char **argv);
int ctl_show(struct ctl *c, int argc, char **argv);
int ctl_prompt(struct ctl *c, int argc, char **argv);
int ctl_set(struct ctl *c, int argc, char **argv);
int ctl_create(struct ctl *c, int argc, char **argv);
int ctl_remove(struct ctl *c, int argc, char **argv);
int ctl_start(struct ctl *c, int argc, char **argv);
int ctl_stop(struct ctl *c, int argc, char **argv);
int ctl_reload(struct ctl *c, int argc, char **argv);
int ctl_render(struct ctl *c, int argc, char **argv);
int ctl_jobs(struct ctl *c, int argc, char **argv);
int ctl_job(struct ctl *c, int argc, char **argv);
int ctl_cancel(struct ctl *c, int argc, char **argv);
int ctl_watch(struct ctl *c, int argc, char **argv);
int ctl_keys(struct ctl *c, int argc, char **argv);
/* ctl_passwd.c: a users-file line (docs/ACCESS.md) for NAME ROLE, the password read from
 * stdin. */
int ctl_passwd(struct ctl *c, int argc, char **argv);

/* KEY=VALUE arguments appended as an a{sv} (types from the settings table). Prints and returns
 * -1 on a bad argument (exit code 2). */
int ctl_append_settings(sd_bus_message *m, unsigned scope, int argc, char **argv);

#endif
