int drift_bench_ops(int argc, char **argv) { (void)argc; (void)argv; return 0; }
