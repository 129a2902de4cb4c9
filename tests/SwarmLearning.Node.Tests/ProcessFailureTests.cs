using System.Net;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Tests;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// Three SL nodes as real <c>swarm sl</c> processes (a sentinel SN in-process, certificates made in the test), the
/// test playing their ML programs over the Unix sockets; one node dies by SIGKILL. The simulated versions of these
/// cases are in <c>Simulation/SimulatedRoundTests.cs</c>.
/// </summary>
[Collection(ProcessFailureTests.Collection)]
public sealed class ProcessFailureTests(ITestOutputHelper output)
{
    /// <summary>
    /// Not in parallel with other tests: three processes on a small machine already load it, and a node starved of CPU
    /// for the member timeout (5 s) would count as dead.
    /// </summary>
    public const string Collection = "SL processes";

    private const string Contract = LedgerDefaults.HpeDefaultContract;
    private const string SessionOptions = """{"syncFrequency": 1, "minPeers": 2, "apiVersion": 2}""";

    [Fact]
    public async Task When_the_leader_is_killed_during_a_merge_the_next_leader_completes_the_round_and_training_completes()
    {
        // Every round here closes because every active node is ready, never by the full-quorum wait: all three take
        // part in round 2 however slowly the processes start their syncs.
        await using var swarm = await TestSwarm.StartAsync(output, TestSwarm.Fast with { FullQuorumWaitSeconds = 60 });
        var nodes = await swarm.StartSlProcessesAsync("sl1", "sl2", "sl3");
        var channels = nodes.Select(n => n.Channel()).ToArray();
        var sessions = await Task.WhenAll(channels.Select(c => c.OpenAsync(SessionOptions)));
        var begun = await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "begin", Models.Large(i)))), "the initial sync of three 16 MB models");
        Assert.Single(begun.Select(b => b.Hash).Distinct());

        // Round 2. The leader fetches and merges only once every participant's submission is on the ledger; the test
        // sees that block on the sentinel before the leader's replica does, and kills the leader at once.
        var chain = swarm.Sentinel.Node.Chain;
        // 10, 13, 22: no mean of two is a third (the store is content-addressed: a merged model equal to a node's
        // submission would be found, not fetched).
        var sent = nodes.Select((_, i) => Models.Large(Value(i))).ToArray();
        var syncs = channels.Select((c, i) => c.PostModelAsync($"/v1/sessions/{sessions[i]}/sync", sent[i])).ToArray();
        await TestNetwork.WaitUntilAsync(chain,
            s => s.Contracts[Contract] is var c && ((c.Round is { Number: 2, Phase: RoundPhase.Closed } r && r.Submissions.Count == r.Participants.Count) || c.LastMerged?.Round >= 2),
            "round 2 closed with every participant's submission recorded");
        var state = chain.State!;
        var round = state.Contracts[Contract].Round;
        Assert.True(round.Number == 2,
            $"the kill lost the race: round 2 was merged by '{NameOf(state, state.Contracts[Contract].LastMerged!.Leader)}' before the test saw every submission recorded, so there was no merge to interrupt");
        var leader = nodes.Single(n => n.Fingerprint == round.Leader);
        leader.Kill();
        Assert.Equal(3, round.Participants.Count);

        var survivors = nodes.Where(n => n != leader).ToArray();
        var survivorIndexes = survivors.Select(n => Array.IndexOf(nodes, n)).ToArray();
        var answers = await Bounded.WithinAsync(Task.WhenAll(survivorIndexes.Select(i => syncs[i])), "the survivors' answers to round 2");
        foreach (var answer in answers)
        {
            Assert.True(answer.Status == HttpStatusCode.OK, $"a survivor's sync: {(int)answer.Status} {answer.ErrorMessage}");
            Assert.Equal(2, answer.Round);
            Assert.True(answer.Contributed);
        }

        Assert.Single(answers.Select(a => a.Hash).Distinct());
        var merged = chain.State!.Contracts[Contract].LastMerged!;
        Assert.Equal(2, merged.Round);
        Assert.True(merged.Leader != leader.Fingerprint,
            $"the kill lost the race: '{leader.Name}' had sent its merge of round 2 before it was killed, so no other node had to complete the round");
        Assert.Equal(answers[0].Hash, merged.ModelHash);

        // The ledger replaced the dead leader; the next one left the dead node's submission out (nobody serves it now)
        // and merged the survivors' models.
        var failovers = chain.EventsFrom(0, int.MaxValue).Where(e => e.Kind == "leader.failed" && e.Round == 2).ToList();
        Assert.True(failovers.Any(e => e.Member == leader.Fingerprint.ToString() && e.Message.Contains("no heartbeat", StringComparison.Ordinal)),
            $"no leader.failed event names '{leader.Name}' as gone silent: {string.Join("; ", failovers.Select(e => e.Message))}");
        Assert.Equal(survivors.Select(n => n.Fingerprint).Order(), merged.Contributors);
        var successor = survivors.Single(n => n.Fingerprint == merged.Leader);
        Assert.Contains(swarm.Log.LinesOf(successor.Name), l => l.Contains($"leaving out '{leader.Name}'", StringComparison.Ordinal));
        var mean = survivorIndexes.Average(Value);
        Assert.All(answers, a => Assert.Equal(mean, Models.Values(a.Model!, "layer.weight")[^1], 4));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => syncs[Array.IndexOf(nodes, leader)]);

        // Training completes: the survivors end, the dead node does not hold the contract up, and both get the same
        // final model, the one the ledger records.
        var ends = await Bounded.WithinAsync(Task.WhenAll(survivorIndexes.Select(i => channels[i].CallAsync(sessions[i], "end", Models.Large(20 + i)))), "the survivors' end of training");
        Assert.Single(ends.Select(e => e.Hash).Distinct());
        Assert.All(ends, e => Assert.True(e.TrainingOver));
        var contract = chain.State!.Contracts[Contract];
        Assert.Equal(ContractStatus.Completed, contract.Status);
        Assert.Equal(ends[0].Hash, contract.LastMerged!.ModelHash);
        Assert.Equal(ends[0].Hash, ModelHash.Of(ends[1].Body));
    }

    [Fact]
    public async Task A_killed_node_restarted_on_its_directory_rejoins_from_the_latest_merged_model_and_contributes_again()
    {
        // Short timings (full-quorum wait 2 s, member timeout 5 s): the round without the dead node closes quickly.
        await using var swarm = await TestSwarm.StartAsync(output);
        var nodes = await swarm.StartSlProcessesAsync("sl1", "sl2", "sl3");
        var channels = nodes.Select(n => n.Channel()).ToArray();
        var sessions = await Task.WhenAll(channels.Select(c => c.OpenAsync(SessionOptions)));
        var begun = await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "begin", Models.Tiny(i)))), "the initial sync");
        await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "sync", Models.Tiny(10 + i)))), "round 2");

        // Kill a node that did not lead the last round; the other two train a round without it.
        var chain = swarm.Sentinel.Node.Chain;
        var victim = nodes.First(n => n.Fingerprint != chain.State!.Contracts[Contract].LastMerged!.Leader);
        var v = Array.IndexOf(nodes, victim);
        victim.Kill();
        var others = Enumerable.Range(0, nodes.Length).Where(i => i != v).ToArray();
        var without = await Bounded.WithinAsync(Task.WhenAll(others.Select(i => channels[i].CallAsync(sessions[i], "sync", Models.Tiny(20 + i)))), $"a round without '{victim.Name}'");
        Assert.Single(without.Select(a => a.Hash).Distinct());
        var latest = chain.State!.Contracts[Contract].LastMerged!;
        Assert.Equal(without[0].Round, latest.Round);
        Assert.DoesNotContain(victim.Fingerprint, latest.Contributors);

        // Restarted on the same directory, with a new ML program: it starts from the latest merged model, not from
        // the initial one, and does not claim to have contributed to it.
        await victim.StartAsync();
        var channel = victim.Channel();
        var session = await channel.OpenAsync(SessionOptions);
        var rejoined = await Bounded.WithinAsync(channel.CallAsync(session, "begin", Models.Tiny(100)), $"'{victim.Name}' to begin again");
        Assert.Equal(latest.ModelHash, rejoined.Hash);
        Assert.Equal(latest.Round, rejoined.Round);
        Assert.NotEqual(begun[v].Hash, rejoined.Hash);
        Assert.False(rejoined.Contributed);
        Assert.Equal(latest.ModelHash, ModelHash.Of(rejoined.Body));

        // The next round: the restarted node is ready first, so the round waits for it, and its model is merged.
        var next = latest.Round + 1;
        var rejoinedSync = channel.CallAsync(session, "sync", Models.Tiny(200));
        await TestNetwork.WaitUntilAsync(chain, s => s.Contracts[Contract].Round is var r && (r.Number > next || r.Ready.ContainsKey(victim.Fingerprint)),
            $"'{victim.Name}' ready for round {next}");
        var rest = others.Select(i => channels[i].CallAsync(sessions[i], "sync", Models.Tiny(30 + i)));
        var all = await Bounded.WithinAsync(Task.WhenAll(rest.Append(rejoinedSync)), $"round {next} with '{victim.Name}' back");
        var mine = all[^1];
        Assert.Equal(next, mine.Round);
        Assert.True(mine.Contributed, $"'{victim.Name}' did not contribute to round {next}");
        Assert.Single(all.Select(a => a.Hash).Distinct());
        var merged = chain.State!.Contracts[Contract].LastMerged!;
        Assert.Equal(next, merged.Round);
        Assert.Contains(victim.Fingerprint, merged.Contributors);
    }

    private static float Value(int node) => 10 + (3 * node * node);

    private static string NameOf(LedgerState state, Identity.Fingerprint member) => state.Members.TryGetValue(member, out var m) ? m.Name : member.Short;
}

[CollectionDefinition(ProcessFailureTests.Collection, DisableParallelization = true)]
public sealed class SlProcessesRunAlone
{
}
