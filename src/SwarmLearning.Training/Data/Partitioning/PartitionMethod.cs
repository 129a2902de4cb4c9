namespace SwarmLearning.Training.Data.Partitioning;

/// <summary>How a training set is divided among nodes; see <see cref="Partitioner"/> for the exact definitions.</summary>
public enum PartitionMethod
{
    /// <summary>Shuffled and dealt in equal shares: every node sees the global class mix.</summary>
    Iid,

    /// <summary>Each class split among nodes by proportions drawn from Dir(α): the standard non-IID benchmark.</summary>
    Dirichlet,

    /// <summary>Each node favours 3–4 classes, of which it gets three times the share of the others (HPE's setup).</summary>
    Biased,
}

/// <summary>Names of <see cref="PartitionMethod"/>: <c>iid</c>, <c>dirichlet</c>, <c>biased</c>.</summary>
public static class PartitionMethods
{
    /// <summary>Every method.</summary>
    public static IReadOnlyList<PartitionMethod> All { get; } = [PartitionMethod.Iid, PartitionMethod.Dirichlet, PartitionMethod.Biased];

    /// <summary>The method's name as the command line and <c>partition.json</c> write it.</summary>
    public static string ToName(this PartitionMethod method) => method switch
    {
        PartitionMethod.Iid => "iid",
        PartitionMethod.Dirichlet => "dirichlet",
        PartitionMethod.Biased => "biased",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    /// <summary>Parses a method name, ignoring case.</summary>
    public static bool TryParse(string? name, out PartitionMethod method)
    {
        foreach (var m in All)
        {
            if (string.Equals(name, m.ToName(), StringComparison.OrdinalIgnoreCase))
            {
                method = m;
                return true;
            }
        }

        method = default;
        return false;
    }
}

/// <summary>What to partition with: method, Dirichlet α and seed.</summary>
public sealed record PartitionOptions
{
    /// <summary>The default Dirichlet concentration α.</summary>
    public const double DefaultAlpha = 0.5;

    /// <summary>The default seed.</summary>
    public const ulong DefaultSeed = 42;

    /// <summary>How much more of each favoured class a node gets under <see cref="PartitionMethod.Biased"/>: 3 (1:3).</summary>
    public const int BiasFactor = 3;

    /// <summary>The method; default <see cref="PartitionMethod.Iid"/>.</summary>
    public PartitionMethod Method { get; init; } = PartitionMethod.Iid;

    /// <summary><see cref="PartitionMethod.Dirichlet"/>: the concentration α &gt; 0; small is skewed, large is near uniform.</summary>
    public double Alpha { get; init; } = DefaultAlpha;

    /// <summary>The seed of every random choice.</summary>
    public ulong Seed { get; init; } = DefaultSeed;
}
