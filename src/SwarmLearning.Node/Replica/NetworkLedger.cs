using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Network.Client;
using SwarmLearning.Network.Hosting;
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
    private readonly IdentityHolder _identities;
    private readonly bool _ownsIdentities;
    private readonly IdentityRotation? _rotation;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _submitLock = new(1, 1);
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private NetworkLedger(LedgerChain chain, SwarmNetworkClient client, IdentityHolder identities, bool ownsIdentities, IdentityRotation? rotation, string host, int filePort, ILogger logger, TimeProvider time)
    {
        _chain = chain;
        _client = client;
        _identities = identities;
        _ownsIdentities = ownsIdentities;
        _rotation = rotation;
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
    /// <remarks>
    /// While a rotation is being swapped in, the replica may already hold the block that re-keyed this node: the
    /// fingerprint the node is rotating to is then its place on the ledger, though it still holds the old identity for
    /// an instant (nothing is signed in between: <see cref="RotateAsync"/> holds the submission lock).
    /// </remarks>
    public Fingerprint Self
    {
        get
        {
            var current = _identities.Current.Fingerprint;
            return _chain.State is { } state && state.Rotations.TryGetValue(current, out var rotation) && _identities.Staged?.Fingerprint == rotation.New
                ? rotation.New
                : current;
        }
    }

    /// <summary>The identity this node signs and connects with now.</summary>
    public SwarmIdentity Identity => _identities.Current;

    /// <inheritdoc/>
    /// <exception cref="LedgerUnavailableException">The replica has no genesis block yet.</exception>
    public LedgerState State => _chain.State ?? throw new LedgerUnavailableException(
        $"SL node '{Identity.Name}' has not received the ledger from the SN at {SnAddress} yet; it keeps trying (see its log)");

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
        ArgumentNullException.ThrowIfNull(identity);
        return Open(directory, swarmNetwork, new IdentityHolder(identity), ownsIdentities: true, trust, host, filePort, loggerFactory, time, rotateFrom: null);
    }

    /// <summary>
    /// As <see cref="Open(string, Uri, SwarmIdentity, SwarmTrust, string, int, ILoggerFactory, TimeProvider?)"/>, with the
    /// identity in a holder the caller owns (shared with the file server and the model exchange). With
    /// <paramref name="rotateFrom"/>, the node polls those files on every heartbeat and rotates to a new certificate
    /// installed there, without a restart (<see cref="IdentityRotation"/>).
    /// </summary>
    public static NetworkLedger Open(
        string directory,
        Uri swarmNetwork,
        IdentityHolder identity,
        SwarmTrust trust,
        string host,
        int filePort,
        ILoggerFactory loggerFactory,
        TimeProvider? time = null,
        IdentityFiles? rotateFrom = null) =>
        Open(directory, swarmNetwork, identity, ownsIdentities: false, trust, host, filePort, loggerFactory, time, rotateFrom);

    private static NetworkLedger Open(
        string directory,
        Uri swarmNetwork,
        IdentityHolder identities,
        bool ownsIdentities,
        SwarmTrust trust,
        string host,
        int filePort,
        ILoggerFactory loggerFactory,
        TimeProvider? time,
        IdentityFiles? rotateFrom)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(swarmNetwork);
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var identity = identities.Current;
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

        time ??= TimeProvider.System;
        var client = new SwarmNetworkClient(swarmNetwork, identities, trust);
        var rotation = rotateFrom is null ? null : new IdentityRotation(identities, rotateFrom, trust, loggerFactory.CreateLogger<IdentityRotation>(), time);
        return new NetworkLedger(chain, client, identities, ownsIdentities, rotation, host, filePort, loggerFactory.CreateLogger<NetworkLedger>(), time);
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
        if (_ownsIdentities)
        {
            _identities.Dispose();
        }
    }
}
