/* drift-peers: `drift-bench peers` built on its own, for when drift-bench does not register the
 * subcommand yet (tools/peers/bench-peers.sh builds it with the engine's library). */
int drift_bench_peers(int argc, char **argv);

int main(int argc, char **argv)
{
    return drift_bench_peers(argc, argv);
}
