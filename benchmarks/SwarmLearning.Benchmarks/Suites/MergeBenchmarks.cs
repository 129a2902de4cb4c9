using BenchmarkDotNet.Attributes;
using SwarmLearning.Benchmarks.Infrastructure;
using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Benchmarks.Suites;

/// <summary>One merge configuration: a method and a number of models.</summary>
/// <param name="Method">The method's name as users type it.</param>
/// <param name="Models">How many models are merged.</param>
public sealed record MergeCase(string Method, int Models)
{
    /// <summary>Shown in BenchmarkDotNet's table, which sorts by this text: hence the zero-padded count.</summary>
    public override string ToString() => $"{Method} n={Models:00}";
}

/// <summary>
/// Whole merges (<see cref="ModelMerger.Merge"/>) of in-memory models of 1M parameters into an in-memory model, for
/// every method and 2, 8 and 32 models. Weights are unequal sample counts for <c>mean</c> and <c>geomedian</c>
/// (their usual use) and equal otherwise (as Flower's median, trimmed mean and Krum ignore them).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SuiteConfig))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class MergeBenchmarks : IThroughputBenchmark
{
    private const long Parameters = 1_000_000;
    private static readonly int[] ModelCounts = [2, 8, 32];
    private MergeInput[] _inputs = [];
    private MergeOptions _options = new();

    /// <summary>The configuration under test.</summary>
    [ParamsSource(nameof(Cases))]
    public MergeCase Case { get; set; } = new("mean", 2);

    /// <summary>Every method at 2, 8 and 32 models, except Krum at 2 (it needs at least 3).</summary>
    public static IEnumerable<MergeCase> Cases() =>
        from method in MergeMethods.All
        from n in ModelCounts
        where method.Method != MergeMethod.Krum || n >= 3
        select new MergeCase(method.Name, n);

    /// <inheritdoc/>
    public long InputBytesPerOperation => Case.Models * Parameters * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        if (!MergeMethods.TryParse(Case.Method, out var method))
        {
            throw new InvalidOperationException($"unknown merge method '{Case.Method}'");
        }

        var weighted = method is MergeMethod.Mean or MergeMethod.GeoMedian;
        var models = SyntheticModels.Create(Case.Models, Parameters);
        _inputs = [.. models.Select((m, i) => new MergeInput(m, weighted ? 100 + (37 * i % 400) : 1))];
        _options = new MergeOptions { Method = method, TrimFraction = 0.2 };
    }

    [Benchmark]
    public TensorModel Merge() => ModelMerger.Merge(_inputs, _options).Model;
}
