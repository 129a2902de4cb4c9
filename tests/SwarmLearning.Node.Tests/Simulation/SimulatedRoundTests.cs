using System.Diagnostics;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Merging;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Sessions;
using SwarmLearning.Node.Simulation;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Simulation;

/// <summary>The round engine against the in-memory swarm: real contracts, signatures, stores and hash checks.</summary>
public sealed class SimulatedRoundTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>How long a leader waits for one node to deliver the last two merged models (tiny models: about this).</summary>
    private static readonly TimeSpan MomentumFetchAllowance = TimeSpan.FromSeconds(1);
    private readonly TempDirectory _dir = new();
    private readonly LogCollector _logs = new();
    private SimulatedSwarm _swarm = null!;

    public async Task InitializeAsync() =>
        _swarm = await SimulatedSwarm.CreateAsync(_dir.Path, new LedgerDefaults { MemberTimeoutSeconds = 2, FullQuorumWaitSeconds = 30 }, loggers: _logs);

    public async Task DisposeAsync() => await _swarm.DisposeAsync();

    public void Dispose()
    {
        _dir.Dispose();
        _logs.Dispose();
    }

    private static TensorModel Model(params float[] values) =>
        new([new NamedTensor("w", TensorDType.F32, new TensorShape(values.Length), values)], name: "test");

    private static float[] Values(TensorModel model) => model["w"].Values.ToArray();

    private SwarmSession Session(SimulatedNode node, int minPeers, CheckinMode mode = CheckinMode.Snapshot, int weight = 1, MergeMethod method = MergeMethod.Mean, bool makeMeAdmin = true, double momentum = 0)
    {
        var options = new SessionOptions
        {
            MergeMomentum = momentum,
            SyncFrequency = 1,
            MinPeers = minPeers,
            NodeWeightage = weight,
            CheckinModelOnTrainEnd = mode,
            MergeMethod = method,
            MakeMeAdmin = makeMeAdmin,
        };
        return new SwarmSession(node, node, options, _logs.CreateLogger(node.Name))
        {
            WaitLogInterval = TimeSpan.FromMilliseconds(200),
            MomentumFetchAllowance = MomentumFetchAllowance,
        };
    }

    private async Task<List<SimulatedNode>> NodesAsync(int count)
    {
        var nodes = new List<SimulatedNode>();
        for (var i = 1; i <= count; i++)
        {
            nodes.Add(await _swarm.AddNodeAsync($"sl{i}"));
        }

        return nodes;
    }

    private MergedRecord Last() => _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!;

    /// <summary>The node the ledger ranks first to lead round <paramref name="round"/>.</summary>
    private static Fingerprint LeaderOf(IEnumerable<SimulatedNode> nodes, long round) =>
        nodes.Select(n => n.Self).MinBy(f => ContractEngine.LeaderRank(LedgerDefaults.HpeDefaultContract, round, f));

    /// <summary>
    /// Begins the sessions, then syncs rounds until the next one is led by another node than the last one (the ledger
    /// ranks leaders per round); the merged models' values, in order.
    /// </summary>
    private async Task<List<float[]>> UntilTheNextLeaderIsAnotherAsync(IReadOnlyList<SimulatedNode> nodes, IReadOnlyList<SwarmSession> sessions)
    {
        var merged = new List<float[]> { Values((await All(sessions.Select((s, i) => s.BeginAsync(Model(i + 1, 2 * (i + 1)), CancellationToken.None))))[0].Model) };
        do
        {
            var round = Last().Round + 1;
            merged.Add(Values((await All(sessions.Select((s, i) => s.SyncAsync(Model(round * 10, (round * 10) + (4 * i)), CancellationToken.None))))[0].Model));
        }
        while (LeaderOf(nodes, Last().Round + 1) == Last().Leader);
        return merged;
    }

    private static Task<T[]> All<T>(IEnumerable<Task<T>> tasks) => Task.WhenAll(tasks).WaitAsync(Patience);

    [Fact]
    public async Task Three_nodes_merge_every_round_and_end_with_the_same_model()
    {
        var nodes = await NodesAsync(3);
        var sessions = nodes.Select(n => Session(n, minPeers: 3, weight: n.Index + 1)).ToList();

        var begun = await All(sessions.Select((s, i) => s.BeginAsync(Model(i, i, i, i), CancellationToken.None)));
        Assert.All(begun, b => Assert.Equal(1, b.Round));
        Assert.Single(begun.Select(b => b.Hash).Distinct());

        // The initial sync gives everyone the first leader's initial weights (an average of random starts is a poor start).
        var first = _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!;
        var leader = nodes.Single(n => n.Self == first.Leader);
        Assert.Equal([leader.Self], first.Contributors);
        Assert.All(begun, b => Assert.Equal((float)leader.Index, Values(b.Model)[0]));

        var synced = await All(sessions.Select((s, i) => s.SyncAsync(Model(10 * i, 1, 2, 3), CancellationToken.None)));
        Assert.All(synced, r => Assert.Equal(2, r.Round));
        Assert.All(synced, r => Assert.True(r.Contributed));
        Assert.Equal((0 + 20 + 60) / 6f, Values(synced[2].Model)[0], 4);

        // Each node named its submission in its ready: the block that closed the round recorded all three, so the
        // leader did not wait for another block.
        var second = _swarm.Chain.EventsFrom(0, int.MaxValue).Where(e => e.Round == 2).ToList();
        var closed = Assert.Single(second, e => e.Kind == "round.closed");
        var submitted = second.Where(e => e.Kind == "round.submitted").ToList();
        Assert.Equal(3, submitted.Count);
        Assert.All(submitted, e => Assert.Equal(closed.Height, e.Height));

        var ended = await All(sessions.Select((s, i) => s.EndAsync(Model(i, i, i, i), CancellationToken.None)));
        Assert.All(ended, r => Assert.True(r.TrainingOver));
        Assert.Single(ended.Select(r => r.Hash).Distinct());
        Assert.Single(ended.Select(r => string.Join(',', Values(r.Model))).Distinct());
        var contract = _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract];
        Assert.Equal(ContractStatus.Completed, contract.Status);
        Assert.Equal(ended[0].Hash, contract.LastMerged!.ModelHash);
    }

    [Fact]
    public async Task Krum_in_a_round_leaves_out_the_outlier_and_averages_the_rest_multi_krum_with_m_n_minus_f()
    {
        // Six nodes: Krum tolerates f = (6 - 3) / 2 = 1 and, by default, averages the n - f = 5 best-scored models.
        var nodes = await NodesAsync(6);
        var sessions = nodes.Select(n => Session(n, minPeers: 6, method: MergeMethod.Krum)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i, i), CancellationToken.None)));

        float[] sent = [1, 2, 4, 7, 11, 1000]; // the last is far from everyone: the worst Krum score
        var synced = await All(sessions.Select((s, i) => s.SyncAsync(Model(sent[i], sent[i]), CancellationToken.None)));

        // Plain Krum (m = 1) would give one node's model; multi-Krum gives the mean of the five, 25 / 5 = 5, which is none of them.
        // The five are summed in an order that depends on the nodes' (random) fingerprints: 5 within float rounding.
        Assert.All(synced, r => Assert.All(Values(r.Model), v => Assert.Equal(5f, v, 1e-5f)));
        Assert.Single(synced.Select(r => r.Hash).Distinct());
        Assert.Equal("krum", _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!.MergeMethod);
    }

    [Fact]
    public async Task With_merge_momentum_a_leader_carries_the_last_step_into_its_merge_from_the_third_merge_on()
    {
        var nodes = await NodesAsync(2);
        var sessions = nodes.Select(n => Session(n, minPeers: 2, momentum: 0.5)).ToList();

        // Merge 1, the initial sync: the first leader's weights, X0.
        var x0 = Values((await All(sessions.Select((s, i) => s.BeginAsync(Model(i + 1, 2 * (i + 1)), CancellationToken.None))))[0].Model);

        // Merge 2: one merged model before it, no step yet: X1 is the plain mean, (3, 6).
        var second = await All(sessions.Select((s, i) => s.SyncAsync(Model(2 * (i + 1), 4 * (i + 1)), CancellationToken.None)));
        Assert.All(second, r => Assert.Equal([3f, 6f], Values(r.Model)));
        Assert.Equal(0, Last().Momentum);

        // Merge 3: the mean (15, 20) plus 0.5 (X1 − X0), on every node, and the ledger says so.
        var third = await All(sessions.Select((s, i) => s.SyncAsync(Model(10 * (i + 1), 10 + (20 * i)), CancellationToken.None)));
        float[] expected = [15 + (0.5f * (3 - x0[0])), 20 + (0.5f * (6 - x0[1]))];
        Assert.All(third, r => Assert.Equal(expected, Values(r.Model)));
        Assert.Single(third.Select(r => r.Hash).Distinct());
        Assert.Equal((0.5, second[0].Hash, third[0].Hash), (Last().Momentum, Last().Previous, Last().ModelHash));
        Assert.Contains(_logs.Lines, l => l.Contains("with mean while fetching, momentum 0.5", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_leader_without_the_last_two_merged_models_fetches_them_from_the_last_leader_or_merges_without_momentum(bool lastLeaderHasThem)
    {
        var nodes = await NodesAsync(2);
        var sessions = nodes.Select(n => Session(n, minPeers: 2, momentum: 0.5)).ToList();
        var merged = await UntilTheNextLeaderIsAnotherAsync(nodes, sessions);

        // Every store forgets its merged models, but the last round's leader's when it keeps them: the next leader
        // holds neither of the two, and must fetch them from it.
        var lastLeader = Last().Leader;
        foreach (var node in nodes.Where(n => !(lastLeaderHasThem && n.Self == lastLeader)))
        {
            node.Store.Prune(new HashSet<string>(), TimeSpan.Zero);
        }

        var next = await All(sessions.Select((s, i) => s.SyncAsync(Model(1000, 1000 + (4 * i)), CancellationToken.None)));
        float[] mean = [1000, 1002];
        float[] expected = lastLeaderHasThem ? [.. mean.Select((m, k) => m + (0.5f * (merged[^1][k] - merged[^2][k])))] : mean;
        Assert.NotEqual(lastLeader, Last().Leader);
        Assert.All(next, r => Assert.Equal(expected, Values(r.Model)));
        Assert.Equal(lastLeaderHasThem ? 0.5 : 0, Last().Momentum);
        Assert.Equal(!lastLeaderHasThem, _logs.Lines.Any(l => l.Contains("published without merge momentum", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_leader_whose_last_leader_hangs_serving_the_merged_models_gets_them_from_another_contributor_within_the_bound()
    {
        var nodes = await NodesAsync(3);
        var sessions = nodes.Select(n => Session(n, minPeers: 3, momentum: 0.5)).ToList();
        var merged = await UntilTheNextLeaderIsAnotherAsync(nodes, sessions);

        // The next leader holds neither of the last two merged models; the last leader has them but hangs when asked
        // for them (it serves its submission); the third node has them.
        var (lastLeader, nextLeader) = (Last().Leader, LeaderOf(nodes, Last().Round + 1));
        var step = new HashSet<string>(StringComparer.Ordinal) { Last().ModelHash, Last().Previous! };
        nodes.Single(n => n.Self == nextLeader).Store.Prune(new HashSet<string>(), TimeSpan.Zero);
        var asked = 0;
        nodes.Single(n => n.Self == lastLeader).BeforeServe = async (_, sha, token) =>
        {
            if (step.Contains(sha))
            {
                Interlocked.Increment(ref asked);
                await Task.Delay(Timeout.Infinite, token);
            }
        };

        var started = Stopwatch.GetTimestamp();
        var next = await All(sessions.Select((s, i) => s.SyncAsync(Model(1000, 1000 + (4 * i)), CancellationToken.None)));
        var took = Stopwatch.GetElapsedTime(started);
        float[] mean = [1000, 1004];
        float[] expected = [.. mean.Select((m, k) => m + (0.5f * (merged[^1][k] - merged[^2][k])))];
        Assert.Equal(nextLeader, Last().Leader);
        Assert.Equal(1, asked);
        Assert.Equal(0.5, Last().Momentum);
        Assert.All(next, r => Assert.Equal(expected, Values(r.Model)));
        Assert.InRange(took, MomentumFetchAllowance, MomentumFetchAllowance + TimeSpan.FromSeconds(15));
        Assert.DoesNotContain(_logs.Lines, l => l.Contains("published without merge momentum", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nodes_wait_and_say_so_until_min_peers_are_ready_then_the_round_runs()
    {
        var nodes = await NodesAsync(2);
        var early = nodes.Select(n => Session(n, minPeers: 3)).ToList();
        var waiting = early.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)).ToList();
        await _logs.WaitForAsync(l => l.Contains("waits for peers: 2 ready of the 3 needed", StringComparison.Ordinal), Patience, "saying the round waits for a third peer");
        Assert.All(waiting, t => Assert.False(t.IsCompleted));

        var third = await _swarm.AddNodeAsync("sl3");
        var late = await Session(third, minPeers: 3).BeginAsync(Model(5), CancellationToken.None).WaitAsync(Patience);
        var results = await All(waiting);
        Assert.All(results, r => Assert.Equal(late.Hash, r.Hash));
        Assert.Equal(2, _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].Round.Number); // round 1 merged with all three
        Assert.True(Values(late.Model)[0] is 0f or 1f or 5f); // one node's initial weights
    }

    [Fact]
    public async Task When_the_leader_dies_during_the_merge_the_next_leader_completes_the_round()
    {
        var nodes = await NodesAsync(3);
        var cancel = nodes.Select(_ => new CancellationTokenSource()).ToList();
        var died = new TaskCompletionSource<(SimulatedNode Node, DateTime At)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var killed = 0;
        async Task DieAsync(SimulatedNode n, CancellationToken token)
        {
            if (Interlocked.Exchange(ref killed, 1) == 0)
            {
                await n.GoDownAsync();
                await cancel[n.Index].CancelAsync();
                died.TrySetResult((n, DateTime.UtcNow));
                await Task.Delay(Timeout.Infinite, token);
            }
        }

        var sessions = nodes.Select(n => Session(n, minPeers: 3)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)));
        var baseline = nodes.Select(n => n.Published).ToList();
        foreach (var node in nodes)
        {
            // In round 2 a node's first publish is its submission, its second the merged model: the first leader to
            // get there dies.
            node.BeforePublish = (n, token) => n.Published - baseline[n.Index] == 2 ? DieAsync(n, token) : Task.CompletedTask;
        }

        // Round 2's models differ from every earlier one (the store is content-addressed: a model equal to one a peer
        // already holds would be found there, not fetched).
        var syncs = sessions.Select((s, i) => s.SyncAsync(Model(100 + (i * 3)), cancel[i].Token)).ToList();
        var (leader, at) = await died.Task.WaitAsync(Patience);
        var survivors = await All(syncs.Where((_, i) => i != leader.Index));
        var completedIn = DateTime.UtcNow - at;

        Assert.Single(survivors.Select(r => r.Hash).Distinct());
        var round = _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract];
        Assert.NotEqual(leader.Self, round.LastMerged!.Leader);
        Assert.Equal(2, round.LastMerged.Round);
        // The dead leader's submission cannot be fetched any more: the new leader merges the two survivors' models.
        var expected = nodes.Where(n => n != leader).Average(n => 100 + (n.Index * 3f));
        var actual = Values(survivors[0].Model)[0];
        Assert.True(Math.Abs(expected - actual) < 1e-4, $"merged {actual}, expected {expected} (the dead leader was {leader.Name}); log:\n{string.Join('\n', _logs.Lines.Where(l => l.Contains("round 2", StringComparison.OrdinalIgnoreCase) || l.Contains("Round 2", StringComparison.Ordinal)))}");
        Assert.Contains(_logs.Lines, l => l.Contains($"leaving out '{leader.Name}'", StringComparison.Ordinal));
        Assert.True(completedIn < TimeSpan.FromSeconds(10), $"the round completed {completedIn.TotalSeconds:0.0} s after the leader died");
        Assert.Contains(_logs.Lines, l => l.Contains("Leading round 2", StringComparison.Ordinal) && !l.Contains(leader.Name, StringComparison.Ordinal));
        var deadSync = syncs[leader.Index];
#pragma warning disable VSTHRD003 // the dead node's own sync, started above
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => deadSync);
#pragma warning restore VSTHRD003
        foreach (var c in cancel)
        {
            c.Dispose();
        }
    }

    [Fact]
    public async Task A_peer_serving_a_model_that_does_not_match_its_ledger_hash_is_left_out_with_a_reason()
    {
        var nodes = await NodesAsync(3);
        var sessions = nodes.Select(n => Session(n, minPeers: 3, makeMeAdmin: n.Index != 2)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)));
        nodes[2].ServeCorrupted = bytes =>
        {
            bytes[^1] ^= 0x40; // flip a bit of the last value
            return bytes;
        };

        var results = await All(sessions.Select((s, i) => s.SyncAsync(Model(i * 3), CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(results[0].Hash, r.Hash));
        Assert.Equal(1.5f, Values(results[0].Model)[0], 5); // mean of 0 and 3: the corrupted 6 is out
        var merged = _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!;
        Assert.DoesNotContain(nodes[2].Self, merged.Contributors);
        Assert.Contains(_logs.Lines, l => l.Contains("leaving out 'sl3'", StringComparison.Ordinal) && l.Contains("hash (BLAKE3)", StringComparison.Ordinal));
        Assert.False(results[2].Contributed);
    }

    [Fact]
    public async Task A_submission_with_other_tensors_is_left_out_instead_of_failing_the_merge()
    {
        var nodes = await NodesAsync(3);
        var sessions = nodes.Select(n => Session(n, minPeers: 3, makeMeAdmin: n.Index != 2)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)));

        // sl3 submits a model of another shape (a program that was not built for this swarm's model).
        var results = await All(sessions.Select((s, i) => s.SyncAsync(i == 2 ? Model(9, 9) : Model(i * 4), CancellationToken.None)));
        Assert.Single(results.Select(r => r.Hash).Distinct());
        Assert.Equal(2f, Values(results[0].Model)[0], 5); // mean of 0 and 4
        Assert.DoesNotContain(nodes[2].Self, _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!.Contributors);
        Assert.Contains(_logs.Lines, l => l.Contains("leaving out 'sl3'", StringComparison.Ordinal) && l.Contains("differ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_node_that_joins_late_starts_from_the_latest_merged_model_and_contributes_next_round()
    {
        var nodes = await NodesAsync(2);
        var sessions = nodes.Select(n => Session(n, minPeers: 2)).ToList();
        var first = await All(sessions.Select((s, i) => s.BeginAsync(Model(i * 2), CancellationToken.None)));

        var late = await _swarm.AddNodeAsync("sl3");
        var lateSession = Session(late, minPeers: 2);
        var begun = await lateSession.BeginAsync(Model(100), CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(first[0].Hash, begun.Hash);
        Assert.False(begun.Contributed);
        Assert.Equal(Values(first[0].Model), Values(begun.Model));

        // Once the late node is ready for round 2 it has joined: the round waits for it like for any member.
        var lateSync = lateSession.SyncAsync(Model(2), CancellationToken.None);
        while (!_swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].Round.Ready.ContainsKey(late.Self))
        {
            await _swarm.Chain.WaitForHeightAsync(_swarm.Chain.Height + 1, CancellationToken.None).WaitAsync(Patience);
        }

        var next = await All(sessions.Select((s, i) => s.SyncAsync(Model(i), CancellationToken.None)).Append(lateSync));
        Assert.All(next, r => Assert.True(r.Contributed));
        Assert.Equal(2, next[2].Round);
        Assert.Equal(1f, Values(next[2].Model)[0], 5); // mean of 0, 1, 2
    }

    [Fact]
    public async Task A_node_that_looks_again_only_after_its_round_merged_takes_that_merge_instead_of_waiting_in_the_next_round()
    {
        var nodes = await NodesAsync(2);
        var sessions = nodes.Select(n => Session(n, minPeers: 2)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)));

        // The node that does not lead round 2 sleeps through its closing: it wakes only once the round has merged,
        // with its submission, which came with its ready.
        var slow = nodes.Single(n => n.Self != LeaderOf(nodes, 2));
        slow.BeforeWake = async (_, token) =>
        {
            while (_swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!.Round < 2)
            {
                await _swarm.Chain.WaitForHeightAsync(_swarm.Chain.Height + 1, token);
            }
        };

        var synced = await All(sessions.Select((s, i) => s.SyncAsync(Model(10 * (i + 1)), CancellationToken.None)));
        Assert.All(synced, r => Assert.Equal(2, r.Round));
        Assert.All(synced, r => Assert.True(r.Contributed));
        Assert.Equal(15f, Values(synced[slow.Index].Model)[0]);
        var open = _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].Round;
        Assert.Equal(3, open.Number);
        Assert.Empty(open.Ready); // the slow node did not take round 3 for its own
    }

    [Fact]
    public async Task A_leader_merging_while_fetching_has_three_fetches_in_flight_however_early_its_own_submission_comes()
    {
        // Four nodes in fingerprint order (the merge's order): the first is the heaviest (the mean's reference, taken
        // first), the second the only one that may lead, so the leader's own submission comes second, between fetches.
        var nodes = (await NodesAsync(4)).OrderBy(n => n.Self).ToList();
        var leader = nodes[1];
        var sessions = nodes.Select((n, i) => Session(n, minPeers: 4, weight: i == 0 ? 3 : 1, makeMeAdmin: n == leader)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)));

        // Every served submission waits until three are being served at once, or 10 s.
        var (serving, gaveUp) = (0, 0);
        var threeAtOnce = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var node in nodes.Where(n => n != leader))
        {
            node.BeforeServe = async (_, _, token) =>
            {
                if (Interlocked.Increment(ref serving) == 3)
                {
                    threeAtOnce.TrySetResult();
                }

#pragma warning disable VSTHRD003 // the test's own signal, set by the third serve
                if (await Task.WhenAny(threeAtOnce.Task, Task.Delay(TimeSpan.FromSeconds(10), token)) != threeAtOnce.Task)
#pragma warning restore VSTHRD003
                {
                    Interlocked.Increment(ref gaveUp);
                }
            };
        }

        var synced = await All(sessions.Select((s, i) => s.SyncAsync(Model(4 * i), CancellationToken.None)));
        Assert.Equal(leader.Self, Last().Leader);
        Assert.True(gaveUp == 0, $"{gaveUp} serve(s) waited 10 s for a third one to start: the leader fetched fewer than three submissions at once");
        Assert.Equal((3 * 0 + 4 + 8 + 12) / 6f, Values(synced[0].Model)[0], 4);
        Assert.Contains(_logs.Lines, l => l.Contains("merged 4 of 4 submissions with mean while fetching", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nodes_that_end_early_keep_contributing_their_snapshot_and_everyone_ends_with_the_same_model()
    {
        var nodes = await NodesAsync(3);
        var sessions = nodes.Select(n => Session(n, minPeers: 2, mode: n.Index == 1 ? CheckinMode.Inactive : CheckinMode.Snapshot)).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i), CancellationToken.None)));

        // sl1 ends first with a snapshot of 30; sl2 ends inactive; sl3 trains one more round, then ends with 60.
        var end1 = sessions[0].EndAsync(Model(30), CancellationToken.None);
        var end2 = sessions[1].EndAsync(Model(1000), CancellationToken.None);
        var sync3 = await sessions[2].SyncAsync(Model(60), CancellationToken.None).WaitAsync(Patience);
        var end3 = await sessions[2].EndAsync(Model(60), CancellationToken.None).WaitAsync(Patience);
        var ends = await All([end1, end2]);
        Assert.Equal(end3.Hash, ends[0].Hash);
        Assert.Equal(end3.Hash, ends[1].Hash);
        Assert.Equal(45f, Values(end3.Model)[0], 4); // the snapshot 30 and the final 60; the inactive node weighs 0
        Assert.True(sync3.Round >= 2);
        Assert.Equal(ContractStatus.Completed, _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].Status);
    }

    [Fact]
    public void Adaptive_sync_grows_the_interval_while_loss_improves_and_shrinks_it_when_not()
    {
        var session = new SwarmSession(new NoLedger(), new NoExchange(), new SessionOptions { SyncFrequency = 100, MinPeers = 1, UseAdaptiveSync = true }, _logs.CreateLogger("x"));
        Assert.Equal(150, session.NextAdaptiveInterval(100, 1.0));
        Assert.Equal(225, session.NextAdaptiveInterval(150, 0.9));
        Assert.Equal(112, session.NextAdaptiveInterval(225, 0.9)); // no improvement: halve
        Assert.Equal(56, session.NextAdaptiveInterval(112, 0.95));
        Assert.Equal(28, session.NextAdaptiveInterval(56, 0.95));
        Assert.Equal(25, session.NextAdaptiveInterval(28, 0.95)); // floor: syncFrequency / 4
        var interval = 100;
        for (var i = 0; i < 20; i++)
        {
            interval = session.NextAdaptiveInterval(interval, 0.5 - (i * 0.01));
        }

        Assert.Equal(800, interval); // cap: 8 × syncFrequency
    }

    [Fact]
    public async Task A_node_lets_go_of_its_submission_and_older_rounds_before_it_fetches_the_merged_model()
    {
        var nodes = await NodesAsync(3);
        var exchanges = nodes.Select(n => new StoreWatchingExchange(n)).ToList();
        var sessions = nodes.Select((n, i) => new SwarmSession(n, exchanges[i], new SessionOptions { SyncFrequency = 1, MinPeers = 3 }, _logs.CreateLogger(n.Name))).ToList();
        // Values chosen so that no submission equals a merged model (the mean of i² over three nodes is 5/3): the
        // store keys models by hash, and a submission that happened to be the previous merged model would stay.
        await All(sessions.Select((s, i) => s.BeginAsync(Model(100 + (i * i), 7), CancellationToken.None)));
        for (var round = 0; round < 3; round++)
        {
            var r = round;
            await All(sessions.Select((s, i) => s.SyncAsync(Model((10 * r) + (i * i), r), CancellationToken.None)));
        }

        // Every node but a round's leader fetched each merged model; at that moment its store held neither its own
        // submission of that round nor a merged model older than the previous one: the incoming model replaces them.
        var fetches = exchanges.SelectMany(e => e.Fetches).ToList();
        Assert.True(fetches.Count >= 3 * 2, $"{fetches.Count} merged-model fetches in 3 rounds of 3 nodes");
        Assert.All(fetches, f => Assert.False(f.SubmissionHeld, $"{f.Node} still held its submission when it fetched {f.Hash[..12]}"));
        Assert.All(fetches, f => Assert.True(f.MergedHeld <= 1, $"{f.Node} held {f.MergedHeld} older merged models when it fetched {f.Hash[..12]}"));

        // The previous round's merged model stays servable for a peer that is still catching up.
        var merged = _swarm.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].LastMerged!;
        Assert.All(nodes, n => Assert.True(n.Store.Contains(merged.ModelHash), $"{n.Name} no longer serves the last merged model"));
    }

    [Fact]
    public async Task A_leader_keeps_its_merge_arrays_and_receives_its_next_leads_submissions_into_them()
    {
        // Six nodes: the leader's mean has a group of four, so it also rents a group sum.
        const int N = 6;
        var nodes = await NodesAsync(N);
        var exchanges = nodes.Select(n => new FillingExchange(n)).ToList();
        // Kept whatever the machine's memory load while the tests run (a node keeps them only below 60 % of it).
        var sessions = nodes.Select((n, i) => new SwarmSession(n, exchanges[i], new SessionOptions { SyncFrequency = 1, MinPeers = N }, _logs.CreateLogger(n.Name)) { KeepMergeArraysBelowLoad = 2 }).ToList();
        await All(sessions.Select((s, i) => s.BeginAsync(Model(i, i), CancellationToken.None)));

        // Sync rounds until a node leads for the second time, noting what its pool had allocated after each lead.
        var allocatedAfter = new Dictionary<Fingerprint, List<int>>();
        SyncResult[] results;
        float[] expected;
        do
        {
            var round = Last().Round + 1;
            results = await All(sessions.Select((s, i) => s.SyncAsync(Model(round + i, round - i), CancellationToken.None)));
            expected = [round + ((N - 1) / 2f), round - ((N - 1) / 2f)];
            var leader = Last().Leader;
            var pool = sessions[nodes.FindIndex(n => n.Self == leader)].MergeArrays;
            Assert.True(pool.FreeBytes > 0, $"round {round}: the leader kept no arrays for its next lead");
            (allocatedAfter.TryGetValue(leader, out var counts) ? counts : allocatedAfter[leader] = []).Add(pool.Allocated);
        }
        while (allocatedAfter[Last().Leader].Count < 2);

        // The second lead received its five submissions (and kept its group sum) in the arrays of the first, and the
        // merge is still the plain mean of what was sent. How many arrays a lead holds at once depends on how its
        // fetches interleave with its adds, so the second lead may need one or two more than the first did; but over
        // both leads the pool never holds more than one lead's peak: the reference, three submissions in flight and the
        // group sum. Without recycling, the second lead alone would allocate six.
        const int Peak = 1 + 3 + 1;
        var again = exchanges[nodes.FindIndex(n => n.Self == Last().Leader)];
        Assert.Equal(2 * (N - 1), again.Filled);
        var after = allocatedAfter[Last().Leader];
        Assert.True(after[0] > 0, "the first lead allocated nothing");
        Assert.True(after[1] <= Peak, $"the leader allocated {after[0]} arrays in its first lead and {after[1]} by the end of its second; at most {Peak} are ever needed at once");
        Assert.All(results, r => Assert.All(Values(r.Model).Zip(expected), v => Assert.Equal(v.Second, v.First, 1e-4)));
    }

    /// <summary>A node's exchange that receives a submission to merge into the arrays the leader hands it, as the HTTPS exchange does.</summary>
    private sealed class FillingExchange(SimulatedNode node) : IModelExchange
    {
        /// <summary>How many submissions it received into the leader's arrays.</summary>
        public int Filled { get; private set; }

        public Task<PublishedModel> PublishAsync(TensorModel model, CancellationToken cancellationToken) => node.PublishAsync(model, cancellationToken);

        public Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken) => node.FetchAsync(peer, modelHash, size, cancellationToken);

        public async Task<TensorModel> FetchToMergeAsync(MemberState peer, string modelHash, long size, Func<int, float[]>? allocate, CancellationToken cancellationToken)
        {
            var model = await ((IModelExchange)node).FetchToMergeAsync(peer, modelHash, size, cancellationToken);
            if (allocate is null)
            {
                return model;
            }

            Filled++;
            return new TensorModel([.. model.NamedTensors.Select(t =>
            {
                var values = allocate(t.Values.Length);
                t.Values.CopyTo(values);
                return new NamedTensor(t.Info, values);
            })], name: model.Name);
        }

        public void Retain(IReadOnlySet<string> keep, long arriving) => node.Retain(keep, arriving);
    }

    /// <summary>A node's exchange that notes, at each merged-model fetch, what the node's store still holds.</summary>
    private sealed class StoreWatchingExchange(SimulatedNode node) : IModelExchange
    {
        private readonly List<string> _merged = [];
        private string? _submission;

        public List<(string Node, string Hash, bool SubmissionHeld, int MergedHeld)> Fetches { get; } = [];

        public async Task<PublishedModel> PublishAsync(TensorModel model, CancellationToken cancellationToken)
        {
            var published = await node.PublishAsync(model, cancellationToken);
            _submission = published.Hash;
            return published;
        }

        public async Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken)
        {
            // (The initial round's merged model is the first leader's own submission, the same bytes: that one stays.)
            var older = _merged.Distinct().Count(m => m != modelHash && node.Store.Contains(m));
            Fetches.Add((node.Name, modelHash, _submission is { } own && own != modelHash && node.Store.Contains(own), older));
            var model = await node.FetchAsync(peer, modelHash, size, cancellationToken);
            _merged.Add(modelHash);
            return model;
        }

        public Task<TensorModel> FetchToMergeAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken) =>
            ((IModelExchange)node).FetchToMergeAsync(peer, modelHash, size, cancellationToken);

        public void Retain(IReadOnlySet<string> keep, long arriving) => node.Retain(keep, arriving);
    }

    private sealed class NoLedger : ISwarmLedger
    {
        public Identity.Fingerprint Self => default;

        public LedgerState State => throw new NotSupportedException();

        public Task WaitForBlockAfterAsync(long height, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task SubmitAsync<T>(string type, T payload, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> json, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class NoExchange : IModelExchange
    {
        public Task<PublishedModel> PublishAsync(TensorModel model, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<TensorModel> FetchAsync(MemberState peer, string modelHash, long size, CancellationToken cancellationToken) => throw new NotSupportedException();

        public void Retain(IReadOnlySet<string> keep, long arriving) => throw new NotSupportedException();
    }
}
