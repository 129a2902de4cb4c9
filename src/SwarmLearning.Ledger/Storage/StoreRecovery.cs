namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// What <see cref="BlockStore.Open"/> had to repair: the torn tail of a write a crash cut short, or nothing. Only
/// records that were never acknowledged can be in a torn tail, since an append completes after its fsync.
/// </summary>
public sealed class StoreRecovery
{
    /// <summary>A store that opened with nothing to repair.</summary>
    public static StoreRecovery Clean { get; } = new(0, -1, -1, null);

    internal StoreRecovery(long tornBytesCut, long tornOffset, long tornHeight, string? problem)
    {
        TornBytesCut = tornBytesCut;
        TornOffset = tornOffset;
        TornHeight = tornHeight;
        Problem = problem;
    }

    /// <summary>True when no torn tail was found.</summary>
    public bool IsClean => TornBytesCut == 0;

    /// <summary>Bytes cut from the end of the file (0 when clean).</summary>
    public long TornBytesCut { get; }

    /// <summary>Partial records cut: 1 when a torn tail was cut (a single writer tears at most its last write), else 0.</summary>
    public int TornRecords => IsClean ? 0 : 1;

    /// <summary>The byte offset the file was cut at, which is its length now (-1 when clean).</summary>
    public long TornOffset { get; }

    /// <summary>The height the torn record would have had (-1 when clean).</summary>
    public long TornHeight { get; }

    /// <summary>What was wrong with the torn record, for the log (null when clean).</summary>
    public string? Problem { get; }

    /// <inheritdoc/>
    public override string ToString() => IsClean
        ? "clean"
        : $"cut a torn tail of {TornBytesCut} byte(s) at offset {TornOffset} (height {TornHeight}: {Problem})";
}
