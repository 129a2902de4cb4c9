using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// One SN's copy of the ledger: the verified blocks on disk, the contract state after the last one, recent blocks and
/// events in memory, and a way to wait for the chain to grow. Opening re-verifies the whole stored chain; a block that
/// fails (edited on disk, forged) stops the SN with the first bad height.
/// </summary>
/// <remarks>
/// One writer at a time (appends are serialized); readers see immutable snapshots: a committed state is never changed
/// again, the next block's state is a new object.
/// </remarks>
public sealed partial class LedgerChain : IAsyncDisposable
{
    private const int CachedBlocks = 4096;
    private const int RetainedEvents = 20_000;

    private readonly IBlockStore _store;
    private readonly ChainVerifier _verifier = new();
    private readonly SwarmTrust? _localTrust;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _readLock = new();
    private readonly Dictionary<long, Block> _recent = [];
    private readonly Queue<LedgerEvent> _events = new();
    private ChainHead? _head;
    private TaskCompletionSource _grown = NewSignal();
    private int _disposed;

    private LedgerChain(IBlockStore store, SwarmTrust? localTrust, ILogger logger)
    {
        _store = store;
        _localTrust = localTrust;
        _logger = logger;
    }

    /// <summary>The directory holding the chain.</summary>
    public string Directory { get; private init; } = "";

    /// <summary>The height of the last block, or -1 before genesis.</summary>
    public long Height => _head?.Block.Height ?? -1;

    /// <summary>The contract state after the last block, or null before genesis. Do not modify it.</summary>
    public LedgerState? State => _head?.State;

    /// <summary>The last block, or null before genesis.</summary>
    public Block? Head => _head?.Block;

    /// <summary>The genesis block's chain id (the genesis transaction id), or empty before genesis.</summary>
    public ReadOnlyMemory<byte> ChainId => _head?.State.ChainId ?? ReadOnlyMemory<byte>.Empty;

    /// <summary>What opening found: blocks replayed and any torn tail cut.</summary>
    public StoreRecovery Recovery => _store.Recovery;

    /// <summary>
    /// Opens the chain in <paramref name="directory"/> (creating it if absent) and verifies every stored block.
    /// </summary>
    /// <param name="directory">The SN's ledger directory.</param>
    /// <param name="localTrust">This node's CA: a genesis that trusts none of it is refused. Null skips the check.</param>
    /// <param name="logger">Where to log.</param>
    public static LedgerChain Open(string directory, SwarmTrust? localTrust = null, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        var store = BlockStore.Open(directory, logger);
        var chain = new LedgerChain(store, localTrust, logger) { Directory = directory };
        try
        {
            chain.Replay();
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return chain;
    }

    /// <summary>A chain kept in memory only, for the simulation: verified like any other, gone with the process.</summary>
    public static LedgerChain CreateInMemory(SwarmTrust? localTrust = null, ILogger? logger = null) =>
        new(new MemoryBlockStore(), localTrust, logger ?? NullLogger.Instance) { Directory = "(memory)" };

    private void Replay()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var (height, record) in _store.ReadFrom(0))
        {
            Block block;
            try
            {
                block = Block.Decode(record);
                var (state, events) = height == 0 ? ChainVerifier.VerifyGenesis(block, _localTrust) : _verifier.Verify(_head!.State, _head.Block.Hash.Span, block);
                if (block.Height != height)
                {
                    throw new BlockRejectedException(height, $"block {height} refused: it says it is block {block.Height}");
                }

                Publish(block, state, events);
            }
            catch (SwarmException e) when (e is BlockRejectedException or Serialization.LedgerFormatException)
            {
                throw new LedgerCorruptException(height, Directory,
                    $"the stored chain in {Directory} is invalid at height {height}: {e.Message}. The SN refuses to start on a modified ledger: restore the directory from a backup, or, on a follower SN, delete it to resync from its peers (the sentinel cannot resync: in the embedded mode restore its directory).", e);
            }
        }

