using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// The ledger's append-only block store: one file, <c>chain.dat</c>, of checksummed records, where record i holds
/// the encoded block of height i. An append completes only after its bytes are fsync'd; opening the store checks
/// every record, cuts the torn tail a crash mid-write can leave, and refuses a file damaged anywhere else. The
/// store does not know the block format: verifying hashes and signatures is the chain's job above it.
/// </summary>
/// <remarks>
/// One writer at a time (appends and truncations are serialized internally); any number of concurrent readers, who
/// see heights below <see cref="Count"/> only. The file is locked against other processes while the store is open.
/// </remarks>
public sealed partial class BlockStore : IAsyncDisposable, IDisposable
{
    // A batch is copied into pooled buffers of this size (or one record's size, if larger) and written with one
    // positional write per buffer; the fsync after the last write covers them all.
    private const int WriteChunkSize = 4 << 20;

    // ReadFrom reads consecutive records with one system call per run of InitialReadAhead bytes, doubling up
    // to MaxReadAhead as the enumeration goes on.
    private const int InitialReadAhead = 64 << 10;
    private const int MaxReadAhead = 1 << 20;

    private readonly SafeFileHandle _handle;
    private readonly ILogger _logger;
    private readonly string _directory;

    // Serializes appends, truncation and disposal (the writers).
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Guards the index and the handle's lifetime: readers hold it shared for the length of their read, so a
    // truncation or disposal never pulls bytes from under a read in progress.
    private readonly ReaderWriterLockSlim _indexLock = new(LockRecursionPolicy.NoRecursion);
    private readonly List<long> _offsets;
    private long _tail;
    private long _count;
    private string? _fault;
    private bool _disposed;
    private int _disposeStarted;

    private BlockStore(string directory, string path, SafeFileHandle handle, List<long> offsets, long tail, StoreRecovery recovery, ILogger logger)
    {
        _directory = directory;
        Path = path;
        _handle = handle;
        _offsets = offsets;
        _tail = tail;
        _count = offsets.Count;
        Recovery = recovery;
        _logger = logger;
    }

    /// <summary>The store's file, <c>DIRECTORY/chain.dat</c>, as a full path.</summary>
    public string Path { get; }

    /// <summary>The number of records, which is the next height to append.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>What opening the store repaired (<see cref="StoreRecovery.IsClean"/> when nothing).</summary>
    public StoreRecovery Recovery { get; }

    /// <summary>Test hook: runs after a batch is written and before its fsync, to inject a disk error there.</summary>
    internal Action? BeforeFlushForTesting { get; set; }

