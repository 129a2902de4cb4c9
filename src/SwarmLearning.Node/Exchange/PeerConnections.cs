using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Node.Replica;

namespace SwarmLearning.Node.Exchange;

/// <summary>
/// Keeps this node's TLS connection to every active SL peer's file server open, so that a round never waits for a
/// handshake. A leader fetches from every participant and every participant fetches the merged model from the leader;
/// without this, a node's first round as leader, or the first round after a pause longer than the connection pools'
/// idle timeouts (2 minutes here, Kestrel's 130 s there), opened a connection per peer on the critical path: with mutual
/// TLS that is a handshake with two certificate checks each, about half of a 16-node round of small models on loopback
/// (docs/performance.md, "Connections opened before the round").
/// </summary>
/// <remarks>
/// Whenever the replica takes a block, and at least every <see cref="RecheckInterval"/>, each active SL member whose
/// file server has not answered this node for <see cref="RefreshAfter"/> gets a <c>GET /v1/ping</c> (204, admitted like
/// a model fetch). A model fetch counts as an answer, so a leader pings none of the peers it has just fetched from,
/// and a node pings each other peer at most once a minute. A peer that does not answer is logged at debug level and tried again after <see cref="RefreshAfter"/>; heartbeats and the
/// rounds report dead peers.
/// </remarks>
internal sealed partial class PeerConnections
{
    /// <summary>The file server's ping path.</summary>
    public const string PingPath = "/v1/ping";

    private readonly NetworkLedger _ledger;
    private readonly HttpModelExchange _exchange;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, long> _pinged = new(StringComparer.OrdinalIgnoreCase); // address -> last ping sent

    public PeerConnections(NetworkLedger ledger, HttpModelExchange exchange, ILogger logger, TimeProvider time)
    {
        _ledger = ledger;
        _exchange = exchange;
        _logger = logger;
        _time = time;
    }

    /// <summary>How long a connection may go without a request before it is pinged: below both pools' idle timeouts.</summary>
    public TimeSpan RefreshAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest wait between two checks when no block arrives.</summary>
    public TimeSpan RecheckInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a ping may take.</summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Pings at once, at most.</summary>
    public int MaxConcurrentPings { get; init; } = 4;

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled; starts once this node is registered. Never throws
    /// but for that cancellation: a ping that fails is only logged.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _ledger.Registered.WaitAsync(cancellationToken).ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested)
            {
                var height = _ledger.Height;
                if (_ledger.CurrentState is { } state)
                {
                    await PingIdleAsync(state, cancellationToken).ConfigureAwait(false);
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(RecheckInterval);
                try
                {
                    await _ledger.WaitForBlockAfterAsync(height, wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The active SL peers whose file server has not answered this node, nor been pinged by it, for
    /// <see cref="RefreshAfter"/>.
    /// </summary>
    internal IReadOnlyList<MemberState> Idle(LedgerState state)
    {
        var self = _ledger.Self;
        var own = HttpModelExchange.Address(_ledger.Host, _ledger.FilePort);
        var idle = new List<MemberState>();
        foreach (var member in state.Members.Values)
        {
            if (member.Role != SwarmRole.Sl || member.Fingerprint == self || !state.IsActive(member.Fingerprint)
                || member.Host is not { Length: > 0 } host || member.FilePort is not { } port)
            {
                continue;
            }

            var address = HttpModelExchange.Address(host, port);
            if (string.Equals(address, own, StringComparison.OrdinalIgnoreCase))
            {
                continue; // this node under an identity it rotated from
            }

            if (Due(_exchange.LastAnswerFrom(address)) && Due(_pinged.TryGetValue(address, out var pinged) ? pinged : null))
            {
                idle.Add(member);
            }
        }

        return idle;

        bool Due(long? last) => last is not { } at || _time.GetElapsedTime(at) >= RefreshAfter;
    }

    private async Task PingIdleAsync(LedgerState state, CancellationToken cancellationToken)
    {
        var idle = Idle(state);
        if (idle.Count == 0)
        {
            return;
        }

        var now = _time.GetTimestamp();
        foreach (var peer in idle)
        {
            _pinged[HttpModelExchange.Address(peer.Host!, peer.FilePort!.Value)] = now;
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentPings, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(idle, options, async (peer, ct) =>
        {
            try
            {
                await _exchange.PingAsync(peer, PingTimeout, ct).ConfigureAwait(false);
                Log.Connected(_logger, peer.Name);
            }
            catch (Rounds.ModelExchangeException e)
            {
                Log.Unreachable(_logger, peer.Name, e.Message);
            }
        }).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(310, LogLevel.Debug, "Connection to SL node '{Peer}' open")]
        public static partial void Connected(ILogger logger, string peer);

        [LoggerMessage(311, LogLevel.Debug, "Could not ping SL node '{Peer}': {Reason}; trying again later")]
        public static partial void Unreachable(ILogger logger, string peer, string reason);
    }
}
