using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SwarmLearning.Benchmarks.Infrastructure;

/// <summary>A benchmark that knows how many bytes of input one operation reads, given its parameters.</summary>
public interface IThroughputBenchmark
{
    /// <summary>Bytes of input one invocation of the benchmark method reads (from the parameters alone).</summary>
    long InputBytesPerOperation { get; }
}

/// <summary>
/// "GB/s": input bytes per operation divided by the mean time, in 10⁹ bytes per second (STREAM's unit), so the
/// kernels and merges read directly against the machine's memory bandwidth.
/// </summary>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "GB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Input bytes read per operation / mean time, in 10^9 bytes per second";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        var bytes = InputBytes(benchmarkCase);
        if (statistics is null || bytes is null || statistics.Mean <= 0)
        {
            return "NA";
        }

        // Mean is in nanoseconds, so bytes per nanosecond is already 10⁹ bytes per second.
        return (bytes.Value / statistics.Mean).ToString("F2", CultureInfo.InvariantCulture);
    }

    public override string ToString() => ColumnName;

    /// <summary>Builds an instance of the benchmark class with the case's parameters and asks it.</summary>
    private static long? InputBytes(BenchmarkCase benchmarkCase)
    {
        var type = benchmarkCase.Descriptor.Type;
        if (!typeof(IThroughputBenchmark).IsAssignableFrom(type) || Activator.CreateInstance(type) is not IThroughputBenchmark instance)
        {
            return null;
        }

        foreach (var parameter in benchmarkCase.Parameters.Items)
        {
            type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
            type.GetField(parameter.Name)?.SetValue(instance, parameter.Value);
        }

        return instance.InputBytesPerOperation;
    }
}
