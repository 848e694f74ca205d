/* driftctl's output: tables and property lists for people, JSON for scripts. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

void ctl_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s)
        puts(s);
    free(s);
}

const char *ctl_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

double ctl_num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : (json_is_true(v) ? 1 : 0);
}

void ctl_print_stream_table(json_t *streams)
{
    size_t i;
    json_t *s;
    if (json_array_size(streams) == 0) {
        puts("No streams.");
        return;
    }
    printf("%-16s %-9s %7s %6s %8s %10s  %s\n", "NAME", "STATE", "CLIENTS", "FPS", "REALTIME",
           "FRAMES", "URL");
    json_array_foreach(streams, i, s) {
        char rtf[32] = "-";
        if (json_is_true(json_object_get(s, "Idle")))
            snprintf(rtf, sizeof rtf, "idle"); /* on demand, nobody watching */
        else if (json_is_true(json_object_get(s, "Running")))
            snprintf(rtf, sizeof rtf, "%.2fx%s", ctl_num(s, "RealtimeFactor"),
                     json_is_true(json_object_get(s, "Degraded")) ? "!" : "");
        printf("%-16s %-9s %7.0f %6g %8s %10.0f  %s\n", ctl_str(s, "Name"), ctl_str(s, "State"),
               ctl_num(s, "Clients"), ctl_num(s, "Fps"), rtf, ctl_num(s, "FramesGenerated"),
               ctl_str(s, "Url"));
        if (ctl_str(s, "Prompt")[0])
            printf("%-16s prompt: %s\n", "", ctl_str(s, "Prompt"));
        if (ctl_str(s, "Error")[0])
            printf("%-16s error: %s\n", "", ctl_str(s, "Error"));
    }
}

void ctl_print_properties(json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        printf("%18s: ", key);
        if (json_is_string(v))
            printf("%s\n", json_string_value(v));
        else if (json_is_integer(v))
            printf("%lld\n", (long long)json_integer_value(v));
        else if (json_is_real(v))
            printf("%g\n", json_real_value(v));
        else if (json_is_boolean(v))
            printf("%s\n", json_is_true(v) ? "yes" : "no");
        else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) printf("%s%s", i ? " " : "", json_string_value(e));
            printf("\n");
        } else if (json_is_object(v)) {
            const char *k;
            json_t *e;
            bool first = true;
            json_object_foreach(v, k, e) {
                char *t = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
                printf("%s%s=%s", first ? "" : " ", k, t ? t : "?");
                free(t);
                first = false;
            }
            printf("\n");
        } else
            printf("-\n");
    }
}

void ctl_print_job_table(json_t *jobs)
{
    size_t i;
    json_t *j;
    if (json_array_size(jobs) == 0) {
        puts("No jobs.");
        return;
    }
    printf("%-24s %-10s %8s  %s\n", "ID", "STATE", "PROGRESS", "OUTPUT");
    json_array_foreach(jobs, i, j)
        printf("%-24s %-10s %7.1f%%  %s\n", ctl_str(j, "Id"), ctl_str(j, "State"),
               100 * ctl_num(j, "Progress"), ctl_str(j, "Output"));
}

void ctl_print_progress(const char *id, const char *state, double progress, double eta_s,
                        bool tty)
{
    char eta[32] = "";
    if (eta_s >= 0 && isfinite(eta_s))
        snprintf(eta, sizeof eta, " ETA %d:%02d", (int)eta_s / 60, (int)eta_s % 60);
    if (!tty) {
        printf("%s %s %.1f%%%s\n", id, state, 100 * progress, eta);
        fflush(stdout);
        return;
    }
    char bar[41];
    int filled = (int)(progress * 40 + 0.5);
    for (int i = 0; i < 40; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[40] = 0;
    printf("\r%s [%s] %5.1f%% %-9s%s   ", id, bar, 100 * progress, state, eta);
    fflush(stdout);
}
