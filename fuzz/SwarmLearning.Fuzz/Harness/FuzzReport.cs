namespace SwarmLearning.Fuzz.Harness;

/// <summary>What a run did: inputs tried, how the parser answered, and the distinct findings.</summary>
internal sealed record FuzzReport
{
    public required string Target { get; init; }

    public required ulong Seed { get; init; }

    /// <summary>Inputs tried (generated and parsed), not counting the corpus warm-up.</summary>
    public required long Inputs { get; init; }

    /// <summary>Inputs the parser accepted.</summary>
    public required long Accepted { get; init; }

    /// <summary>Inputs the parser refused with its documented exception.</summary>
    public required long Refused { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary>Distinct findings (one per exception type and throwing frame, or per kind for hangs and allocations).</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }

    /// <summary>Inputs that were findings, distinct or not.</summary>
    public required long FindingInputs { get; init; }

    /// <summary>The slowest input that finished, in milliseconds.</summary>
    public required double SlowestInputMilliseconds { get; init; }

    /// <summary>The largest ratio of bytes allocated to the input's size plus the slack, over inputs that finished.</summary>
    public required double MaxAllocationOfBound { get; init; }

    /// <summary>The input that came closest to the allocation bound, and what it allocated.</summary>
    public required long MaxAllocationIndex { get; init; }

    public required long MaxAllocationBytes { get; init; }

    public double InputsPerSecond => Elapsed.TotalSeconds > 0 ? Inputs / Elapsed.TotalSeconds : 0;
}
