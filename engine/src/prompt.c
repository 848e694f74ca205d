#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "prompt.h"

static int lookup(const char *word, const char *const *vocab, size_t vocab_size)
{
    for (size_t i = 0; i < vocab_size; i++)
        if (strcmp(vocab[i], word) == 0)
            return (int)i;
    return -1;
}

int drift_prompt_tokenize(const char *prompt, const char *const *vocab, size_t vocab_size,
                          int *ids, int *count, struct drift_error *err)
{
    if (!prompt)
        prompt = "";
    size_t len = strlen(prompt);
    if (len > DRIFT_PROMPT_MAX_CHARS)
        return drift_error_set(err, -EINVAL, "prompt: %zu characters, at most %d", len,
                               DRIFT_PROMPT_MAX_CHARS);
    int n = 0;
    const char *p = prompt;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char word[64];
        size_t w = 0;
        for (; *p && !isspace((unsigned char)*p); p++) {
            unsigned char c = (unsigned char)*p;
            if (c < 0x20 || c == 0x7f)
                return drift_error_set(err, -EINVAL, "prompt: control character 0x%02x", c);
            if (w + 1 < sizeof(word))
                word[w++] = (char)tolower(c);
            else
                return drift_error_set(err, -EINVAL, "prompt: a word is longer than %zu "
                                       "characters", sizeof(word) - 1);
        }
        word[w] = '\0';
        int id = lookup(word, vocab, vocab_size);
        if (id < 0)
            return drift_error_set(err, -EINVAL, "prompt: unknown word '%s' (not in the model's "
                                   "vocabulary)", word);
        if (n == DRIFT_PROMPT_MAX_WORDS)
            return drift_error_set(err, -EINVAL, "prompt: more than %d words",
                                   DRIFT_PROMPT_MAX_WORDS);
        ids[n++] = id;
    }
    *count = n;
    return 0;
}
