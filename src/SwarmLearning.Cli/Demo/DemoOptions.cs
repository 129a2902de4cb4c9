namespace SwarmLearning.Cli.Demo;

/// <summary>What <c>swarm demo</c> runs: the command line's choices, checked by the command before anything starts.</summary>
internal sealed record DemoOptions
{
    /// <summary>The fewest and most SL node + ML program pairs.</summary>
    public const int MinNodes = 2;

    /// <inheritdoc cref="MinNodes"/>
    public const int MaxNodes = 16;

    /// <summary>The ML programs' batch size (swarm train's default), needed to tell batches per epoch.</summary>
    public const int BatchSize = 64;

    /// <summary>The default sync frequency aims at about this many rounds per epoch on the smallest node.</summary>
    public const int RoundsPerEpoch = 4;

    /// <summary>SL node + ML program pairs.</summary>
    public int Nodes { get; init; } = 4;

    /// <summary>Epochs each ML program trains (and each local-only baseline).</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>HPE's mergeMethod, lowercase.</summary>
    public string MergeMethod { get; init; } = "mean";

    /// <summary>Merge momentum β of every node's session (0: none, HPE's merge).</summary>
    public double MergeMomentum { get; init; }

    /// <summary>mlp or cnn.</summary>
    public string Model { get; init; } = "mlp";

    /// <summary>HPE's syncFrequency; null picks one that gives <see cref="RoundsPerEpoch"/> rounds per epoch.</summary>
    public int? SyncFrequency { get; init; }

    /// <summary>The demo's directory; null makes a fresh one under the temporary directory.</summary>
    public string? Directory { get; init; }

    /// <summary>Each node trains on at most this many of its samples (quick runs); null: all of them.</summary>
    public int? Limit { get; init; }

    /// <summary>Print the summary as JSON, and nothing else.</summary>
    public bool Json { get; init; }

    /// <summary>Keep the directory that the demo made under the temporary directory (one given by --dir is always kept).</summary>
    public bool Keep { get; init; }

    /// <summary>Serve the dashboard while the demo runs (not with <see cref="Json"/>, unless a port is given).</summary>
    public bool Dashboard { get; init; } = true;

    /// <summary>The dashboard's port: null tries SWCI's 30306 and takes a free one if it is busy; 0 takes a free one.</summary>
    public int? DashboardPort { get; init; }

    /// <summary>Whether this run serves the dashboard.</summary>
    public bool ServesDashboard => Dashboard && (!Json || DashboardPort is not null);

    /// <summary>The data to split: Debian's Fashion-MNIST.</summary>
    public string Data { get; init; } = "fashion-mnist";

    /// <summary>Seeds the split, the initial weights and the shuffles.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// The sync frequency the demo uses: the one given, or a quarter of an epoch of the smallest node, so that every node
    /// syncs a few times per epoch.
    /// </summary>
    public int EffectiveSyncFrequency(int smallestNodeSamples) =>
        SyncFrequency ?? Math.Max(1, BatchesPerEpoch(smallestNodeSamples) / RoundsPerEpoch);

    /// <summary>The samples a node trains on, after <see cref="Limit"/>.</summary>
    public int TrainedSamples(int nodeSamples) => Limit is { } limit ? Math.Min(limit, nodeSamples) : nodeSamples;

    /// <summary>Batches of one epoch of a node with <paramref name="nodeSamples"/> samples (before the limit).</summary>
    public int BatchesPerEpoch(int nodeSamples) => (TrainedSamples(nodeSamples) + BatchSize - 1) / BatchSize;
}
