/* safetensors reader: mmap, validate everything, hand out zero-copy views.
 * Format: u64 little-endian header length N, N bytes of JSON, then the data section.
 * Each JSON entry: "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 * offsets relative to the data section. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drift/model_file.h>

#define HEADER_MAX (64u << 20) /* a header beyond 64 MiB is not a model we would make */

struct drift_safetensors {
    void *map;          /* the mapping (NULL when over a caller's buffer) */
    size_t map_size;
    const unsigned char *data; /* data section */
    size_t data_size;
    struct drift_st_entry *entries;
    size_t count;
};

static const struct {
    const char *name;
    int supported;
    enum drift_dtype dtype;
} dtypes[] = {
    { "F32", 1, DRIFT_F32 }, { "BF16", 1, DRIFT_BF16 },
    { "F64", 0, 0 }, { "F16", 0, 0 }, { "I64", 0, 0 }, { "I32", 0, 0 }, { "I16", 0, 0 },
    { "I8", 0, 0 }, { "U8", 0, 0 }, { "U16", 0, 0 }, { "U32", 0, 0 }, { "U64", 0, 0 },
    { "BOOL", 0, 0 }, { "F8_E4M3", 0, 0 }, { "F8_E5M2", 0, 0 },
};

static int parse_dtype(const char *label, const char *name, json_t *v, enum drift_dtype *ret,
                       struct drift_error *err)
{
    if (!json_is_string(v))
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': dtype must be a string", label, name);
    const char *s = json_string_value(v);
    for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
        if (strcmp(s, dtypes[i].name) == 0) {
            if (!dtypes[i].supported)
                return drift_error_set(err, -ENOTSUP, "%s: tensor '%s': dtype %s is not supported "
                                       "(F32, BF16)", label, name, s);
            *ret = dtypes[i].dtype;
            return 0;
        }
    return drift_error_set(err, -EINVAL, "%s: tensor '%s': unknown dtype '%.32s'", label, name, s);
}

static int parse_shape(const char *label, const char *name, json_t *v, struct drift_st_entry *e,
                       uint64_t *ret_numel, struct drift_error *err)
{
    if (!json_is_array(v))
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': shape must be an array", label, name);
    size_t n = json_array_size(v);
    if (n > DRIFT_MAX_DIMS)
        return drift_error_set(err, -ENOTSUP, "%s: tensor '%s': %zu dimensions, at most %d",
                               label, name, n, DRIFT_MAX_DIMS);
    uint64_t numel = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(v, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return drift_error_set(err, -EINVAL, "%s: tensor '%s': shape[%zu] must be a "
                                   "non-negative integer", label, name, i);
        uint64_t dim = (uint64_t)json_integer_value(d);
        if (__builtin_mul_overflow(numel, dim, &numel))
            return drift_error_set(err, -EINVAL, "%s: tensor '%s': shape product overflows",
                                   label, name);
        e->shape[i] = (int64_t)dim;
    }
    e->ndim = (int)n;
    *ret_numel = numel;
    return 0;
}

static int parse_offsets(const char *label, const char *name, json_t *v, uint64_t *begin,
                         uint64_t *end, struct drift_error *err)
{
    json_t *b = json_array_get(v, 0), *e = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < 0)
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': data_offsets must be two "
                               "non-negative integers", label, name);
    *begin = (uint64_t)json_integer_value(b);
    *end = (uint64_t)json_integer_value(e);
    if (*begin > *end)
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': data_offsets are reversed "
                               "[%llu, %llu]", label, name, (unsigned long long)*begin,
                               (unsigned long long)*end);
    return 0;
}

