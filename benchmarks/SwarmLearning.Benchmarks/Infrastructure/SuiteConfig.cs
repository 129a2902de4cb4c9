using BenchmarkDotNet.Configs;

namespace SwarmLearning.Benchmarks.Infrastructure;

/// <summary>What every suite shares: the throughput column next to BenchmarkDotNet's defaults.</summary>
public sealed class SuiteConfig : ManualConfig
{
    /// <summary>Adds the GB/s column.</summary>
    public SuiteConfig() => AddColumn(new ThroughputColumn());
}
