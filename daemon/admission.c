/* See admission.h. */
#include "admission.h"

#include <errno.h>

#include <glib.h>

double drift_admission_min_frame_seconds(double realtime_factor, double fps, unsigned steps,
                                         unsigned commit_evals)
{
    if (!(realtime_factor > 0) || !(fps > 0) || steps == 0)
        return 0;
    /* work per frame x (1 step + the commit's) / (steps + the commit's) */
    return (1.0 + commit_evals) / (realtime_factor * fps * (steps + commit_evals));
}

int drift_admission_check(const struct drift_admission_load *running, size_t n,
                          const struct drift_admission_load *cand, struct drift_error *err)
{
    if (n == 0)
        return 0; /* nothing to protect: alone it degrades rather than not run at all */
    double used = 0;
    for (size_t i = 0; i < n; i++)
        used += running[i].fps * running[i].frame_seconds;
    double need = cand->fps * cand->frame_seconds;
    if (used + need <= 1.0)
        return 0;
    g_autoptr(GString) what = g_string_new(NULL);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(what, "%s%s %.2f", what->len ? ", " : "", running[i].name,
                               running[i].fps * running[i].frame_seconds);
    return drift_error_set(err, -EBUSY,
                           "stream '%s' needs %.2f of the machine (%g fps at 1 step per frame, "
                           "as measured) and %.2f is left; running: %s (admission = strict in "
                           "[daemon]; renders queue instead)",
                           cand->name, need, cand->fps, MAX(1.0 - used, 0.0),
                           what->len ? what->str : "nothing");
}
