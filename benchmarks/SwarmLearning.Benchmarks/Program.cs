using BenchmarkDotNet.Running;

namespace SwarmLearning.Benchmarks;

/// <summary>Runs the BenchmarkDotNet suites of this assembly; pass <c>--filter</c> to choose.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
