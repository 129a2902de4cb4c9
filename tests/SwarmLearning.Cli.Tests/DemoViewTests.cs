using System.Text.Json;
using Spectre.Console;
using SwarmLearning.Cli.Demo;

namespace SwarmLearning.Cli.Tests;

/// <summary>
/// What the demo shows while it runs: the ledger's training contract as read, the ML programs' lines as understood,
/// and the live table drawn from them.
/// </summary>
public sealed class DemoViewTests
{
    private static readonly string Sl1 = new('a', 64);
    private static readonly string Sl2 = new('b', 64);

    [Fact]
    public void A_training_contract_is_read_as_the_SN_serves_it()
    {
        var contract = ContractView.Parse(Contract(round: 6, phase: "closed", leader: Sl2, mergedRound: 5, mergedLeader: Sl1));
        Assert.Equal("running", contract.Status);
        Assert.Equal(6, contract.Round);
        Assert.Equal("closed", contract.Phase);
        Assert.Equal(Sl2, contract.Leader);
        Assert.Equal([Sl1, Sl2], contract.Ready.Order(StringComparer.Ordinal));
        Assert.Equal(5, contract.MergedRound);
        Assert.Equal(Sl1, contract.MergedLeader);
        Assert.Equal(2, contract.MergedContributors);
        Assert.Equal(new ProgressView(0.5384, 0.8034, 1, 2), contract.Progress[Sl1]);
        Assert.Empty(contract.Finished);
    }

    [Fact]
    public void A_new_contract_has_no_leader_merge_or_progress()
    {
        // What GET /v1/contracts/{name} answers before any node is ready (null members are left out).
        using var json = JsonDocument.Parse("""
            {"name":"defaultbb.cqdb.sml.hpe","createdBy":"00","createdAt":1,"status":"created","resets":0,
             "round":{"number":1,"phase":"collecting","ready":{},"participants":[],"leaderOrder":[],"leaderIndex":0,"leaderSince":0,"submissions":{},"failovers":[]},
             "joined":[],"finished":{},"progress":{}}
            """);
        var contract = ContractView.Parse(json.RootElement);
        Assert.Equal(1, contract.Round);
        Assert.Null(contract.Leader);
        Assert.Null(contract.MergedRound);
        Assert.Empty(contract.Progress);
    }

    [Fact]
    public void The_ML_programs_lines_move_each_node_through_its_stages()
    {
        var state = State();
        var node = state.Nodes[0];
        // The SwarmCallback's own words (HPE's), as swarm train prints them on standard error.
        state.OnProgramLine(node, "swarm: Initial sync: waiting for the swarm's starting model ...");
        Assert.Equal(NodeStage.InitialSync, node.Stage);
        state.OnProgramLine(node, "swarm: Initial sync done: training starts from the model of round 1; syncing every 54 batches");
        Assert.Equal((NodeStage.Training, 1L), (node.Stage, node.Round));
        state.OnProgramLine(node, "swarm: Starting Swarm merging round ... (after batch 162)");
        Assert.Equal((NodeStage.Syncing, 162L), (node.Stage, node.BatchesDone));
        Assert.Equal(0.74, node.EpochProgress, 2); // 162 of 219 batches per epoch
        state.OnProgramLine(node, "swarm: Merge Done: round 4 (contributed: True), loss 0.524144, metric 0.8136; RVInt [cur: 54 Nxt: 54]");
        Assert.Equal((NodeStage.Training, 4L), (node.Stage, node.Round));
        state.OnProgramLine(node, "swarm: Finished local training: 438 batches, 2 epochs");
        Assert.Equal((NodeStage.FinalMerge, 438L), (node.Stage, node.BatchesDone));
        Assert.Equal(2.0, node.EpochProgress);
        state.OnContract(ContractView.Parse(Contract(round: 11, phase: "collecting", leader: null, mergedRound: 10, mergedLeader: Sl2)));
        state.OnProgramLine(node, "swarm: All peers and Swarm training rounds finished. Final Swarm model was loaded.");
        Assert.Equal((NodeStage.Done, 10L), (node.Stage, node.Round));
    }

    [Fact]
    public void The_ledger_gives_loss_accuracy_epochs_and_one_event_per_merge()
    {
        var state = State();
        state.TakeEvents();
        state.OnContract(ContractView.Parse(Contract(round: 6, phase: "closed", leader: Sl2, mergedRound: 5, mergedLeader: Sl1)));
        state.OnContract(ContractView.Parse(Contract(round: 6, phase: "closed", leader: Sl2, mergedRound: 5, mergedLeader: Sl1)));
        var events = state.TakeEvents();
        Assert.Single(events, e => e.StartsWith("round 5 merged by sl1 from 2 models", StringComparison.Ordinal));
        Assert.Contains(events, e => e.StartsWith("sl1: epoch 1/2 done", StringComparison.Ordinal));
        var node = state.Nodes[0];
        Assert.Equal((0.5384, 0.8034, 1), (node.Loss!.Value, node.Metric!.Value, node.EpochsDone));
        Assert.Empty(state.TakeEvents());
    }

