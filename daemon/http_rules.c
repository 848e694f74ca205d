/* See http_rules.h. */
#include "http_rules.h"

#include <string.h>

#include <gio/gio.h>

/* host[:port] -> host, without the brackets of an IPv6 literal; NULL when malformed. */
static char *host_part(const char *hostport)
{
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (!close || (close[1] && close[1] != ':'))
            return NULL;
        return g_strndup(hostport + 1, close - hostport - 1);
    }
    const char *colon = strchr(hostport, ':');
    if (colon && strchr(colon + 1, ':'))
        return NULL; /* an IPv6 literal must be in brackets */
    return colon ? g_strndup(hostport, colon - hostport) : g_strdup(hostport);
}

bool drift_http_host_allowed(const char *host)
{
    if (!host)
        return true;
    g_autofree char *name = host_part(host);
    if (!name || !name[0])
        return false;
    if (!g_ascii_strcasecmp(name, "localhost"))
        return true;
    g_autoptr(GInetAddress) a = g_inet_address_new_from_string(name);
    return a != NULL;
}

bool drift_http_origin_allowed(const char *origin, const char *host)
{
    if (!origin)
        return true;
    if (!host)
        return false;
    /* scheme://host[:port], nothing after */
    const char *sep = strstr(origin, "://");
    if (!sep || strchr(sep + 3, '/'))
        return false;
    return !g_ascii_strcasecmp(sep + 3, host);
}
