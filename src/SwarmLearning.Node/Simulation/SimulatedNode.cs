using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Simulation;

/// <summary>
/// A virtual SL node of a <see cref="SimulatedSwarm"/>: its identity and heartbeats on the swarm's ledger, its model
/// store, and both seams of the round engine (<see cref="ISwarmLedger"/>, <see cref="IModelExchange"/>). Fetching from a
/// peer reads the peer's store through the same verification as a download (size, hash, a valid model).
/// </summary>
public sealed class SimulatedNode : ISwarmLedger, IModelExchange, IAsyncDisposable
{
    private readonly SimulatedSwarm _swarm;
    private CancellationTokenSource? _heartbeats;
    private Task _heartbeatLoop = Task.CompletedTask;

    internal SimulatedNode(SimulatedSwarm swarm, SwarmIdentity identity, int index, string directory)
    {
        _swarm = swarm;
        Identity = identity;
        Index = index;
        Store = new ModelStore(directory);
    }

    /// <summary>The node's name.</summary>
    public string Name => Identity.Name;

    /// <summary>Its identity.</summary>
    public SwarmIdentity Identity { get; }

    /// <summary>Its place in the order nodes were added.</summary>
    public int Index { get; }

    /// <summary>Its model store.</summary>
    public ModelStore Store { get; }

    /// <summary>True while the node is down: no heartbeats, and it serves no model.</summary>
    public bool IsDown { get; private set; }

    /// <summary>When set, the node serves this transformation of its model files instead of the files (a dishonest or broken peer).</summary>
    public Func<byte[], byte[]>? ServeCorrupted { get; set; }

    /// <inheritdoc/>
    public Fingerprint Self => Identity.Fingerprint;

    /// <inheritdoc/>
    public LedgerState State => _swarm.Chain.State!;

    /// <inheritdoc/>
    public async Task WaitForBlockAfterAsync(long height, CancellationToken cancellationToken)
    {
        await _swarm.Chain.WaitForHeightAsync(height + 1, cancellationToken).ConfigureAwait(false);
        if (BeforeWake is { } hook)
        {
            await hook(this, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs when a new block would wake this node's round engine, before it does (fault injection: a node slow to look at the ledger).</summary>
    public Func<SimulatedNode, CancellationToken, Task>? BeforeWake { get; set; }

    /// <inheritdoc/>
    public Task SubmitAsync<T>(string type, T payload, JsonTypeInfo<T> json, CancellationToken cancellationToken)
    {
        if (IsDown)
        {
            throw new SwarmException($"simulated node '{Name}' is down");
        }

        return _swarm.SubmitAsync(Identity, type, payload, json, cancellationToken);
    }

    /// <summary>Runs before this node serves a model, with its hash (fault injection: a node that hangs as it serves).</summary>
    public Func<SimulatedNode, string, CancellationToken, Task>? BeforeServe { get; set; }

    /// <summary>Runs before each publish (fault injection: a node that dies, or hangs, as it publishes).</summary>
    public Func<SimulatedNode, CancellationToken, Task>? BeforePublish { get; set; }

    /// <summary>How many models this node has published.</summary>
    public int Published => _published;

    private int _published;

    /// <inheritdoc/>
    public async Task<PublishedModel> PublishAsync(TensorModel model, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _published);
        if (BeforePublish is { } hook)
        {
            await hook(this, cancellationToken).ConfigureAwait(false);
        }

        // The store serves the model it is given from memory, and a simulated trainer goes on changing the arrays it
        // handed over (its network's own weights): publish a copy.
        return await Task.Run(() => Store.Put(Copy(model)), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (Store.Contains(modelHash))
        {
            return await Task.Run(() => Store.Load(modelHash), cancellationToken).ConfigureAwait(false);
        }

        var source = _swarm.NodeOf(peer.Fingerprint);
        if (source is null || source.IsDown)
        {
            throw new ModelExchangeException($"'{peer.Name}' is unreachable (simulated)");
        }

        if (source.BeforeServe is { } hook)
        {
            await hook(source, modelHash, cancellationToken).ConfigureAwait(false);
        }

        Stream? served = source.Serve(modelHash) ?? throw new ModelExchangeException($"'{peer.Name}' does not have model {modelHash[..12]}");
        await using (served.ConfigureAwait(false))
        {
            return await Store.ReceiveAsync(served, modelHash, size, $"'{peer.Name}'", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public void Retain(IReadOnlySet<string> keep, long arriving) => Store.Prune(keep, TimeSpan.FromMinutes(1));

    private static TensorModel Copy(TensorModel model) =>
        new(model.NamedTensors.Select(t => new NamedTensor(t.Info, (float[])t.Values.Clone())), model.Metadata, model.Name);

    /// <summary>What this node's file server would send for a hash.</summary>
    private Stream? Serve(string modelHash)
    {
        var file = Store.OpenRead(modelHash);
        if (file is null || ServeCorrupted is not { } corrupt)
        {
            return file;
        }

        using (file)
        {
            using var copy = new MemoryStream();
            file.CopyTo(copy);
            return new MemoryStream(corrupt(copy.ToArray()));
        }
    }

    /// <summary>Takes the node down: its heartbeats stop and it serves nothing (as if its process died).</summary>
    public async Task GoDownAsync()
    {
        IsDown = true;
        await StopHeartbeatsAsync().ConfigureAwait(false);
    }

    /// <summary>Brings the node back: heartbeats and serving resume.</summary>
    public void ComeBack()
    {
        IsDown = false;
        StartHeartbeats();
    }

    internal void StartHeartbeats()
    {
        _heartbeats = new CancellationTokenSource();
        var stop = _heartbeats.Token;
        _heartbeatLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var interval = TimeSpan.FromSeconds(State.Defaults.HeartbeatIntervalSeconds);
                    await Task.Delay(interval, _swarm.Time, stop).ConfigureAwait(false);
                    await _swarm.SubmitAsync(Identity, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (SwarmException)
                {
                    // The simulated ledger refused a heartbeat (the node was revoked): keep trying, as a real node would.
                }
            }
        }, CancellationToken.None);
    }

    private async Task StopHeartbeatsAsync()
    {
        if (_heartbeats is null)
        {
            return;
        }

        await _heartbeats.CancelAsync().ConfigureAwait(false);
#pragma warning disable VSTHRD003 // the node's own heartbeat loop
        await _heartbeatLoop.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        _heartbeats.Dispose();
        _heartbeats = null;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopHeartbeatsAsync().ConfigureAwait(false);
        Identity.Dispose();
    }
}
