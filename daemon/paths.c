/* See paths.h. */
#include "paths.h"

#include <unistd.h>

#include <glib.h>

char *drift_model_path(const char *file)
{
    const char *dir = g_getenv("DRIFT_MODELS_DIR");
    return g_build_filename(dir && dir[0] ? dir : DRIFT_MODELS_DIR_DEFAULT, file, NULL);
}

char *drift_web_dir(void)
{
    const char *dir = g_getenv("DRIFT_WEB_DIR");
    return g_strdup(dir && dir[0] ? dir : DRIFT_WEB_DIR_DEFAULT);
}

char *drift_state_dir(const char *option, const char *configured)
{
    if (option)
        return g_strdup(option);
    if (configured)
        return g_strdup(configured);
    const char *sd = g_getenv("STATE_DIRECTORY");
    if (sd && sd[0] == '/')
        return g_strdup(sd);
    if (geteuid() == 0)
        return g_strdup("/var/lib/drift");
    return g_build_filename(g_get_user_state_dir(), "drift", NULL);
}
