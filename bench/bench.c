/* drift-bench: one program, one subcommand per benchmark. Each prints a table that compares, in
 * the same run, our engine with the peer or the hardware's limit. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct bench_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct bench_command commands[] = {
    { "ops", "each op at the model shapes against the raw oneDNN matmul peaks", drift_bench_ops },
    { "cache", "cache policies: speed, evaluations, quality against the KV cache alone", drift_bench_cache },
    { "stream", "frames per second and real-time factor of the default models", drift_bench_stream },
    { "peers", "drift's side of tools/peers/bench-peers.sh (vs PyTorch and ONNX Runtime)", drift_bench_peers },
#ifdef DRIFT_BENCH_HAVE_MEDIA
    { "media", "encode + mux time per frame at several sizes", drift_bench_media },
#endif
};

static void usage(FILE *out)
{
    fprintf(out, "usage: drift-bench COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "drift-bench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
