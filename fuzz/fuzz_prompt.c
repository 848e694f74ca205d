/* libFuzzer target: prompt tokenisation over arbitrary bytes (NUL-terminated copies). Any input is
 * either tokenised into known word ids or rejected with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prompt.h"

static const char *const vocab[] = { "a", "fire", "rain", "slow", "violet", "aurora", "fast",
                                     "orange", "flames", "soft", "loud", "wind" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int ids[DRIFT_PROMPT_MAX_WORDS], n = -1;
    struct drift_error err = { 0 };
    size_t vocab_size = sizeof(vocab) / sizeof(vocab[0]);
    if (drift_prompt_tokenize(text, vocab, vocab_size, ids, &n, &err) < 0) {
        if (err.message[0] == '\0')
            abort();
    } else {
        if (n < 0 || n > DRIFT_PROMPT_MAX_WORDS)
            abort();
        for (int i = 0; i < n; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= vocab_size)
                abort();
    }
    free(text);
    return 0;
}
