using BenchmarkDotNet.Running;
using SwarmLearning.Benchmarks.Compare;

namespace SwarmLearning.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites of this assembly (pass <c>--filter</c> to choose), or with <c>compare</c> as the
/// first argument the merge harness that <c>benchmarks/compare/merge_compare.py</c> drives, or with <c>ledger-load</c>
/// the ledger load test of three SNs on loopback (<c>benchmarks/ledger/ledger_load.sh</c>), or with
/// <c>round-overhead</c> the round overhead, failover and memory measurement of SL processes (<c>benchmarks/round/round_overhead.sh</c>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == "compare")
        {
            return CompareHarness.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "ledger-load")
        {
            return await Ledger.LedgerLoad.RunAsync(args[1..]).ConfigureAwait(false);
        }

        if (args.Length > 0 && args[0] == "round-overhead")
        {
            return await Round.RoundOverhead.RunAsync(args[1..]).ConfigureAwait(false);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