    /// <summary>
    /// Opens the store in <paramref name="directory"/>, creating the directory and an empty store if absent.
    /// Checks every record; cuts a torn tail (reported in <see cref="Recovery"/>); throws
    /// <see cref="LedgerStoreCorruptException"/> for any other damage, naming the height and byte offset.
    /// </summary>
    /// <param name="directory">The SN's ledger directory.</param>
    /// <param name="logger">Where to log opening, recovery and failures.</param>
    public static BlockStore Open(string directory, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        logger ??= NullLogger.Instance;
        var started = Stopwatch.GetTimestamp();
        var fullDirectory = System.IO.Path.GetFullPath(directory);
        var path = System.IO.Path.Combine(fullDirectory, StoreFormat.FileName);
        var handle = OpenFile(fullDirectory, path, logger);
        try
        {
            var (offsets, tail, recovery) = Scan(handle, path, fullDirectory);
            var store = new BlockStore(fullDirectory, path, handle, offsets, tail, recovery, logger);
            if (!recovery.IsClean)
            {
                Log.TornTailCut(logger, path, recovery.TornBytesCut, recovery.TornOffset, recovery.TornHeight, recovery.Problem ?? "");
            }

            Log.Opened(logger, path, store.Count, tail, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return store;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            handle.Dispose();
            throw new SwarmException($"cannot read the ledger store {path}: {e.Message}", e);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

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
    /// The record at <paramref name="height"/> (below <see cref="Count"/>), read from disk with its checksum checked
    /// again; throws <see cref="LedgerStoreCorruptException"/> if the bytes changed since they were written.
    /// </summary>
    public byte[] Read(long height)
    {
        _indexLock.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (height < 0 || height >= _offsets.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(height), height, $"the store holds heights 0 to {_offsets.Count - 1}");
            }

            var offset = _offsets[(int)height];
            var length = checked((int)(EndOf(height) - offset - StoreFormat.FrameOverhead));
            var payload = new byte[length];
            var frame = new byte[StoreFormat.FrameOverhead];
            var header = frame.AsMemory(0, StoreFormat.RecordHeaderSize);
            var trailer = frame.AsMemory(StoreFormat.RecordHeaderSize);
            var read = RandomAccess.Read(_handle, [header, payload, trailer], offset);
            var problem = read < length + StoreFormat.FrameOverhead
                ? $"the file ends {read} bytes into it, before its {length + StoreFormat.FrameOverhead} bytes"
                : StoreFormat.CheckFrame(header.Span, payload, trailer.Span);
            return problem is null ? payload : throw CorruptOnRead(height, offset, problem);
        }
        finally
        {
            _indexLock.ExitReadLock();
        }
    }

    /// <summary>
    /// The records from <paramref name="height"/> on, in order, each checked as by <see cref="Read"/>: for replay
    /// at start and for replication. Records appended while the sequence is being enumerated are included; it ends
    /// at the first height not yet stored.
    /// </summary>
    public IEnumerable<(long Height, byte[] Record)> ReadFrom(long height)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var count = Count;
        if (height < 0 || height > count)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, $"the store holds heights 0 to {count - 1}; reading can start at 0 to {count}");
        }

        return ReadFromIterator(height);
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

    /// <summary>Waits for an append in progress, then closes the file (and releases its lock). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        _writeLock.Wait();
        try
        {
            Close();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits for an append in progress, then closes the file (and releases its lock). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            Close();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Close()
    {
        _indexLock.EnterWriteLock();
        try
        {
            _disposed = true;
            _handle.Dispose();
        }
        finally
        {
            _indexLock.ExitWriteLock();
        }
    }

    // The end of the record at a height: where the next one starts, or the tail. Call under the index lock.
    private long EndOf(long height) => height + 1 < _offsets.Count ? _offsets[(int)height + 1] : _tail;

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
            Log.AppendFailed(_logger, Path, height, records, _fault, cause);
            return new SwarmException(_fault, new AggregateException(cause, e));
        }

        var message = $"{Path}: appending {records} record(s) at height {height} failed: {cause.Message}. The append was not stored (the file was cut back to its last acknowledged record); free space on, or repair, the disk under {_directory} before retrying";
        Log.AppendFailed(_logger, Path, height, records, message, cause);
        return new SwarmException(message, cause);
    }

    private IEnumerable<(long Height, byte[] Record)> ReadFromIterator(long height)
    {
        // The read-ahead starts small, so that a follower asking for the next few blocks reads little, and doubles
        // up to its maximum, so that a replay from 0 takes one system call per megabyte.
        var readAhead = InitialReadAhead;
        var run = new List<(long Offset, int Start, int Length)>();
        var buffer = Array.Empty<byte>();
        try
        {
            while (true)
            {
                ReadRun(height, readAhead, run, ref buffer);
                if (run.Count == 0)
                {
                    yield break;
                }

                // The bytes are this reader's own now: check and copy each record only as it is asked for.
                foreach (var (offset, start, length) in run)
                {
                    yield return (height, CheckedPayload(height, offset, buffer.AsSpan(start, length)));
                    height++;
                }

                readAhead = Math.Min(readAhead * 2, MaxReadAhead);
            }
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    // Reads the consecutive records from a height that fit in readAhead bytes (at least one) with one positional
    // read, under the index lock so that no truncation can run meanwhile, and lists where each one lies in the buffer.
    private void ReadRun(long height, int readAhead, List<(long Offset, int Start, int Length)> run, ref byte[] buffer)
    {
        run.Clear();
        _indexLock.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (height >= _offsets.Count)
            {
                return;
            }

            var first = _offsets[(int)height];
            var last = height;
            while (last + 1 < _offsets.Count && EndOf(last + 1) - first <= readAhead)
            {
                last++;
            }

            var size = checked((int)(EndOf(last) - first));
            if (buffer.Length < size)
            {
                if (buffer.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                buffer = [];
                buffer = ArrayPool<byte>.Shared.Rent(size);
            }

            var read = 0;
            while (read < size)
            {
                var n = RandomAccess.Read(_handle, buffer.AsSpan(read, size - read), first + read);
                if (n == 0)
                {
                    throw CorruptOnRead(height, first, $"the file ends at byte {first + read}, inside the records indexed from there");
                }

                read += n;
            }

            for (var h = height; h <= last; h++)
            {
                var offset = _offsets[(int)h];
                run.Add((offset, (int)(offset - first), (int)(EndOf(h) - offset)));
            }
        }
        finally
        {
            _indexLock.ExitReadLock();
        }
    }

    private byte[] CheckedPayload(long height, long offset, ReadOnlySpan<byte> frame)
    {
        var problem = StoreFormat.CheckFrame(frame);
        return problem is null
            ? frame[StoreFormat.RecordHeaderSize..^StoreFormat.TrailerSize].ToArray()
            : throw CorruptOnRead(height, offset, problem);
    }

    private LedgerStoreCorruptException CorruptOnRead(long height, long offset, string problem) =>
        new(Path, height, offset,
            $"{Path}: the record at height {height} (byte offset {offset}) changed on disk after it was stored: {problem}. {Remedy(_directory)}");

    private static string Remedy(string directory) =>
        $"The SN will not run on a damaged chain: {RemedyTail(directory)}";

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Opened the block store {Path}: {Records} record(s), {Bytes} bytes, checked in {Milliseconds:0.0} ms")]
        public static partial void Opened(ILogger logger, string path, long records, long bytes, double milliseconds);

        [LoggerMessage(2, LogLevel.Warning, "Cut a torn tail of {Bytes} byte(s) from {Path} at offset {Offset}, where the record of height {Height} was incomplete or failed its checksum ({Problem}): a crash during a write leaves such a tail")]
        public static partial void TornTailCut(ILogger logger, string path, long bytes, long offset, long height, string problem);

        [LoggerMessage(3, LogLevel.Error, "Appending {Records} record(s) at height {Height} to {Path} failed: {Message}")]
        public static partial void AppendFailed(ILogger logger, string path, long height, int records, string message, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Dropped {Records} record(s) from height {Height} on from {Path}")]
        public static partial void Truncated(ILogger logger, string path, long height, long records);

        [LoggerMessage(5, LogLevel.Information, "Created the block store {Path}")]
        public static partial void Created(ILogger logger, string path);

        [LoggerMessage(6, LogLevel.Warning, "Could not fsync the directory {Directory}: the file system does not support it, so a power loss right after the store's creation may lose the new file")]
        public static partial void DirectoryNotSynced(ILogger logger, string directory);
    }
}
