/* libFuzzer target: the safetensors reader over arbitrary bytes. Any input must either load (and
 * then every entry lies inside the buffer) or be rejected with a message; never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <drift/model_file.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drift_safetensors *st = NULL;
    struct drift_error err = { 0 };
    if (drift_safetensors_open_buffer(data, size, "fuzz", &st, &err) < 0) {
        if (err.message[0] == '\0')
            abort(); /* a rejection must say why */
        return 0;
    }
    for (size_t i = 0; i < drift_safetensors_count(st); i++) {
        const struct drift_st_entry *e = drift_safetensors_at(st, i);
        const uint8_t *p = e->data;
        if (p < data || p + e->nbytes > data + size)
            abort();
        volatile uint8_t sink = 0;
        for (size_t j = 0; j < e->nbytes; j += 64)
            sink ^= p[j];
        (void)sink;
    }
    drift_safetensors_close(st);
    return 0;
}
