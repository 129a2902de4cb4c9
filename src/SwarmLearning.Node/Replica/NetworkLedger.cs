using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Network.Client;
using SwarmLearning.Node.Rounds;

namespace SwarmLearning.Node.Replica;

/// <summary>
/// An SL node's view of the ledger: its own verified replica of the chain (<c>&lt;sl-dir&gt;/ledger</c>), fed by an SN's
/// block stream, so that everything the round engine decides rests on blocks this node verified itself. Transactions
/// are signed with the node's identity and sent through the SN; a submission completes once its block is in the
/// replica. <see cref="RunAsync"/> keeps the replica current, registers the node (role sl, host, file port) and
/// heartbeats at the swarm's interval.
/// </summary>
public sealed partial class NetworkLedger : ISwarmLedger, IAsyncDisposable
{
    private readonly LedgerChain _chain;
    private readonly SwarmNetworkClient _client;
    private readonly SwarmIdentity _identity;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _submitLock = new(1, 1);
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private NetworkLedger(LedgerChain chain, SwarmNetworkClient client, SwarmIdentity identity, string host, int filePort, ILogger logger, TimeProvider time)
    {
        _chain = chain;
        _client = client;
        _identity = identity;
        Host = host;
        FilePort = filePort;
        _logger = logger;
        _time = time;
    }

    /// <summary>The SN API this node talks to.</summary>
    public Uri SwarmNetwork => _client.Address;

    /// <summary>The SN API address as people write it: <c>https://host:port</c>.</summary>
    public string SnAddress => SwarmNetwork.GetLeftPart(UriPartial.Authority);

    /// <summary>The host this node registers (peers reach its file server there).</summary>
    public string Host { get; }

    /// <summary>The file server port this node registers.</summary>
    public int FilePort { get; }

    /// <summary>How long a submission waits for its block to reach the replica after the SN recorded it.</summary>
    public TimeSpan ReplicaTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the block stream may stay idle before the SN ends it and the node asks again.</summary>
    public TimeSpan StreamWait { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How often a failure that keeps happening (SN unreachable, registration refused) is logged again.</summary>
    public TimeSpan FailureLogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc/>
    public Fingerprint Self => _identity.Fingerprint;

    /// <inheritdoc/>
    /// <exception cref="LedgerUnavailableException">The replica has no genesis block yet.</exception>
    public LedgerState State => _chain.State ?? throw new LedgerUnavailableException(
        $"SL node '{_identity.Name}' has not received the ledger from the SN at {SnAddress} yet; it keeps trying (see its log)");

    /// <summary>The state after the latest verified block, or null before genesis.</summary>
    public LedgerState? CurrentState => _chain.State;

    /// <summary>The height of the replica's last block (-1 before genesis).</summary>
    public long Height => _chain.Height;

    /// <summary>
    /// Completes when the replica lists this node as an SL member with its current host and file port, and holds every
    /// block the SN had when the node's first registration or heartbeat of this run was recorded.
    /// </summary>
#pragma warning disable VSTHRD003 // a signal owned by this ledger, completed by its own membership loop
    public Task Registered => _registered.Task;
#pragma warning restore VSTHRD003

    /// <summary>The replica (for the host and tests).</summary>
    internal LedgerChain Chain => _chain;

    /// <summary>
    /// Opens (verifying every stored block) the replica in <paramref name="directory"/> and a client of the SN API at
    /// <paramref name="swarmNetwork"/>. A genesis block whose CAs include none of <paramref name="trust"/>'s is refused.
    /// Nothing talks to the SN until <see cref="RunAsync"/>.
    /// </summary>
    public static NetworkLedger Open(
        string directory,
        Uri swarmNetwork,
        SwarmIdentity identity,
        SwarmTrust trust,
        string host,
        int filePort,
        ILoggerFactory loggerFactory,
        TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(swarmNetwork);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (identity.Role != SwarmRole.Sl)
        {
            throw new SwarmException($"'{identity.Name}' is a {SwarmRoles.ToName(identity.Role)} identity; an SL node needs one issued with --role sl");
        }

        LedgerChain chain;
        try
        {
            chain = LedgerChain.Open(directory, trust, loggerFactory.CreateLogger<LedgerChain>());
        }
        catch (LedgerCorruptException e)
        {
            // The chain's own message speaks of SNs; an SL node's replica can always be rebuilt from its SN.
            throw new SwarmException(
                $"the ledger replica in {directory} is invalid at height {e.Height}: {e.InnerException?.Message ?? e.Message}. Delete {directory}; the SL node fetches and verifies the chain again from its SN", e);
        }

        var client = new SwarmNetworkClient(swarmNetwork, identity, trust);
        return new NetworkLedger(chain, client, identity, host, filePort, loggerFactory.CreateLogger<NetworkLedger>(), time ?? TimeProvider.System);
    }

    /// <inheritdoc/>
    public Task WaitForBlockAfterAsync(long height, CancellationToken cancellationToken) =>
        _chain.WaitForHeightAsync(height + 1, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="TransactionRejectedException">The ledger refused the transaction.</exception>
    /// <exception cref="LedgerUnavailableException">The SN could not be reached, or the block did not reach the replica in time.</exception>
    public async Task SubmitAsync<T>(string type, T payload, JsonTypeInfo<T> json, CancellationToken cancellationToken)
    {
        var receipt = await SubmitOwnAsync(type, payload, json, cancellationToken).ConfigureAwait(false);
        await WaitForReplicaAsync(type, receipt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Signs and submits through the SN, one at a time, so this node's sequence numbers reach the orderer in order.</summary>
    private async Task<TransactionReceipt> SubmitOwnAsync<T>(string type, T payload, JsonTypeInfo<T> json, CancellationToken cancellationToken)
    {
        await _submitLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _client.SubmitAsync(type, payload, json, cancellationToken).ConfigureAwait(false);
        }
        catch (TransactionRejectedException)
        {
            throw;
        }
        catch (SwarmException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LedgerUnavailableException($"{type} was not recorded: {e.Message}", e);
        }
        finally
        {
            _submitLock.Release();
        }
    }

    private async Task WaitForReplicaAsync(string type, TransactionReceipt receipt, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReplicaTimeout);
        try
        {
            await _chain.WaitForHeightAsync(receipt.Height, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LedgerUnavailableException(
                $"the SN at {SnAddress} recorded {type} in block {receipt.Height}, but this node's verified replica is still at height {_chain.Height} after {ReplicaTimeout.TotalSeconds:0} s; see the log for why the block stream fails", e);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _client.Dispose();
        await _chain.DisposeAsync().ConfigureAwait(false);
        _submitLock.Dispose();
    }
}
