using BenchmarkDotNet.Running;
using SwarmLearning.Benchmarks.Compare;

namespace SwarmLearning.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites of this assembly (pass <c>--filter</c> to choose), or with <c>compare</c> as the
/// first argument the merge harness that <c>benchmarks/compare/merge_compare.py</c> drives.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == "compare")
        {
            return CompareHarness.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
