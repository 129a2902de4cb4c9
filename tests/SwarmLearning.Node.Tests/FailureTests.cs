using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// Failure cases with real SL hosts in-process (a sentinel SN, SL nodes on loopback with certificates made in the
/// test, ML programs on their Unix sockets): too few peers, and a peer whose served model is not what it recorded.
/// The cases that kill a node are in <see cref="ProcessFailureTests"/>.
/// </summary>
public sealed class FailureTests(ITestOutputHelper output)
{
    private const string Contract = LedgerDefaults.HpeDefaultContract;

    [Fact]
    public async Task A_node_waits_and_says_so_until_min_peers_are_ready_then_the_round_runs()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var interval = TimeSpan.FromMilliseconds(300);
        sl1.Node.SessionWaitLogInterval = interval;
        var channel1 = swarm.Channel(sl1);
        var session1 = await channel1.OpenAsync("""{"syncFrequency": 1, "minPeers": 2, "apiVersion": 2}""");
        var begin1 = channel1.CallAsync(session1, "begin", Models.Tiny(1));

        // Alone, it waits, and says so at every interval, with the counts.
        var waiting = await swarm.Log.WaitForLinesAsync($"Round 1 of '{Contract}' waits for peers: 1 ready of the 2 needed (minPeers); ready: sl1", 3);
        var ofSl1 = swarm.Log.LinesOf("sl1").ToList();
        Assert.All(waiting, l => Assert.Contains(l, ofSl1));
        var times = waiting.Select(TestLog.TimeOf).ToList();
        for (var i = 1; i < times.Count; i++)
        {
            // "Steady": one line per interval, not one per block (the clock's milliseconds are truncated).
            Assert.True(times[i] - times[i - 1] >= interval - TimeSpan.FromMilliseconds(2), $"two lines {(times[i] - times[i - 1]).TotalMilliseconds} ms apart:\n{string.Join('\n', waiting)}");
        }

        Assert.False(begin1.IsCompleted, "the initial sync answered with one node of the two needed");
        Assert.Equal(RoundPhase.Collecting, sl1.Node.Ledger.State.Contracts[Contract].Round.Phase);

        // A peer arrives: the round runs, and both start from the same model.
        var sl2 = await swarm.StartSlAsync("sl2");
        var channel2 = swarm.Channel(sl2);
        var session2 = await channel2.OpenAsync("""{"syncFrequency": 1, "minPeers": 2, "apiVersion": 2}""");
        var begun = await Bounded.WithinAsync(Task.WhenAll(begin1, channel2.CallAsync(session2, "begin", Models.Tiny(2))), "the round with both nodes");
        Assert.Equal(begun[0].Hash, begun[1].Hash);
        Assert.Equal(1, begun[0].Round);
        var merged = sl2.Node.Ledger.State.Contracts[Contract].LastMerged!;
        Assert.Equal(1, merged.Round);
        Assert.Equal(begun[0].Hash, merged.ModelHash);
    }

    [Fact]
    public async Task A_peer_serving_a_model_that_does_not_match_its_ledger_hash_is_left_out_and_the_round_completes_for_everyone()
    {
        // Rounds close because every node is ready, never by the full-quorum wait: all three take part in round 2.
        await using var swarm = await TestSwarm.StartAsync(output, TestSwarm.Fast with { FullQuorumWaitSeconds = 60 });
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var options = swarm.Options("sl3");
        options.MakeMeAdmin = false; // it never leads, so it is always one of the leader's peers
        var sl3 = await swarm.StartSlAsync("sl3", options);
        RunningLearningNode[] nodes = [sl1, sl2, sl3];
        var channels = nodes.Select(swarm.Channel).ToArray();
        var sessions = await Task.WhenAll(channels.Select(c => c.OpenAsync("""{"syncFrequency": 1, "minPeers": 2, "apiVersion": 2}""")));
        await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "begin", Models.Tiny(i)))), "the initial sync");

        // sl3's store already holds a damaged file under the hash of the model it is about to submit. The store keeps a
        // file it already has, so sl3 records the true hash and serves the damaged bytes: a disk that rotted between the
        // submission and the leader's fetch, without racing the leader. (After its submission is on the ledger the
        // leader may fetch at once: the ledger closes the round, and so starts the submissions, only when all are ready.)
        TensorModel[] sent = [Models.Tiny(10), Models.Tiny(20), Models.Tiny(30)];
        var recorded = ModelHash.Of(Models.Bytes(Models.Parse(Models.Bytes(sent[2]))));
        var damaged = Models.Bytes(sent[2]);
        damaged[^4] ^= 0x01; // the lowest bit of the last value: the same size, a valid file, another hash
        await File.WriteAllBytesAsync(sl3.Node.Store.PathOf(recorded), damaged);

        var answers = await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "sync", sent[i]))), "round 2");
        var state = sl1.Node.Ledger.State;
        Assert.Contains(swarm.Sentinel.Node.Chain.EventsFrom(0, int.MaxValue), e => e.Kind == "round.submitted" && e.Round == 2
            && e.Member == sl3.Node.Identity.Fingerprint.ToString() && e.Message.Contains(recorded[..12], StringComparison.Ordinal));
        var merged = state.Contracts[Contract].LastMerged!;
        Assert.Equal(2, merged.Round);
        var leader = nodes.Single(n => n.Node.Identity.Fingerprint == merged.Leader);

        // The leader says whom it left out and why; the merge is of the other two.
        var reason = Assert.Single(swarm.Log.Lines, l => l.Contains("leaving out 'sl3'", StringComparison.Ordinal));
        Assert.Contains(reason, swarm.Log.LinesOf(leader.Node.Identity.Name));
        Assert.Contains($"'sl3' (localhost:{sl3.Node.Options.FilePort}) served a model whose hash (BLAKE3) is", reason, StringComparison.Ordinal);
        Assert.Contains($"not {recorded[..12]} as the ledger records", reason, StringComparison.Ordinal);
        Assert.Equal(new[] { sl1, sl2 }.Select(n => n.Node.Identity.Fingerprint).Order(), merged.Contributors);
        Assert.Equal([(10f + 20f) / 2 / 2, -(10f + 20f) / 2], Models.Values(answers[0].Model!, "fc.bias"));

        // With mean the leader first merges while fetching; the bad model stops that, and it fetches everything again.
        Assert.Contains(swarm.Log.LinesOf(leader.Node.Identity.Name), l => l.Contains("merging while fetching stopped", StringComparison.Ordinal) && l.Contains("'sl3'", StringComparison.Ordinal));

        // Everyone, sl3 too, goes on from the merged model.
        Assert.All(answers, a => Assert.Equal(merged.ModelHash, a.Hash));
        Assert.All(answers, a => Assert.Equal(2, a.Round));
        Assert.Equal([true, true, false], answers.Select(a => a.Contributed));
    }
}