static int parse_entry(struct drift_safetensors *st, const char *label, const char *name,
                       json_t *v, struct drift_st_entry *e, uint64_t *ret_begin,
                       struct drift_error *err)
{
    if (!json_is_object(v))
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': entry must be an object", label, name);
    const char *key;
    json_t *field;
    json_object_foreach(v, key, field)
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return drift_error_set(err, -EINVAL, "%s: tensor '%s': unknown field '%.32s'", label,
                                   name, key);
    uint64_t numel = 0, begin = 0, end = 0;
    int r = parse_dtype(label, name, json_object_get(v, "dtype"), &e->dtype, err);
    if (r == 0) r = parse_shape(label, name, json_object_get(v, "shape"), e, &numel, err);
    if (r == 0) r = parse_offsets(label, name, json_object_get(v, "data_offsets"), &begin, &end, err);
    if (r < 0)
        return r;
    if (end > st->data_size)
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': data_offsets [%llu, %llu] run past "
                               "the data section (%zu bytes)", label, name,
                               (unsigned long long)begin, (unsigned long long)end, st->data_size);
    uint64_t bytes;
    if (__builtin_mul_overflow(numel, (uint64_t)drift_dtype_size(e->dtype), &bytes) ||
        bytes != end - begin)
        return drift_error_set(err, -EINVAL, "%s: tensor '%s': shape needs %llu bytes of %s but "
                               "data_offsets hold %llu", label, name,
                               (unsigned long long)numel * drift_dtype_size(e->dtype),
                               drift_dtype_name(e->dtype), (unsigned long long)(end - begin));
    if (!(e->name = strdup(name)))
        return drift_error_set(err, -ENOMEM, "%s: out of memory", label);
    e->data = st->data + begin;
    e->nbytes = (size_t)bytes;
    *ret_begin = begin;
    return 0;
}

static int check_metadata(const char *label, json_t *v, struct drift_error *err)
{
    if (!json_is_object(v))
        return drift_error_set(err, -EINVAL, "%s: __metadata__ must be an object", label);
    const char *key;
    json_t *field;
    json_object_foreach(v, key, field)
        if (!json_is_string(field))
            return drift_error_set(err, -EINVAL, "%s: __metadata__ '%.64s' must be a string",
                                   label, key);
    return 0;
}

static int compare_by_offset(const void *a, const void *b)
{
    const struct drift_st_entry *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

/* No two tensors may share bytes: sorted by start, each must end before the next starts. */
static int check_overlaps(const struct drift_safetensors *st, const char *label,
                          struct drift_error *err)
{
    struct drift_st_entry *sorted = malloc(st->count * sizeof(*sorted) + 1);
    if (!sorted)
        return drift_error_set(err, -ENOMEM, "%s: out of memory", label);
    memcpy(sorted, st->entries, st->count * sizeof(*sorted));
    qsort(sorted, st->count, sizeof(*sorted), compare_by_offset);
    int r = 0;
    for (size_t i = 1; i < st->count && r == 0; i++) {
        const struct drift_st_entry *prev = &sorted[i - 1], *cur = &sorted[i];
        if ((const unsigned char *)prev->data + prev->nbytes > (const unsigned char *)cur->data)
            r = drift_error_set(err, -EINVAL, "%s: tensors '%s' and '%s' overlap", label,
                                prev->name, cur->name);
    }
    free(sorted);
    return r;
}

static int parse_header(struct drift_safetensors *st, const char *label, const char *text,
                        size_t length, struct drift_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return drift_error_set(err, -EINVAL, "%s: header JSON, line %d column %d: %s", label,
                               jerr.line, jerr.column, jerr.text);
    int r = 0;
    if (!json_is_object(root)) {
        r = drift_error_set(err, -EINVAL, "%s: header JSON must be an object", label);
        goto out;
    }
    st->entries = calloc(json_object_size(root) + 1, sizeof(*st->entries));
    if (!st->entries) {
        r = drift_error_set(err, -ENOMEM, "%s: out of memory", label);
        goto out;
    }
    const char *name;
    json_t *value;
    json_object_foreach(root, name, value) {
        if (strcmp(name, "__metadata__") == 0) {
            r = check_metadata(label, value, err);
        } else if (name[0] == '\0' || strlen(name) >= sizeof(((struct drift_tensor_spec *)0)->name)) {
            r = drift_error_set(err, -EINVAL, "%s: tensor name '%.40s' is empty or longer than %zu",
                                label, name, sizeof(((struct drift_tensor_spec *)0)->name) - 1);
        } else {
            uint64_t begin;
            r = parse_entry(st, label, name, value, &st->entries[st->count], &begin, err);
            if (r == 0)
                st->count++;
        }
        if (r < 0)
            goto out;
    }
    r = check_overlaps(st, label, err);
out:
    json_decref(root);
    return r;
}

static int open_bytes(struct drift_safetensors *st, const unsigned char *bytes, size_t size,
                      const char *label, struct drift_error *err)
{
    if (size < 8)
        return drift_error_set(err, -EINVAL, "%s: truncated: %zu bytes, a safetensors file starts "
                               "with an 8-byte header length", label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | bytes[i];
    if (hlen > size - 8)
        return drift_error_set(err, -EINVAL, "%s: header length %llu runs past the end of the "
                               "file (%zu bytes)", label, (unsigned long long)hlen, size);
    if (hlen < 2 || hlen > HEADER_MAX)
        return drift_error_set(err, -EINVAL, "%s: header length %llu outside [2, %u]", label,
                               (unsigned long long)hlen, HEADER_MAX);
    st->data = bytes + 8 + hlen;
    st->data_size = size - 8 - (size_t)hlen;
    return parse_header(st, label, (const char *)bytes + 8, (size_t)hlen, err);
}

int drift_safetensors_open_buffer(const void *data, size_t size, const char *label,
                                  struct drift_safetensors **ret, struct drift_error *err)
{
    struct drift_safetensors *st = calloc(1, sizeof(*st));
    if (!st)
        return drift_error_set(err, -ENOMEM, "%s: out of memory", label);
    int r = open_bytes(st, data, size, label, err);
    if (r < 0) {
        drift_safetensors_close(st);
        return r;
    }
    *ret = st;
    return 0;
}

int drift_safetensors_open(const char *path, struct drift_safetensors **ret,
                           struct drift_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return drift_error_set(err, -errno, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return drift_error_set(err, -EINVAL, "%s: not a regular file", path);
    }
    struct drift_safetensors *st = calloc(1, sizeof(*st));
    if (!st) {
        close(fd);
        return drift_error_set(err, -ENOMEM, "%s: out of memory", path);
    }
    int r = 0;
    if (sb.st_size > 0) {
        st->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (st->map == MAP_FAILED) {
            st->map = NULL;
            r = drift_error_set(err, -errno, "%s: mmap: %s", path, strerror(errno));
        } else {
            st->map_size = (size_t)sb.st_size;
        }
    }
    close(fd);
    if (r == 0)
        r = open_bytes(st, st->map, st->map_size, path, err);
    if (r < 0) {
        drift_safetensors_close(st);
        return r;
    }
    *ret = st;
    return 0;
}

void drift_safetensors_close(struct drift_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++)
        free((char *)st->entries[i].name);
    free(st->entries);
    if (st->map)
        munmap(st->map, st->map_size);
    free(st);
}

size_t drift_safetensors_count(const struct drift_safetensors *st) { return st->count; }

const struct drift_st_entry *drift_safetensors_at(const struct drift_safetensors *st, size_t index)
{
    return index < st->count ? &st->entries[index] : NULL;
}

const struct drift_st_entry *drift_safetensors_find(const struct drift_safetensors *st,
                                                    const char *name)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->entries[i].name, name) == 0)
            return &st->entries[i];
    return NULL;
}

