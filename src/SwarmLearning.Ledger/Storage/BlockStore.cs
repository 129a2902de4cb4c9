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
public sealed partial class BlockStore : IBlockStore
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

    private static string Remedy(string directory) =>
        $"The SN will not run on a damaged chain: {RemedyTail(directory)}";

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Opened the block store {Path}: {Records} record(s), {Bytes} bytes, checked in {Milliseconds:0.0} ms")]
        public static partial void Opened(ILogger logger, string path, long records, long bytes, double milliseconds);

        [LoggerMessage(2, LogLevel.Warning, "Cut a torn tail of {Bytes} byte(s) from {Path} at offset {Offset}, where the record of height {Height} was incomplete or failed its checksum ({Problem}): a crash during a write leaves such a tail")]
        public static partial void TornTailCut(ILogger logger, string path, long bytes, long offset, long height, string problem);

        [LoggerMessage(3, LogLevel.Error, "Appending {Records} record(s) at height {Height} to {Path} failed: {Reason}. {Outcome}")]
        public static partial void AppendFailed(ILogger logger, string path, long height, int records, string reason, string outcome, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Dropped {Records} record(s) from height {Height} on from {Path}")]
        public static partial void Truncated(ILogger logger, string path, long height, long records);

        [LoggerMessage(5, LogLevel.Information, "Created the block store {Path}")]
        public static partial void Created(ILogger logger, string path);

        [LoggerMessage(6, LogLevel.Warning, "Could not fsync the directory {Directory}: the file system does not support it, so a power loss right after the store's creation may lose the new file")]
        public static partial void DirectoryNotSynced(ILogger logger, string directory);
    }
}
