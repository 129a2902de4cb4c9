using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Client;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Benchmarks.Ledger;

/// <summary>
/// The ledger load test of issue 4: a sentinel and two follower SNs on loopback (real Kestrel, mutual TLS, fsync'd
/// stores, each SN verifying every block), and SL clients submitting heartbeats through all three SNs in turn.
/// <list type="number">
/// <item>Latency: 100 nodes heartbeat once a second (100 tx/s, staggered); each transaction's time from submission
/// until its block is on every SN; p50/p99/max.</item>
/// <item>Throughput: every client submits back to back (a closed loop); committed transactions per second.</item>
/// </list>
/// The SNs run in this process (separate hosts, separate ports, separate ledgers), so the clients and all three SNs
/// share this machine's cores, as a 3-SN swarm on one host would.
/// </summary>
internal static class LedgerLoad
{
    private const string Usage = "usage: ledger-load [--nodes 100] [--warmup-seconds 5] [--rate-seconds 20] [--burst-seconds 10] [--json FILE]";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var nodes = 100;
        var warmupSeconds = 5;
        var rateSeconds = 20;
        var burstSeconds = 10;
        string? json = null;
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value", nameof(args));
            switch (args[i])
            {
                case "--nodes": nodes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup-seconds": warmupSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rate-seconds": rateSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--burst-seconds": burstSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--json": json = Next(); break;
                default:
                    await Console.Error.WriteLineAsync($"ledger-load: unknown argument '{args[i]}'\n{Usage}").ConfigureAwait(false);
                    return 2;
            }
        }

        var result = await MeasureAsync(nodes, warmupSeconds, rateSeconds, burstSeconds).ConfigureAwait(false);
        await Console.Out.WriteLineAsync(result.Describe()).ConfigureAwait(false);
        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(result, Indented)).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<LoadResult> MeasureAsync(int nodeCount, int warmupSeconds, int rateSeconds, int burstSeconds)
    {
        var root = Path.Combine(Path.GetTempPath(), "swarm-ledger-load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        using var ca = CertificateAuthority.Create("load", TimeSpan.FromDays(2));
        var trust = new SwarmTrust([ca.Certificate]);
        var sns = new List<RunningNetworkNode>();
        var clients = new List<SwarmNetworkClient>();
        try
        {
            // Three SNs: the sentinel, one follower joined to it, one joined to the follower.
            for (var i = 0; i < 3; i++)
            {
                var identity = ca.Issue(SwarmRole.Sn, $"sn{i}", ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
                if (i > 0)
                {
                    await sns[0].Node.EnrolAsync(Enrolment(identity)).ConfigureAwait(false); // the sentinel admits each follower
                }

                var options = new SwarmNetworkOptions
                {
                    Sentinel = i == 0,
                    Join = i == 0 ? null : $"localhost:{sns[i - 1].Node.Options.PeerPort}",
                    DataDirectory = Path.Combine(root, $"sn{i}"),
                    ApiPort = FreePort(),
                    PeerPort = FreePort(),
                    Defaults = new LedgerDefaults { MemberTimeoutSeconds = 60 },
                };
                var sn = await SwarmNetworkHost.StartAsync(options, identity, trust, l => l.SetMinimumLevel(LogLevel.Warning)).ConfigureAwait(false);
                sns.Add(sn);
#pragma warning disable VSTHRD003 // the node's own readiness signal
                await sn.Node.Ready.ConfigureAwait(false);
#pragma warning restore VSTHRD003
            }

            await WaitUntilAsync(sns[0].Node.Chain, s => s.Members.Count >= 3).ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"ledger-load: 3 SNs up; registering {nodeCount} SL nodes").ConfigureAwait(false);
            for (var i = 0; i < nodeCount; i++)
            {
                var identity = ca.Issue(SwarmRole.Sl, $"sl{i}", ["localhost"], TimeSpan.FromDays(1));
                await sns[0].Node.EnrolAsync(Enrolment(identity)).ConfigureAwait(false);
                clients.Add(new SwarmNetworkClient(new Uri($"https://localhost:{sns[i % 3].Node.Options.ApiPort}"), identity, trust));
            }

            await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, ct) =>
                await c.SubmitAsync(TransactionTypes.Register, new RegisterPayload
                {
                    Role = "sl",
                    Name = c.Identity.Name,
                    Certificate = Convert.ToBase64String(c.Identity.Certificate.RawData),
                    Host = "localhost",
                }, PayloadJson.Default.RegisterPayload, ct).ConfigureAwait(false)).ConfigureAwait(false);

            using var tracker = new VisibilityTracker(sns.Select(s => s.Node.Chain).ToList());

            // 1. Latency at one heartbeat per node per second.
            await Console.Error.WriteLineAsync($"ledger-load: latency at {nodeCount} tx/s for {rateSeconds} s after {warmupSeconds} s of warm-up").ConfigureAwait(false);
            var latencies = new ConcurrentBag<(double Visible, double Receipt)>();
            var rateStart = Stopwatch.GetTimestamp();
            await Task.WhenAll(clients.Select((c, i) => Task.Run(async () =>
            {
                var period = TimeSpan.FromSeconds(1);
                var offset = TimeSpan.FromMilliseconds(1000.0 * i / clients.Count);
                for (var k = 0; k < warmupSeconds + rateSeconds; k++)
                {
                    var due = offset + (period * k);
                    var wait = due - Stopwatch.GetElapsedTime(rateStart);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait).ConfigureAwait(false);
                    }

                    var t0 = Stopwatch.GetTimestamp();
                    var receipt = await c.SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload).ConfigureAwait(false);
                    var receiptMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    var visible = await tracker.VisibleEverywhereAsync(receipt.Height).ConfigureAwait(false);
                    if (k >= warmupSeconds)
                    {
                        latencies.Add((Stopwatch.GetElapsedTime(t0, visible).TotalMilliseconds, receiptMs));
                    }
                }
            }))).ConfigureAwait(false);
            var rateElapsed = Stopwatch.GetElapsedTime(rateStart).TotalSeconds - warmupSeconds;

            // 2. Throughput: everyone back to back.
            await Console.Error.WriteLineAsync($"ledger-load: throughput, {nodeCount} clients back to back for {burstSeconds} s").ConfigureAwait(false);
            var heightBefore = sns[0].Node.Chain.Height;
            var committed = 0L;
            var burstStart = Stopwatch.GetTimestamp();
            var until = TimeSpan.FromSeconds(burstSeconds);
            await Task.WhenAll(clients.Select(c => Task.Run(async () =>
            {
                while (Stopwatch.GetElapsedTime(burstStart) < until)
                {
                    await c.SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload).ConfigureAwait(false);
                    Interlocked.Increment(ref committed);
                }
            }))).ConfigureAwait(false);
            var burstElapsed = Stopwatch.GetElapsedTime(burstStart).TotalSeconds;
            var blocks = sns[0].Node.Chain.Height - heightBefore;

            // 3. Restart: how fast an SN re-verifies its stored chain (every signature, rule and state hash).
            var follower = sns[2];
            sns.RemoveAt(2);
            await follower.DisposeAsync().ConfigureAwait(false);
            var replayStart = Stopwatch.GetTimestamp();
            long replayedBlocks, replayedTransactions = 0;
            await using (var reopened = LedgerChain.Open(follower.Node.Options.DataDirectory, trust))
            {
                replayedBlocks = reopened.Height + 1;
                for (var h = 0L; h <= reopened.Height; h++)
                {
                    replayedTransactions += reopened.GetBlock(h).Transactions.Count;
                }
            }

            var replaySeconds = Stopwatch.GetElapsedTime(replayStart).TotalSeconds;

            var visibleMs = latencies.Select(l => l.Visible).Order().ToArray();
            var receiptMsSorted = latencies.Select(l => l.Receipt).Order().ToArray();
            return new LoadResult(
                Environment.ProcessorCount,
                nodeCount,
                latencies.Count / rateElapsed,
                Percentile(visibleMs, 0.50),
                Percentile(visibleMs, 0.99),
                visibleMs[^1],
                Percentile(receiptMsSorted, 0.50),
                Percentile(receiptMsSorted, 0.99),
                committed / burstElapsed,
                blocks > 0 ? (double)committed / blocks : 0,
                replayedBlocks,
                replayedTransactions,
                replaySeconds);
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Dispose();
            }

            foreach (var sn in Enumerable.Reverse(sns))
            {
                await sn.DisposeAsync().ConfigureAwait(false);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(LedgerChain chain, Func<SwarmLearning.Ledger.Contracts.LedgerState, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (chain.State is not { } s || !condition(s))
        {
            await chain.WaitForHeightAsync(chain.Height + 1, timeout.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Records when each height first appears on each SN.</summary>
    private sealed class VisibilityTracker : IDisposable
    {
        private readonly List<LedgerChain> _chains;
        private readonly ConcurrentDictionary<(int Chain, long Height), long> _seen = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _watchers;

        public VisibilityTracker(List<LedgerChain> chains)
        {
            _chains = chains;
            _watchers = chains.Select((c, i) => Task.Run(() => WatchAsync(i, c))).ToList();
        }

        private async Task WatchAsync(int index, LedgerChain chain)
        {
            var next = chain.Height + 1;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await chain.WaitForHeightAsync(next, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var now = Stopwatch.GetTimestamp();
                for (; next <= chain.Height; next++)
                {
                    _seen[(index, next)] = now;
                }
            }
        }

        /// <summary>The timestamp at which <paramref name="height"/> was on every SN.</summary>
        public async Task<long> VisibleEverywhereAsync(long height)
        {
            var latest = 0L;
            for (var i = 0; i < _chains.Count; i++)
            {
                long t;
                while (!_seen.TryGetValue((i, height), out t))
                {
                    await _chains[i].WaitForHeightAsync(height, CancellationToken.None).ConfigureAwait(false);
                    await Task.Yield();
                }

                latest = Math.Max(latest, t);
            }

            return latest;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }

    private sealed record LoadResult(
        int Cores,
        int Nodes,
        double OfferedTxPerSecond,
        double VisibleP50Ms,
        double VisibleP99Ms,
        double VisibleMaxMs,
        double ReceiptP50Ms,
        double ReceiptP99Ms,
        double BurstCommittedTxPerSecond,
        double BurstTxPerBlock,
        long ReplayedBlocks,
        long ReplayedTransactions,
        double ReplaySeconds)
    {
        public string Describe() => string.Create(CultureInfo.InvariantCulture, $"""
            3 SNs on loopback, {Nodes} SL clients, {Cores} cores
            latency at {OfferedTxPerSecond:0} tx/s (submit -> block on every SN): p50 {VisibleP50Ms:0.0} ms, p99 {VisibleP99Ms:0.0} ms, max {VisibleMaxMs:0.0} ms   (target p99 <= 50 ms: {(VisibleP99Ms <= 50 ? "PASS" : "FAIL")})
              submit -> receipt from the SN asked: p50 {ReceiptP50Ms:0.0} ms, p99 {ReceiptP99Ms:0.0} ms
            throughput, clients back to back: {BurstCommittedTxPerSecond:0} committed tx/s, {BurstTxPerBlock:0.0} tx per block   (target >= 2000 tx/s: {(BurstCommittedTxPerSecond >= 2000 ? "PASS" : "FAIL")})
            restart: re-verified {ReplayedBlocks} blocks ({ReplayedTransactions} transactions) in {ReplaySeconds:0.00} s = {ReplayedBlocks / ReplaySeconds:0} blocks/s, {ReplayedTransactions / ReplaySeconds:0} tx/s (the read-back of blocks for counting included)
            """);
    }

    private static EnrolPayload Enrolment(SwarmIdentity identity) =>
        new() { Fingerprint = identity.Fingerprint.ToString(), Role = SwarmRoles.ToName(identity.Role), Name = identity.Name, Note = "ledger-load" };
}
