using System.Buffers;
using System.Diagnostics;

namespace SwarmLearning.Ledger.Storage;

/// <summary>Writing: durable appends with group commit, rollback of a failed write, truncation.</summary>
public sealed partial class BlockStore
{
    /// <summary>
    /// Appends one record and completes when it is on disk (written and fsync'd). The token cancels only the wait
    /// for an earlier append to finish: once this append's write starts, it runs to the end.
    /// </summary>
    public ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default) =>
        AppendAsync([record], cancellationToken);

    /// <summary>
    /// Appends records in order, with one fsync for all of them (group commit), and completes when they are all on
    /// disk. After a crash, a prefix of an unacknowledged batch may survive, never a part of one record.
    /// </summary>
    public async ValueTask AppendAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Length > StoreFormat.MaxRecordLength)
            {
                var which = records.Count == 1 ? "the record" : $"record {i} of the batch";
                throw new ArgumentException(
                    $"{which} is {records[i].Length} bytes, over the {StoreFormat.MaxRecordLength}-byte ({StoreFormat.MaxRecordLength >> 20} MiB) limit of a ledger record; nothing was stored",
                    nameof(records));
            }
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        if (records.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_fault is not null)
            {
                throw new SwarmException(_fault);
            }

            // Only this writer moves the tail, so it can be read without the index lock.
            var start = _tail;

            // The write and the fsync block for milliseconds: run them off the caller's thread.
            var (offsets, end) = await Task.Run(() => WriteDurably(records, start), CancellationToken.None).ConfigureAwait(false);
            _indexLock.EnterWriteLock();
            try
            {
                _offsets.AddRange(offsets);
                _tail = end;
                Volatile.Write(ref _count, _offsets.Count);
            }
            finally
            {
                _indexLock.ExitWriteLock();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Drops the records at <paramref name="height"/> and above (the chain found a bad block in an unverified tail,
    /// or a follower must resync); the shorter file is fsync'd before this returns.
    /// </summary>
    public void TruncateFrom(long height)
    {
        _writeLock.Wait();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_fault is not null)
            {
                throw new SwarmException(_fault);
            }

            var count = _offsets.Count;
            if (height < 0 || height > count)
            {
                throw new ArgumentOutOfRangeException(nameof(height), height, $"the store holds heights 0 to {count - 1}; truncation can start at 0 to {count}");
            }

            if (height == count)
            {
                return;
            }

            _indexLock.EnterWriteLock();
            try
            {
                var cut = _offsets[(int)height];
                try
                {
                    RandomAccess.SetLength(_handle, cut);
                }
                catch (IOException e)
                {
                    throw new SwarmException($"{Path}: cannot drop the records from height {height} on: {e.Message}; the store is unchanged", e);
                }

                _offsets.RemoveRange((int)height, count - (int)height);
                _tail = cut;
                Volatile.Write(ref _count, _offsets.Count);
                try
                {
                    RandomAccess.FlushToDisk(_handle);
                }
                catch (IOException e)
                {
                    _fault = $"{Path}: the fsync after dropping the records from height {height} on failed ({e.Message}), so what is on disk is uncertain; the store takes no more writes: restart the SN";
                    throw new SwarmException(_fault, e);
                }
            }
            finally
            {
                _indexLock.ExitWriteLock();
            }

            Log.Truncated(_logger, Path, height, count - height);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private (long[] Offsets, long End) WriteDurably(IReadOnlyList<ReadOnlyMemory<byte>> records, long start)
    {
        var offsets = new long[records.Count];
        var position = start;
        long bytes = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var first = 0;
            while (first < records.Count)
            {
                // As many whole records as fit in a chunk, and always at least one.
                var size = StoreFormat.FrameLength(records[first].Length);
                var next = first + 1;
                while (next < records.Count && size + StoreFormat.FrameLength(records[next].Length) <= WriteChunkSize)
                {
                    size += StoreFormat.FrameLength(records[next].Length);
                    next++;
                }

                var buffer = ArrayPool<byte>.Shared.Rent((int)size);
                try
                {
                    var used = 0;
                    for (var i = first; i < next; i++)
                    {
                        offsets[i] = position + used;
                        used += StoreFormat.WriteFrame(buffer.AsSpan(used), records[i].Span);
                    }

                    RandomAccess.Write(_handle, buffer.AsSpan(0, used), position);
                    position += used;
                    bytes += used;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                first = next;
            }

            BeforeFlushForTesting?.Invoke();
            var flushStarted = Stopwatch.GetTimestamp();
            RandomAccess.FlushToDisk(_handle);
            StoreMetrics.Fsync.Record(Stopwatch.GetElapsedTime(flushStarted).TotalSeconds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw RollBack(records.Count, start, e);
        }

        StoreMetrics.Append.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        StoreMetrics.Records.Add(records.Count);
        StoreMetrics.Bytes.Add(bytes);
        return (offsets, position);
    }

    // A failed write or fsync may have left part of the batch in the file (or in the page cache, to be written
    // later): cut the file back to the last acknowledged record so that it never holds a half record, and say
    // that the append was not stored. The fsync is not retried: after a failed fsync Linux may already have
    // dropped the dirty pages, so a second fsync that succeeds would prove nothing.
    private SwarmException RollBack(int records, long start, Exception cause)
    {
        var height = Count;
        try
        {
            RandomAccess.SetLength(_handle, start);
            RandomAccess.FlushToDisk(_handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _fault = $"{Path}: appending {records} record(s) at height {height} failed ({cause.Message}), and cutting the file back to its last acknowledged record failed too ({e.Message}); the store takes no more writes: fix the disk under {_directory} and restart the SN, which cuts the partial record when it reopens the store";
            Log.AppendFailed(_logger, Path, height, records, cause.Message, $"Cutting the file back to its last acknowledged record failed too ({e.Message}): the store takes no more writes until the SN restarts.", cause);
            return new SwarmException(_fault, new AggregateException(cause, e));
        }

        var message = $"{Path}: appending {records} record(s) at height {height} failed: {cause.Message}. The append was not stored (the file was cut back to its last acknowledged record); free space on, or repair, the disk under {_directory} before retrying";
        Log.AppendFailed(_logger, Path, height, records, cause.Message, "It was not stored: the file was cut back to its last acknowledged record.", cause);
        return new SwarmException(message, cause);
    }
}