        if (_head is not null)
        {
            Log.Replayed(_logger, _head.Block.Height + 1, Directory, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>Verifies a block from elsewhere (the orderer, a peer) and appends it durably.</summary>
    public async Task AppendAsync(Block block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(block);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var head = _head;
            var (state, events) = head is null ? ChainVerifier.VerifyGenesis(block, _localTrust) : _verifier.Verify(head.State, head.Block.Hash.Span, block);
            await _store.AppendAsync(block.Encoded, cancellationToken).ConfigureAwait(false);
            Publish(block, state, events);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Appends blocks the local orderer built and verified itself (their state and events computed while building),
    /// all with one fsync. Each must follow the previous.
    /// </summary>
    internal async Task CommitAsync(IReadOnlyList<(Block Block, LedgerState State, List<LedgerEvent> Events)> blocks, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var expected = Height + 1;
            foreach (var (block, _, _) in blocks)
            {
                if (block.Height != expected++)
                {
                    throw new InvalidOperationException($"block {block.Height} does not follow height {expected - 2}");
                }
            }

            await _store.AppendAsync(blocks.Select(b => b.Block.Encoded).ToList(), cancellationToken).ConfigureAwait(false);
            foreach (var (block, state, events) in blocks)
            {
                Publish(block, state, events);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>A block by height, from memory when recent, else from disk.</summary>
    public Block GetBlock(long height)
    {
        if (height < 0 || height > Height)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, $"the chain has blocks 0 to {Height}");
        }

        lock (_readLock)
        {
            if (_recent.TryGetValue(height, out var block))
            {
                return block;
            }
        }

        return Block.Decode(_store.Read(height));
    }

    /// <summary>
    /// The events of blocks from <paramref name="fromHeight"/> on, as far as they are retained in memory: about
    /// <paramref name="max"/>, in whole blocks (the last block's events are all included, even past the limit), so that a
    /// reader who goes on from the last height + 1 misses none.
    /// </summary>
    public IReadOnlyList<LedgerEvent> EventsFrom(long fromHeight, int max = 1000)
    {
        lock (_readLock)
        {
            var result = new List<LedgerEvent>();
            foreach (var e in _events)
            {
                if (e.Height < fromHeight)
                {
                    continue;
                }

                if (result.Count >= max && e.Height != result[^1].Height)
                {
                    break;
                }

                result.Add(e);
            }

            return result;
        }
    }

    /// <summary>Completes when the chain is higher than <paramref name="height"/>, or the token fires.</summary>
    public async Task WaitForHeightAsync(long height, CancellationToken cancellationToken)
    {
        while (Height < height)
        {
            Task signal;
            lock (_readLock)
            {
                signal = _grown.Task;
            }

            if (Height >= height)
            {
                return;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Drops blocks from <paramref name="height"/> on (a follower resyncing), and rebuilds the state by replay.</summary>
    internal async Task TruncateAsync(long height, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _store.TruncateFrom(height);
            lock (_readLock)
            {
                _recent.Clear();
                _events.Clear();
                _head = null;
            }

            Replay();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Publish(Block block, LedgerState state, List<LedgerEvent> events)
    {
        TaskCompletionSource grown;
        lock (_readLock)
        {
            _head = new ChainHead(block, state);
            _recent[block.Height] = block;
            _recent.Remove(block.Height - CachedBlocks);
            foreach (var e in events)
            {
                _events.Enqueue(e);
            }

            while (_events.Count > RetainedEvents)
            {
                _events.Dequeue();
            }

            grown = _grown;
            _grown = NewSignal();
        }

        grown.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
            _writeLock.Dispose();
        }
    }

    private sealed record ChainHead(Block Block, LedgerState State);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Verified {Blocks} stored block(s) in {Directory} in {Seconds:0.00} s")]
        public static partial void Replayed(ILogger logger, long blocks, string directory, double seconds);
    }
}

/// <summary>A stored chain that fails verification: the SN will not start on it.</summary>
public sealed class LedgerCorruptException : SwarmException
{
    /// <summary>Creates the error.</summary>
    public LedgerCorruptException(long height, string directory, string message, Exception innerException)
        : base(message, innerException)
    {
        Height = height;
        Directory = directory;
    }

    /// <summary>Creates the error with no details; prefer the overload that names the height.</summary>
    public LedgerCorruptException()
    {
    }

    /// <summary>Creates the error with a message.</summary>
    public LedgerCorruptException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a message and cause.</summary>
    public LedgerCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The first bad height.</summary>
    public long Height { get; }

    /// <summary>The ledger directory.</summary>
    public string Directory { get; } = "";
}
