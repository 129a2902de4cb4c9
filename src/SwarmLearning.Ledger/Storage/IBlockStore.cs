namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// Where a chain keeps its blocks: record i is the encoded block of height i. <see cref="BlockStore"/> is the durable
/// one every SN uses; <see cref="MemoryBlockStore"/> serves the simulation, where nothing must survive the process.
/// </summary>
public interface IBlockStore : IAsyncDisposable, IDisposable
{
    /// <summary>The number of records: the next height.</summary>
    long Count { get; }

    /// <summary>What opening found (a torn tail cut, or clean).</summary>
    StoreRecovery Recovery { get; }

    /// <summary>Appends one record; durable when the task completes.</summary>
    ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default);

    /// <summary>Appends records in order; all durable when the task completes.</summary>
    ValueTask AppendAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken = default);

    /// <summary>The record of one height.</summary>
    byte[] Read(long height);

    /// <summary>The records from a height on, in order.</summary>
    IEnumerable<(long Height, byte[] Record)> ReadFrom(long height);

    /// <summary>Drops the records from a height on.</summary>
    void TruncateFrom(long height);
}

/// <summary>A block store in memory, for the simulation: the same contract as <see cref="BlockStore"/>, nothing on disk.</summary>
public sealed class MemoryBlockStore : IBlockStore
{
    private readonly List<byte[]> _records = [];
    private readonly Lock _lock = new();

    /// <inheritdoc/>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _records.Count;
            }
        }
    }

    /// <inheritdoc/>
    public StoreRecovery Recovery => StoreRecovery.Clean;

    /// <inheritdoc/>
    public ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _records.Add(record.ToArray());
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask AppendAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        lock (_lock)
        {
            _records.AddRange(records.Select(r => r.ToArray()));
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public byte[] Read(long height)
    {
        lock (_lock)
        {
            return (byte[])_records[checked((int)height)].Clone();
        }
    }

    /// <inheritdoc/>
    public IEnumerable<(long Height, byte[] Record)> ReadFrom(long height)
    {
        for (var h = height; h < Count; h++)
        {
            yield return (h, Read(h));
        }
    }

    /// <inheritdoc/>
    public void TruncateFrom(long height)
    {
        lock (_lock)
        {
            if (height < _records.Count)
            {
                _records.RemoveRange(checked((int)height), _records.Count - (int)height);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
