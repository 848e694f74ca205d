/* drift-bench subcommands: each takes (argc, argv) from its own name on and returns an exit code. */
#ifndef DRIFT_BENCH_H
#define DRIFT_BENCH_H

int drift_bench_ops(int argc, char **argv);
int drift_bench_media(int argc, char **argv);
int drift_bench_cache(int argc, char **argv);
int drift_bench_stream(int argc, char **argv);
int drift_bench_peers(int argc, char **argv);

#endif
