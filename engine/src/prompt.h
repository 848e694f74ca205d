/* Prompts: lowercase words from the model's vocabulary, separated by white space. */
#ifndef DRIFT_PROMPT_H
#define DRIFT_PROMPT_H

#include <stddef.h>

#include <drift/error.h>

#define DRIFT_PROMPT_MAX_CHARS 1000
#define DRIFT_PROMPT_MAX_WORDS 64

/* Word ids of prompt into ids (at most DRIFT_PROMPT_MAX_WORDS); *count gets how many. An unknown
 * word, a too-long prompt or a non-printable character is -EINVAL with the word named. */
int drift_prompt_tokenize(const char *prompt, const char *const *vocab, size_t vocab_size,
                          int *ids, int *count, struct drift_error *err);

#endif
