namespace SwarmLearning.Merging;

/// <summary>How to merge. Defaults follow <c>docs/merge-methods.md</c>.</summary>
public sealed record MergeOptions
{
    /// <summary>The method; <see cref="MergeMethod.Mean"/> by default (HPE's default).</summary>
    public MergeMethod Method { get; init; } = MergeMethod.Mean;

    /// <summary><c>trimmedmean</c>: the fraction β trimmed from each end, in [0, 0.5). Default 0.1.</summary>
    public double TrimFraction { get; init; } = 0.1;

    /// <summary>
    /// <c>krum</c>: the number f of Byzantine models to tolerate. Null means the largest f with n ≥ 2f + 3
    /// (Krum's assumption), at least 0.
    /// </summary>
    public int? ByzantineCount { get; init; }

    /// <summary>Krum's default f for <paramref name="n"/> models: the largest f with n ≥ 2f + 3, at least 0.</summary>
    public static int DefaultByzantineCount(int n) => Math.Max(0, (n - 3) / 2);

    /// <summary><c>krum</c>: how many of the lowest-scored models to average (m; 1 is plain Krum).</summary>
    public int KrumSelect { get; init; } = 1;

    /// <summary><c>geomedian</c>: the iteration cap. Default 100.</summary>
    public int GeoMedianMaxIterations { get; init; } = 100;

    /// <summary><c>geomedian</c>: stop when a step moves less than this times the inputs' spread. Default 1e-6.</summary>
    public double GeoMedianTolerance { get; init; } = 1e-6;

    /// <summary>Tensors that are not merged (frozen layers): they pass through from the first input.</summary>
    public IReadOnlySet<string> FrozenTensors { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Worker threads; default all cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Output elements computed between two writes to the sink: with the per-worker blocks, this bounds the memory
    /// a merge uses whatever the model size or the number of inputs. Default 1 Mi elements (4 MiB). A merge into an
    /// in-memory model needs no window buffer and schedules batches of at least 16 Mi elements instead.
    /// </summary>
    public int WindowElements { get; init; } = 1 << 20;

    /// <summary>Vector width of the kernels; for tests and benchmarks.</summary>
    internal Kernels.KernelWidth KernelWidth { get; init; } = Kernels.KernelWidth.Auto;
}
