using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SwarmLearning.Benchmarks.Infrastructure;

/// <summary>A benchmark that knows how much work one operation does (floating-point operations, samples), given its parameters.</summary>
public interface IRateBenchmark
{
    /// <summary>Units of work per invocation of the benchmark method.</summary>
    double WorkPerOperation { get; }
}

/// <summary>
/// Work per operation divided by the mean time, scaled and named by the suite (GFLOP/s, samples/s): the figure
/// to hold against the machine's peak or against PyTorch.
/// </summary>
internal sealed class RateColumn(string name, double scale) : IColumn
{
    public string Id => nameof(RateColumn) + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Work per operation / mean time, in {name}";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        var type = benchmarkCase.Descriptor.Type;
        if (statistics is null || statistics.Mean <= 0 || Activator.CreateInstance(type) is not IRateBenchmark instance)
        {
            return "NA";
        }

        foreach (var parameter in benchmarkCase.Parameters.Items)
        {
            type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
        }

        // Mean is in nanoseconds.
        return (instance.WorkPerOperation / (statistics.Mean * 1e-9) / scale).ToString("N1", CultureInfo.InvariantCulture);
    }

    public override string ToString() => ColumnName;
}

/// <summary>Adds a GFLOP/s column.</summary>
public sealed class FlopsConfig : BenchmarkDotNet.Configs.ManualConfig
{
    /// <summary>Creates the config.</summary>
    public FlopsConfig() => AddColumn(new RateColumn("GFLOP/s", 1e9));
}

/// <summary>Adds a samples/s column.</summary>
public sealed class SamplesConfig : BenchmarkDotNet.Configs.ManualConfig
{
    /// <summary>Creates the config.</summary>
    public SamplesConfig() => AddColumn(new RateColumn("samples/s", 1));
}
