namespace SwarmLearning.Fuzz.Harness;

/// <summary>How long a run goes on and what counts as a finding.</summary>
internal sealed record FuzzOptions
{
    /// <summary>The run's seed: input i is made by a generator seeded from (seed, i), so a run is repeatable.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The index of the first input (to regenerate one input of an earlier run).</summary>
    public long StartIndex { get; init; }

    /// <summary>Stop after this many inputs (the CI run); null for no limit.</summary>
    public long? MaxInputs { get; init; }

    /// <summary>Stop after this long (the script's runs); null for no limit.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>An input that takes longer than this is a hang. Normal inputs take well under a millisecond.</summary>
    public TimeSpan InputTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>An input may allocate at most this many bytes per input byte, plus <see cref="AllocationSlackBytes"/>.</summary>
    public long AllocationFactor { get; init; } = 64;

    /// <summary>The allocation allowed whatever the input's size: buffers, messages, the parsed objects.</summary>
    public long AllocationSlackBytes { get; init; } = 1 << 20;

    /// <summary>Where findings are written (input and reason); null keeps them in memory only.</summary>
    public string? FindingsDirectory { get; init; }

    /// <summary>Stop once this many distinct findings are known.</summary>
    public int MaxDistinctFindings { get; init; } = 20;

    /// <summary>Stop once this many hung inputs hold a worker thread (a hung thread cannot be stopped, only left).</summary>
    public int MaxAbandonedWorkers { get; init; } = 3;

    /// <summary>Called about once a second with the inputs tried so far.</summary>
    public Action<FuzzProgress>? Progress { get; init; }

    /// <summary>The allocation bound for an input of <paramref name="inputLength"/> bytes.</summary>
    public long AllocationBound(int inputLength) => (AllocationFactor * inputLength) + AllocationSlackBytes;
}

/// <summary>A progress report.</summary>
internal readonly record struct FuzzProgress(string Target, long Inputs, TimeSpan Elapsed, int Findings);
