using System.Collections.Concurrent;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;

namespace SwarmLearning.Network.Tests;

/// <summary>kill -9 during a burst of appends, with real <c>swarm sn</c> processes.</summary>
public sealed class CrashTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);

    private sealed record Node(string Name, string Directory, int ApiPort, int PeerPort);

    private static SwarmProcess Start(string certs, Node node, Node? join) => SwarmProcess.Start(
        ["sn", .. join is null ? ["--sentinel", "--enrol", certs] : new[] { "--join", $"localhost:{join.PeerPort}" },
        "--name", node.Name, "--certs", certs, "--dir", node.Directory,
        "--api-port", $"{node.ApiPort}", "--peer-port", $"{node.PeerPort}", "--host", "localhost"]);

    private static Task<string> ServingAsync(SwarmProcess process, Node node) =>
        process.WaitForLineAsync(l => l.Contains($"SN '{node.Name}'", StringComparison.Ordinal) && l.Contains("serving", StringComparison.Ordinal), $"SN '{node.Name}' to serve", Startup);

    /// <summary>Submits heartbeats from several SL identities as fast as the SN takes them until stopped; keeps every receipt.</summary>
    private static async Task BurstAsync(IReadOnlyList<SwarmNetworkClient> clients, ConcurrentBag<TransactionReceipt> receipts, CancellationToken stop)
    {
        await Task.WhenAll(clients.Select(async client =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    receipts.Add(await client.SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, stop));
                }
                catch (Exception e) when (e is SwarmException or OperationCanceledException)
                {
                    return; // the SN died under us: what it acknowledged is in the bag
                }
            }
        }));
    }

    [Fact]
    public async Task An_SN_killed_during_a_burst_restarts_with_its_chain_intact_and_catches_up()
    {
        await using var net = new TestNetwork();
        var certs = Path.Combine(net.Directory.Path, "certs");
        Directory.CreateDirectory(certs);
        await File.WriteAllTextAsync(Path.Combine(certs, "ca.crt"), net.Ca.Certificate.ExportCertificatePem());
        // Every identity of the test, in the directory the sentinel enrols at genesis (--enrol).
        var identities = new[] { ("sn0", SwarmRole.Sn), ("sn1", SwarmRole.Sn), ("sl1", SwarmRole.Sl), ("sl2", SwarmRole.Sl), ("sl3", SwarmRole.Sl), ("sl4", SwarmRole.Sl),
            ("reader", SwarmRole.Swci), ("reader2", SwarmRole.Swci) };
        foreach (var (name, role) in identities)
        {
            net.Identity(name, role).Save(Path.Combine(certs, $"{name}.crt"), Path.Combine(certs, $"{name}.key"));
        }

        var sentinel = new Node("sn0", Path.Combine(net.Directory.Path, "sn0"), TestNetwork.FreePort(), TestNetwork.FreePort());
        var follower = new Node("sn1", Path.Combine(net.Directory.Path, "sn1"), TestNetwork.FreePort(), TestNetwork.FreePort());
        var sentinelProcess = Start(certs, sentinel, null);
        await using var s0 = sentinelProcess;
        await ServingAsync(sentinelProcess, sentinel);
        var followerProcess = Start(certs, follower, sentinel);
        await using var f0 = followerProcess;
        await ServingAsync(followerProcess, follower);

        var sls = Enumerable.Range(1, 4).Select(i => net.Client(sentinel.ApiPort, $"sl{i}", SwarmRole.Sl)).ToList();
        foreach (var sl in sls)
        {
            await sl.SubmitAsync(TransactionTypes.Register, new RegisterPayload
            {
                Role = "sl",
                Name = sl.Identity.Name,
                Certificate = Convert.ToBase64String(sl.Identity.Certificate.RawData),
            }, PayloadJson.Default.RegisterPayload);
        }

        // 1. The sentinel (the orderer) dies mid-burst. Everything it acknowledged must survive its restart.
        var receipts = new ConcurrentBag<TransactionReceipt>();
        using (var stop = new CancellationTokenSource())
        {
            var burst = BurstAsync(sls, receipts, stop.Token);
            while (receipts.Count < 300 && !burst.IsCompleted)
            {
                await Task.WhenAny(burst, Task.Delay(20));
            }

            sentinelProcess.KillHard();
            await stop.CancelAsync();
            await burst;
        }

        Assert.True(receipts.Count >= 300, $"only {receipts.Count} transactions were acknowledged before the kill");
        var restarted = Start(certs, sentinel, null);
        await using var s1 = restarted;
        await ServingAsync(restarted, sentinel);
        var reader = net.Client(sentinel.ApiPort, "reader", SwarmRole.Swci);
        foreach (var group in receipts.GroupBy(r => r.Height))
        {
            var block = Assert.Single(await reader.GetBlocksAsync(group.Key, 1));
            foreach (var receipt in group)
            {
                Assert.Contains(block.Transactions, t => t.Id == receipt.TransactionId);
                Assert.Equal(receipt.BlockHash, block.Hash);
            }
        }

        // 2. The follower dies mid-burst and catches up after its restart, block for block.
        receipts.Clear();
        using (var stop = new CancellationTokenSource())
        {
            var burst = BurstAsync(sls, receipts, stop.Token);
            while (receipts.Count < 200 && !burst.IsCompleted)
            {
                await Task.WhenAny(burst, Task.Delay(20));
            }

            followerProcess.KillHard();
            await stop.CancelAsync();
            await burst;
        }

        var top = receipts.Max(r => r.Height);
        var follower2 = Start(certs, follower, sentinel);
        await using var f1 = follower2;
        await ServingAsync(follower2, follower);
        var followerReader = net.Client(follower.ApiPort, "reader2", SwarmRole.Swci);
        using var patience = new CancellationTokenSource(TestNetwork.Patience);
        var next = 0L;
        while ((await followerReader.GetStatusAsync(patience.Token)).Height < top)
        {
            next = (await followerReader.GetEventsAsync(next, TimeSpan.FromSeconds(5), patience.Token)).Next; // wait for new blocks
        }

        var fromSentinel = await reader.GetBlocksAsync(Math.Max(0, top - 99), 100);
        var fromFollower = await followerReader.GetBlocksAsync(Math.Max(0, top - 99), 100);
        Assert.Equal(fromSentinel.Select(b => b.Hash), fromFollower.Select(b => b.Hash));
    }
}