    [Fact]
    public void The_live_table_shows_every_node_its_progress_and_the_leader()
    {
        var state = State();
        state.OnContract(ContractView.Parse(Contract(round: 6, phase: "closed", leader: Sl2, mergedRound: 5, mergedLeader: Sl1)));
        state.OnProgramLine(state.Nodes[0], "swarm: Starting Swarm merging round ... (after batch 380)");
        var text = Draw(state);
        Assert.Contains("sl1", text, StringComparison.Ordinal);
        Assert.Contains("14,000", text, StringComparison.Ordinal);
        Assert.Contains("1.7/2", text, StringComparison.Ordinal); // 380 batches of 219 an epoch
        Assert.Contains("0.0/2", text, StringComparison.Ordinal); // sl2 has not reported yet
        Assert.Contains("80.34 %", text, StringComparison.Ordinal);
        Assert.Contains("leads round 6", text, StringComparison.Ordinal);
        Assert.Contains("round 6: merging, led by sl2; last merged: round 5 by sl1", text, StringComparison.Ordinal);
        Assert.Contains("round 5 merged by sl1", text, StringComparison.Ordinal);
        Assert.Contains("Ctrl+C", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(14_000, null, 54)] // 219 batches an epoch: four rounds
    [InlineData(14_000, 600, 2)]   // 10 batches
    [InlineData(14_000, 64, 1)]    // one batch: a sync after every batch
    public void The_default_sync_frequency_gives_about_four_rounds_per_epoch(int samples, int? limit, int expected) =>
        Assert.Equal(expected, new DemoOptions { Limit = limit }.EffectiveSyncFrequency(samples));

    [Fact]
    public void A_given_sync_frequency_is_kept() =>
        Assert.Equal(7, new DemoOptions { SyncFrequency = 7 }.EffectiveSyncFrequency(14_000));

    private static DemoState State() => new(
        "2 nodes · test",
        [
            new NodeState { Name = "sl1", Fingerprint = Sl1, Samples = 14_000, FavouredClasses = [0, 1, 3], BatchesPerEpoch = 219, Epochs = 2 },
            new NodeState { Name = "sl2", Fingerprint = Sl2, Samples = 15_000, FavouredClasses = [2, 8, 9], BatchesPerEpoch = 235, Epochs = 2 },
        ],
        "/tmp/demo");

    private static string Draw(DemoState state)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 200;
        console.Write(LiveView.Render(state, unicode: true));
        return writer.ToString();
    }

    /// <summary>A contract as the SN's API serves it (GET /v1/contracts/{name}), with two SL nodes ready.</summary>
    private static JsonElement Contract(long round, string phase, string? leader, long mergedRound, string mergedLeader)
    {
        var leaderField = leader is null ? string.Empty : $"\"leader\":\"{leader}\",";
        var text = $$$"""
            {"name":"defaultbb.cqdb.sml.hpe","createdBy":"{{{new string('0', 64)}}}","createdAt":1795296041494,"status":"running","resets":0,
             "round":{"number":{{{round}}},"phase":"{{{phase}}}",
                      "ready":{"{{{Sl1}}}":{"weight":1,"minPeers":2,"makeMeAdmin":true,"at":1},"{{{Sl2}}}":{"weight":1,"minPeers":2,"makeMeAdmin":true,"at":2}},
                      "participants":["{{{Sl1}}}","{{{Sl2}}}"],"leaderOrder":["{{{Sl2}}}","{{{Sl1}}}"],"leaderIndex":0,"leaderSince":3,{{{leaderField}}}
                      "submissions":{},"failovers":[]},
             "lastMerged":{"round":{{{mergedRound}}},"modelHash":"{{{new string('e', 64)}}}","size":941040,"contributors":["{{{Sl1}}}","{{{Sl2}}}"],
                           "leader":"{{{mergedLeader}}}","mergeMethod":"mean","at":1795296079538},
             "joined":["{{{Sl1}}}","{{{Sl2}}}"],"finished":{},
             "progress":{"{{{Sl1}}}":{"loss":0.5384,"metric":0.8034,"epochsDone":1,"totalEpochs":2,"at":4} } }
            """;
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }
}
