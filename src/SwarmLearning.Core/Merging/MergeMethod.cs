namespace SwarmLearning.Merging;

/// <summary>How a round's models are merged. Names follow HPE Swarm Learning's <c>mergeMethod</c> where it has them.</summary>
public enum MergeMethod
{
    /// <summary>Weighted mean: Σ wᵢxᵢ / Σ wᵢ.</summary>
    Mean,

    /// <summary>Weighted median of each coordinate.</summary>
    CoordMedian,

    /// <summary>Weighted geometric median of the whole model (Weiszfeld).</summary>
    GeoMedian,

    /// <summary>Per coordinate, drop the ⌊β·n⌋ smallest and largest values and average the rest.</summary>
    TrimmedMean,

    /// <summary>The model (or m models) closest to its n − f − 2 nearest neighbours.</summary>
    Krum,
}

/// <summary>Names of merge methods as users type them.</summary>
public static class MergeMethods
{
    /// <summary>All methods with their names.</summary>
    public static IReadOnlyList<(MergeMethod Method, string Name)> All { get; } =
    [
        (MergeMethod.Mean, "mean"),
        (MergeMethod.CoordMedian, "coordmedian"),
        (MergeMethod.GeoMedian, "geomedian"),
        (MergeMethod.TrimmedMean, "trimmedmean"),
        (MergeMethod.Krum, "krum"),
    ];

    /// <summary>The lowercase name ("mean", "coordmedian", …).</summary>
    public static string ToName(this MergeMethod method) =>
        All.First(m => m.Method == method).Name;

    /// <summary>Parses a name, case-insensitively (as HPE does).</summary>
    public static bool TryParse(string? name, out MergeMethod method)
    {
        foreach (var (m, n) in All)
        {
            if (string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                method = m;
                return true;
            }
        }

        method = default;
        return false;
    }
}