int drift_safetensors_view(const struct drift_safetensors *st, const char *name,
                           struct drift_tensor *t, struct drift_error *err)
{
    const struct drift_st_entry *e = drift_safetensors_find(st, name);
    if (!e)
        return drift_error_set(err, -ENOENT, "tensor '%s' is missing", name);
    int64_t one = 1;
    int r = e->ndim == 0 ? drift_tensor_view(t, e->dtype, (void *)e->data, 1, &one)
                         : drift_tensor_view(t, e->dtype, (void *)e->data, e->ndim, e->shape);
    if (r < 0)
        return drift_error_set(err, r, "tensor '%s' has an empty dimension", name);
    return 0;
}

static void format_dims(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, ")");
}

int drift_safetensors_check(const struct drift_safetensors *st,
                            const struct drift_tensor_spec *specs, size_t count,
                            struct drift_error *err)
{
    for (size_t i = 0; i < count; i++) {
        const struct drift_tensor_spec *s = &specs[i];
        const struct drift_st_entry *e = drift_safetensors_find(st, s->name);
        if (!e)
            return drift_error_set(err, -ENOENT, "tensor '%s' is missing", s->name);
        if (e->ndim != s->ndim || memcmp(e->shape, s->shape, (size_t)s->ndim * sizeof(int64_t))) {
            char want[96], got[96];
            format_dims(want, sizeof(want), s->ndim, s->shape);
            format_dims(got, sizeof(got), e->ndim, e->shape);
            return drift_error_set(err, -EINVAL, "tensor '%s' has shape %s, the architecture "
                                   "needs %s", s->name, got, want);
        }
    }
    return 0;
}
