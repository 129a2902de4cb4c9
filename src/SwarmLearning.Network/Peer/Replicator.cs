using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Network.Peer;

/// <summary>
/// A follower's replication: pull blocks from an upstream SN's peer port (a long-lived stream that delivers new blocks as
/// they are cut), verify each, append it. The upstream is the <c>--join</c> address, then any other SN on the ledger
/// when that one is unreachable. A block that fails verification is never stored; the reason is logged and the pull
/// retried, so a bad peer cannot rewrite this SN's history.
/// </summary>
internal sealed partial class Replicator(LedgerChain chain, IdentityHolder identity, IdentityHttpClient http, SwarmNetworkOptions options, ILogger logger)
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(20);
    private int _upstreamIndex;

    public async Task RunAsync(CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            var (host, port) = PickUpstream();
            var usedIdentity = identity.Current;
            try
            {
                await PullAsync(host, port, stop).ConfigureAwait(false);
                if (failures > 0)
                {
                    Log.Reconnected(logger, host, port, chain.Height);
                }

                failures = 0;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or SwarmException)
            {
                if (Hosting.IdentityRotation.SwapPending(identity, chain.State, usedIdentity))
                {
                    // The upstream cut the stream at this SN's own rotation: ask again once the new certificate is in use.
                    await Task.Delay(TimeSpan.FromMilliseconds(50), stop).ConfigureAwait(false);
                    continue;
                }

                failures++;
                if (e is BlockRejectedException or LedgerFormatException)
                {
                    Log.BlockRefused(logger, host, port, e.Message);
                }
                else
                {
                    Log.UpstreamUnavailable(logger, host, port, failures, e.Message, chain.Height);
                }

                _upstreamIndex++;
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * failures)), stop).ConfigureAwait(false);
            }
        }
    }

    private async Task PullAsync(string host, int port, CancellationToken stop)
    {
        var from = chain.Height + 1;
        var uri = PeerHttp.PeerUri(host, port, $"/peer/v1/blocks?from={from}&wait={(int)PollWait.TotalSeconds}");
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        // A bound on silence, not on the stream: with blocks arriving every second a pull can stay open for minutes.
        var silence = PollWait + TimeSpan.FromSeconds(15);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(silence);
        using var response = await http.Current.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            throw new HttpRequestException($"{(int)response.StatusCode} {response.ReasonPhrase}: {body}");
        }

        var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            while (await BlockStream.ReadAsync(stream, timeout.Token).ConfigureAwait(false) is { } bytes)
            {
                timeout.CancelAfter(silence);
                var block = Block.Decode(bytes);
                if (block.Height <= chain.Height)
                {
                    continue;
                }

                await chain.AppendAsync(block, stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The --join address first; after a failure, the next SN known from the ledger, in turn.</summary>
    private (string Host, int Port) PickUpstream()
    {
        var candidates = new List<(string, int)>();
        if (SwarmNetworkOptions.TryParseHostPort(options.Join!, out var joinHost, out var joinPort))
        {
            candidates.Add((joinHost, joinPort));
        }

        if (chain.State is { } state)
        {
            foreach (var m in state.Members.Values)
            {
                if (m.Role == SwarmRole.Sn && !m.Revoked && m.Host is not null && m.PeerPort is { } p
                    && !(m.Host == options.Host && p == options.PeerPort) && !candidates.Contains((m.Host, p)))
                {
                    candidates.Add((m.Host, p));
                }
            }
        }

        if (candidates.Count == 0)
        {
            throw new SwarmException($"no upstream SN to replicate from: --join '{options.Join}' is not HOST:PORT");
        }

        return candidates[_upstreamIndex % candidates.Count];
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Waiting for upstream SN {Host}:{Port} (attempt {Attempt}; this SN is at height {Height}): {Reason}")]
        public static partial void UpstreamUnavailable(ILogger logger, string host, int port, int attempt, string reason, long height);

        [LoggerMessage(21, LogLevel.Error, "Refused a block from {Host}:{Port}: {Reason}")]
        public static partial void BlockRefused(ILogger logger, string host, int port, string reason);

        [LoggerMessage(22, LogLevel.Information, "Replicating from {Host}:{Port} again, at height {Height}")]
        public static partial void Reconnected(ILogger logger, string host, int port, long height);
    }
}
