using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Node.Simulation;

/// <summary>
/// A whole swarm in one process, for experiments and fast tests (<c>swarm simulate</c>): one in-memory chain ordered
/// by an embedded orderer (the same contracts, signatures and verification as a real SN), and virtual SL nodes whose
/// models move by direct reads of each other's model stores instead of HTTPS. Every node runs the real round engine
/// (<see cref="Rounds.SwarmSession"/>) against it. Nodes can be made to fail: go silent, come back, serve corrupted models.
/// </summary>
public sealed class SimulatedSwarm : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Fingerprint, SimulatedNode> _nodes = new();
    private readonly ConcurrentDictionary<Fingerprint, ulong> _sequences = new();
    private readonly ConcurrentDictionary<Fingerprint, SemaphoreSlim> _gates = new();
    private readonly CertificateAuthority _ca;
    private readonly SwarmIdentity _sentinel;
    private readonly EmbeddedOrderer _orderer;

    private SimulatedSwarm(string directory, CertificateAuthority ca, SwarmIdentity sentinel, LedgerChain chain, EmbeddedOrderer orderer, TimeProvider time, ILoggerFactory loggers)
    {
        Directory = directory;
        _ca = ca;
        _sentinel = sentinel;
        Chain = chain;
        _orderer = orderer;
        Time = time;
        Loggers = loggers;
    }

    /// <summary>Where the nodes keep their models.</summary>
    public string Directory { get; }

    /// <summary>The swarm's ledger.</summary>
    public LedgerChain Chain { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Where the nodes log.</summary>
    public ILoggerFactory Loggers { get; }

    /// <summary>The nodes, in the order they were added.</summary>
    public IReadOnlyList<SimulatedNode> Nodes => [.. _nodes.Values.OrderBy(n => n.Index)];

    /// <summary>Creates a swarm: a CA, a sentinel, a genesis block with <paramref name="defaults"/>, and an orderer.</summary>
    public static async Task<SimulatedSwarm> CreateAsync(string directory, LedgerDefaults? defaults = null, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        time ??= TimeProvider.System;
        loggers ??= NullLoggerFactory.Instance;
        System.IO.Directory.CreateDirectory(directory);
        var ca = CertificateAuthority.Create("simulation", TimeSpan.FromDays(30));
        var sentinel = ca.Issue(SwarmRole.Sn, "sentinel", ["localhost"], TimeSpan.FromDays(29));
        var trust = new SwarmTrust([ca.Certificate]);
        var chain = LedgerChain.CreateInMemory(trust, loggers.CreateLogger<LedgerChain>());
        await chain.AppendAsync(Genesis.Create(sentinel, "simulation", [ca.Certificate], [], defaults ?? new LedgerDefaults(), null, null, null, time.GetUtcNow())).ConfigureAwait(false);
        var orderer = new EmbeddedOrderer(chain, sentinel, time, loggers.CreateLogger<EmbeddedOrderer>());
        return new SimulatedSwarm(directory, ca, sentinel, chain, orderer, time, loggers);
    }

    /// <summary>Adds an SL node: issues its identity, enrols it (as the sentinel, an administrator), registers it and starts its heartbeats.</summary>
    public async Task<SimulatedNode> AddNodeAsync(string name, CancellationToken cancellationToken = default)
    {
        var identity = _ca.Issue(SwarmRole.Sl, name, ["localhost"], TimeSpan.FromDays(29));
        var node = new SimulatedNode(this, identity, _nodes.Count, Path.Combine(Directory, name));
        _nodes[identity.Fingerprint] = node;
        await SubmitAsync(_sentinel, TransactionTypes.Enrol, new EnrolPayload
        {
            Fingerprint = identity.Fingerprint.ToString(),
            Role = "sl",
            Name = name,
            Note = "simulated node",
        }, PayloadJson.Default.EnrolPayload, cancellationToken).ConfigureAwait(false);
        await SubmitAsync(identity, TransactionTypes.Register, new RegisterPayload
        {
            Role = "sl",
            Name = name,
            Certificate = Convert.ToBase64String(identity.Certificate.RawData),
            Host = "simulation",
        }, PayloadJson.Default.RegisterPayload, cancellationToken).ConfigureAwait(false);
        node.StartHeartbeats();
        return node;
    }

    internal SimulatedNode? NodeOf(Fingerprint fingerprint) => _nodes.GetValueOrDefault(fingerprint);

    internal async Task SubmitAsync<T>(SwarmIdentity sender, string type, T payload, JsonTypeInfo<T> json, CancellationToken cancellationToken)
    {
        // One transaction at a time per sender, so its sequence numbers reach the orderer in order.
        var gate = _gates.GetOrAdd(sender.Fingerprint, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var sequence = _sequences.AddOrUpdate(sender.Fingerprint, 1, (_, last) => last + 1);
            var tx = Transaction.Create(sender, Chain.ChainId.Span, type, sequence, JsonSerializer.SerializeToUtf8Bytes(payload, json));
            await _orderer.SubmitAsync(tx, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        await _orderer.DisposeAsync().ConfigureAwait(false);
        await Chain.DisposeAsync().ConfigureAwait(false);
        _sentinel.Dispose();
        _ca.Dispose();
    }
}
