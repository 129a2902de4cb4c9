using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Tests;
using SwarmLearning.Node.Replica;
using SwarmLearning.Node.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// The SL node's ledger: a verified replica fed by the SN's API block stream, registration and heartbeats, and
/// submissions that complete only once the replica holds their block.
/// </summary>
public sealed class NetworkLedgerTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestLog _log = new(output);
    private readonly List<IDisposable> _owned = [];

    private ILoggerFactory Loggers(string node)
    {
        var factory = LoggerFactory.Create(b => _log.Configure(b, node));
        _owned.Add(factory);
        return factory;
    }

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }

    private NetworkLedger Open(TestNetwork net, int apiPort, string name = "sl1", int filePort = 40123) =>
        NetworkLedger.Open(net.Directory.File(name), new Uri($"https://localhost:{apiPort}"), net.Identity(name, SwarmRole.Sl), net.Trust, "localhost", filePort, Loggers(name));

    [Fact]
    public async Task Registers_heartbeats_and_sees_its_own_transactions_in_its_replica_when_they_return()
    {
        await using var net = new TestNetwork(TestSwarm.Fast);
        var sentinel = await net.StartSentinelAsync();
        await using var ledger = Open(net, sentinel.Node.Options.ApiPort);
        using var stop = new CancellationTokenSource();
        var running = ledger.RunAsync(stop.Token);

        await ledger.Registered.WaitAsync(TestNetwork.Patience);
        var me = ledger.State.Members[ledger.Self];
        Assert.Equal((SwarmRole.Sl, "sl1", "localhost", 40123), (me.Role, me.Name, me.Host, me.FilePort));
        await TestNetwork.WaitUntilAsync(ledger.Chain, s => s.Members[ledger.Self].LastHeartbeat > me.RegisteredAt, "a heartbeat after the registration, in sl1's replica");

        await ledger.SubmitAsync(TransactionTypes.Progress, new ProgressPayload { Contract = LedgerDefaults.HpeDefaultContract, Loss = 0.25, Metric = 0.75, EpochsDone = 1, TotalEpochs = 4 }, PayloadJson.Default.ProgressPayload, CancellationToken.None);
        Assert.Equal(0.25, ledger.State.Contracts[LedgerDefaults.HpeDefaultContract].Progress[ledger.Self].Loss);

        // The replica is the SN's chain, block for block (the SN may be ahead by the time we look).
        for (var h = 0L; h <= ledger.Height; h++)
        {
            Assert.Equal(sentinel.Node.Chain.GetBlock(h).HashHex, ledger.Chain.GetBlock(h).HashHex);
        }

        var refused = await Assert.ThrowsAsync<TransactionRejectedException>(() => ledger.SubmitAsync(TransactionTypes.RoundReady,
            new ReadyPayload { Contract = "no.such.contract", Round = 1, Weight = 1, MinPeers = 1 }, PayloadJson.Default.ReadyPayload, CancellationToken.None));
        Assert.Equal(RejectionKind.NotFound, refused.Kind);

        await stop.CancelAsync();
        await running.WaitAsync(TestNetwork.Patience);
    }

    [Fact]
    public async Task Waits_for_an_SN_that_starts_later_then_registers_and_registers_again_when_its_file_port_changes()
    {
        await using var net = new TestNetwork(TestSwarm.Fast);
        var options = net.Options("sn0", sentinel: true);
        long height;
        await using (var ledger = Open(net, options.ApiPort, filePort: 40001))
        {
            using var stop = new CancellationTokenSource();
            var running = ledger.RunAsync(stop.Token);
            await _log.WaitForLineAsync("Waiting for the block stream of the SN");
            Assert.False(ledger.Registered.IsCompleted);

            await net.StartAsync(options, "sn0");
            await ledger.Registered.WaitAsync(TestNetwork.Patience);
            await _log.WaitForLineAsync("Replicating from the SN at https://localhost:" + options.ApiPort + " again");
            Assert.Equal(40001, ledger.State.Members[ledger.Self].FilePort);
            height = ledger.Height;
            await stop.CancelAsync();
            await running.WaitAsync(TestNetwork.Patience);
        }

        // Restarted with another file port: the replica reopens from disk, verified, and the node updates its entry.
        await using (var ledger = Open(net, options.ApiPort, filePort: 40002))
        {
            Assert.True(ledger.Height >= height, $"the reopened replica is at height {ledger.Height}, below the {height} it had");
            using var stop = new CancellationTokenSource();
            var running = ledger.RunAsync(stop.Token);
            await ledger.Registered.WaitAsync(TestNetwork.Patience);
            Assert.Equal(40002, ledger.State.Members[ledger.Self].FilePort);
            await stop.CancelAsync();
            await running.WaitAsync(TestNetwork.Patience);
        }
    }

    [Fact]
    public async Task After_a_restart_it_counts_as_registered_only_once_its_replica_has_caught_up_with_the_SN()
    {
        await using var net = new TestNetwork(TestSwarm.Fast);
        var sentinel = await net.StartSentinelAsync();
        await using (var ledger = Open(net, sentinel.Node.Options.ApiPort))
        {
            using var stop = new CancellationTokenSource();
            var running = ledger.RunAsync(stop.Token);
            await ledger.Registered.WaitAsync(TestNetwork.Patience);
            await stop.CancelAsync();
            await running.WaitAsync(TestNetwork.Patience);
        }

        // While the node is down the ledger moves on, block by block (a training's rounds and merges, in real life).
        var other = net.Client(sentinel, "sl2", SwarmRole.Sl);
        await other.SubmitAsync(TransactionTypes.Register, new RegisterPayload
        {
            Role = "sl",
            Name = "sl2",
            Certificate = Convert.ToBase64String(other.Identity.Certificate.RawData),
        }, PayloadJson.Default.RegisterPayload);
        for (var i = 0; i < 100; i++)
        {
            await other.SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload);
        }

        // Restarted on the same directory and port: its stored replica already lists it, with those addresses. It is
        // registered (a session may begin, and reads the latest merged model from the replica) only once the replica
        // holds what the SN had recorded.
        var head = sentinel.Node.Chain.Height;
        await using (var ledger = Open(net, sentinel.Node.Options.ApiPort))
        {
            Assert.True(ledger.Height < head - 90, $"the stored replica is at height {ledger.Height}, the SN at {head}");
            using var stop = new CancellationTokenSource();
            var running = ledger.RunAsync(stop.Token);
            await ledger.Registered.WaitAsync(TestNetwork.Patience);
            Assert.True(ledger.Height >= head, $"registered with its replica at height {ledger.Height}, behind the SN's {head} when it started");
            await stop.CancelAsync();
            await running.WaitAsync(TestNetwork.Patience);
        }
    }

    [Fact]
    public async Task A_submission_while_the_SN_is_unreachable_fails_as_unavailable_and_names_the_SN()
    {
        await using var net = new TestNetwork(TestSwarm.Fast);
        var sentinel = await net.StartSentinelAsync();
        await using var ledger = Open(net, sentinel.Node.Options.ApiPort);
        using var stop = new CancellationTokenSource();
        var running = ledger.RunAsync(stop.Token);
        await ledger.Registered.WaitAsync(TestNetwork.Patience);

        await net.StopAsync(sentinel);
        var e = await Assert.ThrowsAsync<LedgerUnavailableException>(() => ledger.SubmitAsync(TransactionTypes.Progress,
            new ProgressPayload { Contract = LedgerDefaults.HpeDefaultContract, Loss = 1, Metric = 0, EpochsDone = 0, TotalEpochs = 0 }, PayloadJson.Default.ProgressPayload, CancellationToken.None));

        Assert.Contains($"https://localhost:{sentinel.Node.Options.ApiPort}", e.Message, StringComparison.Ordinal);
        await _log.WaitForLineAsync("Waiting for the block stream of the SN");
        await stop.CancelAsync();
        await running.WaitAsync(TestNetwork.Patience);
    }

    [Fact]
    public async Task A_replica_of_another_swarm_refuses_the_SNs_blocks_and_says_what_to_do()
    {
        // Two sentinels of one CA make two swarms that TLS cannot tell apart: only the chain can.
        await using var net = new TestNetwork(TestSwarm.Fast);
        var first = await net.StartSentinelAsync("sn0");
        var second = await net.StartAsync(net.Options("snB", sentinel: true), "snB");
        await using (var ledger = Open(net, first.Node.Options.ApiPort))
        {
            using var stop = new CancellationTokenSource();
            var running = ledger.RunAsync(stop.Token);
            await ledger.Registered.WaitAsync(TestNetwork.Patience);
            await stop.CancelAsync();
            await running.WaitAsync(TestNetwork.Patience);
        }

        await using var wrong = Open(net, second.Node.Options.ApiPort);
        var height = wrong.Height;
        var head = wrong.Chain.Head!.HashHex;
        using var stopWrong = new CancellationTokenSource();
        var runningWrong = wrong.RunAsync(stopWrong.Token);

        await _log.WaitForLineAsync("Refused a block from the SN");
        Assert.Contains(_log.Lines, l => l.Contains("Refused a block", StringComparison.Ordinal) && l.Contains("stop this node and delete it", StringComparison.Ordinal));
        Assert.Equal(height, wrong.Height);
        Assert.Equal(head, wrong.Chain.Head!.HashHex);
        Assert.False(wrong.Registered.IsCompleted);
        await stopWrong.CancelAsync();
        await runningWrong.WaitAsync(TestNetwork.Patience);
    }

    [Fact]
    public async Task The_API_block_stream_serves_the_chain_from_a_height_and_then_new_blocks_as_they_are_cut()
    {
        await using var net = new TestNetwork(TestSwarm.Fast);
        var sentinel = await net.StartSentinelAsync();
        var client = net.Client(sentinel, "sl1", SwarmRole.Sl);
        await client.SubmitAsync(TransactionTypes.Register, new RegisterPayload
        {
            Role = "sl",
            Name = "sl1",
            Certificate = Convert.ToBase64String(client.Identity.Certificate.RawData),
            Host = "localhost",
            FilePort = 40123,
        }, PayloadJson.Default.RegisterPayload);

        var top = sentinel.Node.Chain.Height;
        var heights = new List<long>();
        await foreach (var block in client.StreamBlocksAsync(1, TimeSpan.Zero))
        {
            Assert.True(block.Encoded.Span.SequenceEqual(sentinel.Node.Chain.GetBlock(block.Height).Encoded.Span));
            heights.Add(block.Height);
        }

        Assert.Equal(1, heights[0]);
        Assert.True(heights[^1] >= top);
        Assert.Equal(Enumerable.Range(1, heights.Count).Select(h => (long)h), heights);

        // A long poll: the stream stays open and delivers the block the next transaction makes.
        var from = sentinel.Node.Chain.Height + 1;
        var submitted = client.SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload);
        long? seenAt = null;
        await foreach (var block in client.StreamBlocksAsync(from, TimeSpan.FromSeconds(30)))
        {
            if (block.Transactions.Any(t => t.Sender == client.Identity.Fingerprint && t.Type == TransactionTypes.Heartbeat))
            {
                seenAt = block.Height;
                break;
            }
        }

        var receipt = await submitted;
        Assert.Equal(receipt.Height, seenAt);
    }
}
