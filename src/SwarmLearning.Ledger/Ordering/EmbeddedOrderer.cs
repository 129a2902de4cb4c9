using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Ordering;

/// <summary>
/// The sentinel's orderer: one loop takes every transaction that has arrived, checks each against the contracts on a
/// copy of the state (refusing the bad ones individually), cuts a block, signs it, appends it with one fsync and then
/// answers the submitters. While a block is being written the next batch gathers, so load turns into bigger blocks
/// rather than a queue (group commit). With nothing to order it still cuts an empty block when a time rule is due (a
/// full-quorum wait ending, a leader's heartbeat going stale), so rounds move on in a quiet swarm. Heartbeats alone
/// wait a moment for company (<see cref="HeartbeatLinger"/>): every member heartbeats every second, and a block each
/// would have every replica verify, apply and fsync a block per member per second.
/// </summary>
public sealed partial class EmbeddedOrderer : ITransactionOrderer, IAsyncDisposable
{
    private readonly LedgerChain _chain;
    private readonly IdentityHolder _identity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ContractEngine _engine = new();
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(100_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>Starts ordering onto <paramref name="chain"/>, which must hold a genesis whose orderer is <paramref name="identity"/>.</summary>
    public EmbeddedOrderer(LedgerChain chain, SwarmIdentity identity, TimeProvider? time = null, ILogger? logger = null)
        : this(chain, new IdentityHolder(identity), time, logger)
    {
    }

    /// <summary>
    /// Starts ordering onto <paramref name="chain"/> with the identity <paramref name="identity"/> holds, which must be
    /// the chain's orderer. Each block is signed by whichever of the holder's current and staged identities is the
    /// orderer at that block, so the sentinel keeps cutting blocks across its own certificate rotation.
    /// </summary>
    public EmbeddedOrderer(LedgerChain chain, IdentityHolder identity, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(identity);
        if (chain.State is not { } state)
        {
            throw new InvalidOperationException("the chain has no genesis block yet");
        }

        if (identity.Find(state.Orderer) is null)
        {
            throw new SwarmException($"'{identity.Current.Name}' is not this swarm's orderer: the ledger names {state.Members[state.Orderer].Name} ({state.Orderer.Short}); start this SN without --sentinel, joined to the sentinel");
        }

        _chain = chain;
        _identity = identity;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>The most transactions put in one block.</summary>
    public int MaxBlockTransactions { get; init; } = 2048;

    /// <summary>
    /// How long a batch of nothing but heartbeats waits for more transactions before its block is cut (default 250 ms;
    /// zero cuts at once). Any other transaction, or a time rule falling due, cuts the block at once with the waiting
    /// heartbeats in it. Heartbeats are in no hurry: a member's liveness is recorded at most this much later, against
    /// a member timeout of seconds. Without it a swarm of N members cuts about N blocks a second while idle, and each
    /// replica verifies, applies and stores every one (docs/ledger.md, "Ordering").
    /// </summary>
    public TimeSpan HeartbeatLinger { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc/>
    public async Task<TransactionReceipt> SubmitAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var pending = new Pending(transaction);
        await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var batch = new List<Pending>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var head = _chain.State!;
                var deadline = ContractEngine.NextDeadline(head);
                if (!_queue.Reader.TryPeek(out _))
                {
                    using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    if (deadline is { } d)
                    {
                        var delay = TimeSpan.FromMilliseconds(Math.Max(0, d - Now()));
                        wake.CancelAfter(delay);
                    }

                    try
                    {
                        await _queue.Reader.WaitToReadAsync(wake.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        // A time rule is due: fall through and cut a block, empty if nothing arrived.
                    }
                }

                batch.Clear();
                Take(batch);
                await LingerAsync(batch, deadline, stop).ConfigureAwait(false);
                await OrderAsync(batch, deadline, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                foreach (var p in batch)
                {
                    p.Result.TrySetException(new OperationCanceledException("the orderer stopped before ordering this transaction"));
                }

                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The block was not stored (a disk error): its submitters learn it, the state stays at the last
                // committed block, and the loop goes on with the next batch.
                Log.BlockFailed(_logger, e.Message, e);
                foreach (var p in batch)
                {
                    p.Result.TrySetException(new SwarmException($"the sentinel could not store the block for {p.Transaction}: {e.Message}", e));
                }
            }
        }

        while (_queue.Reader.TryRead(out var left))
        {
            left.Result.TrySetException(new OperationCanceledException("the orderer stopped before ordering this transaction"));
        }
    }

    /// <summary>Moves what has arrived into <paramref name="batch"/>, up to a block's worth.</summary>
    private void Take(List<Pending> batch)
    {
        while (batch.Count < MaxBlockTransactions && _queue.Reader.TryRead(out var p))
        {
            batch.Add(p);
        }
    }

    private static bool OnlyHeartbeats(List<Pending> batch, int from)
    {
        for (var i = from; i < batch.Count; i++)
        {
            if (batch[i].Transaction.Type != TransactionTypes.Heartbeat)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Lets a batch of nothing but heartbeats gather more for up to <see cref="HeartbeatLinger"/>: returns early when
    /// another kind of transaction arrives, when the block is full, or when a time rule falls due. Any other batch
    /// returns at once.
    /// </summary>
    private async Task LingerAsync(List<Pending> batch, long? deadline, CancellationToken stop)
    {
        var wait = HeartbeatLinger;
        if (deadline is { } d)
        {
            wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds, d - Now()));
        }

        if (wait <= TimeSpan.Zero || batch.Count == 0 || !OnlyHeartbeats(batch, 0))
        {
            return;
        }

        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
        wake.CancelAfter(wait);
        try
        {
            while (batch.Count < MaxBlockTransactions && await _queue.Reader.WaitToReadAsync(wake.Token).ConfigureAwait(false))
            {
                var from = batch.Count;
                Take(batch);
                if (!OnlyHeartbeats(batch, from))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            // The linger (or the time rule's wait) is over: cut the block with what has gathered.
        }
    }

    private async Task OrderAsync(List<Pending> batch, long? deadline, CancellationToken stop)
    {
        var head = _chain.State!;
        var headBlock = _chain.Head!;
        var now = Math.Max(Now(), head.Time);
        var timeRuleDue = deadline is { } d && now >= d;
        if (batch.Count == 0 && !timeRuleDue)
        {
            return;
        }

        var state = head.Clone();
        var events = new List<LedgerEvent>();
        var height = head.Height + 1;
        ContractEngine.BeginBlock(state, height, now, events);
        var accepted = new List<Pending>(batch.Count);
        foreach (var p in batch)
        {
            try
            {
                _engine.VerifySignature(state, p.Transaction);
                _engine.Apply(state, p.Transaction, events);
                accepted.Add(p);
            }
            catch (TransactionRejectedException e)
            {
                p.Result.TrySetException(e);
            }
        }

        if (accepted.Count == 0 && !timeRuleDue)
        {
            return;
        }

        // The rotation of the orderer's own certificate takes effect after its block: sign with the identity the
        // state before this block names.
        var signer = _identity.Find(head.Orderer)
            ?? throw new SwarmException($"the ledger names {head.Members[head.Orderer].Name} ({head.Orderer.Short}) as the orderer, but this SN holds certificate {_identity.Current.Fingerprint.Short}; restart it with the orderer's certificate");
        var block = Block.Create(signer, height, headBlock.Hash.Span, now, accepted.ConvertAll(p => p.Transaction), state.ComputeHash());
        await _chain.CommitAsync([(block, state, events)], stop).ConfigureAwait(false);
        var hash = block.HashHex;
        foreach (var p in accepted)
        {
            p.Result.TrySetResult(new TransactionReceipt(p.Transaction.Id.ToString(), height, hash));
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        try
        {
#pragma warning disable VSTHRD003 // the loop is this object's own, started in its constructor
            await _loop.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private sealed class Pending(Transaction transaction)
    {
        public Transaction Transaction { get; } = transaction;

        public TaskCompletionSource<TransactionReceipt> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Error, "The orderer could not store a block: {Reason}")]
        public static partial void BlockFailed(ILogger logger, string reason, Exception exception);
    }
}
