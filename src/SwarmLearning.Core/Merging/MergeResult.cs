using SwarmLearning.Merging.Robust;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging;

/// <summary>What a merge did.</summary>
public sealed record MergeResult
{
    /// <summary>The method used.</summary>
    public required MergeMethod Method { get; init; }

    /// <summary>The output's tensors.</summary>
    public required IReadOnlyList<TensorInfo> Tensors { get; init; }

    /// <summary>Number of inputs given.</summary>
    public required int InputCount { get; init; }

    /// <summary>Indices (into the given inputs) of those with positive weight, which took part.</summary>
    public required IReadOnlyList<int> Participants { get; init; }

    /// <summary>Elements merged per model (frozen tensors excluded).</summary>
    public required long MergedElements { get; init; }

    /// <summary>Wall-clock time of the merge.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary><c>geomedian</c>: the solver's outcome (coefficients indexed like <see cref="Participants"/>).</summary>
    public GeoMedianSolution? GeoMedian { get; init; }

    /// <summary><c>krum</c>: scores and selection (indexed like <see cref="Participants"/>).</summary>
    public KrumSelection? Krum { get; init; }

    /// <summary><c>krum</c>: the f used.</summary>
    public int? ByzantineCount { get; init; }

    /// <summary><c>trimmedmean</c>: values dropped from each end per coordinate.</summary>
    public int? TrimmedPerSide { get; init; }
}

/// <summary>Progress of a merge: which pass and how far into it.</summary>
/// <param name="Phase">"distances" (krum, geomedian) or "merge".</param>
/// <param name="Done">Elements per model processed in this phase.</param>
/// <param name="Total">Elements per model in this phase.</param>
public readonly record struct MergeProgress(string Phase, long Done, long Total);
