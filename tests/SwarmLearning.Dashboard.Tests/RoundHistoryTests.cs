using System.Text.Json;
using SwarmLearning.Cli.Dashboard;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Dashboard.Tests;

/// <summary>The rounds and curves the dashboard derives from blocks and events, which the SN keeps only for the current round.</summary>
public sealed class RoundHistoryTests
{
    private const string Contract = "mnist";
    private static readonly string A = new('a', 64);
    private static readonly string B = new('b', 64);
    private static readonly string C = new('c', 64);
    private static readonly string Hash1 = new('1', 64);
    private static readonly string Hash2 = new('2', 64);

    private static string Name(string fingerprint) => fingerprint[0] switch { 'a' => "sl-a", 'b' => "sl-b", 'c' => "sl-c", _ => "?" };

    private static TransactionView Tx(string sender, string type, object payload) =>
        new(Guid.NewGuid().ToString("N"), type, sender, 1, JsonSerializer.SerializeToElement(payload, JsonSerializerOptions.Web));

    private static BlockView Block(long height, long time, params TransactionView[] txs) => new(height, $"{height:x64}", "", time, "", "", txs);

    private static LedgerEvent Event(long height, long time, string kind, long round, string? member, string message = "") => new(height, time, kind, Contract, round, member, message);

    private static object Ready(long round) => new { contract = Contract, round, weight = 1.0, minPeers = 2, makeMeAdmin = true };

    private static object Progress(double loss, double metric, int done, int total) => new { contract = Contract, loss, metric, epochsDone = done, totalEpochs = total };

    /// <summary>Two rounds of A and B; round 2's leader A fails over to B, who merges; progress reports in between.</summary>
    private static RoundHistory TwoRounds()
    {
        var history = new RoundHistory();
        history.Apply(Block(1, 1_000, Tx(A, "contract.create", new { name = Contract })));
        history.Apply(Block(2, 2_000, Tx(A, "round.ready", Ready(1)), Tx(B, "round.ready", Ready(1))));
        history.Apply(Block(3, 3_000, Tx(A, "round.submit", new { contract = Contract, round = 1, modelHash = Hash1, size = 10 }), Tx(B, "round.submit", new { contract = Contract, round = 1, modelHash = Hash1, size = 10 })));
        history.Apply(Block(4, 5_000, Tx(A, "round.merged", new { contract = Contract, round = 1, modelHash = Hash1, size = 10, contributors = new[] { A, B }, mergeMethod = "mean" })));
        history.Apply(Block(5, 6_000, Tx(A, "training.progress", Progress(0.9, 0.5, 1, 3)), Tx(B, "training.progress", Progress(0.8, 0.6, 1, 3))));
        history.Apply(Block(6, 7_000, Tx(A, "round.ready", Ready(2)), Tx(B, "round.ready", Ready(2))));
        history.Apply(Block(7, 9_000, Tx(B, "round.submit", new { contract = Contract, round = 2, modelHash = Hash2, size = 10 })));
        history.Apply(Block(8, 12_000, Tx(B, "round.merged", new { contract = Contract, round = 2, modelHash = Hash2, size = 10, contributors = new[] { B }, mergeMethod = "coordmedian", momentum = 0.5 })));
        history.Apply(Block(9, 13_000, Tx(A, "training.progress", Progress(0.7, 0.7, 2, 3))));
        history.Apply([
            Event(2, 2_000, "round.closed", 1, A),
            Event(6, 7_000, "round.closed", 2, A),
            Event(7, 9_000, "leader.failed", 2, A, "leader 'sl-a' failed (no heartbeat for 10 s); 'sl-b' takes over"),
            Event(8, 12_000, "round.merged", 2, B),
        ]);
        return history;
    }

    [Fact]
    public void Rounds_have_their_participants_leader_failover_merge_method_duration_and_merged_model()
    {
        var view = TwoRounds().View(Contract, Name)!;

        Assert.Equal([1L, 2L], view.Rounds.Select(r => r.Round));
        var first = view.Rounds[0];
        Assert.Equal("merged", first.Status);
        Assert.Equal(["sl-a", "sl-b"], first.Participants);
        Assert.Equal("sl-a", first.Leader);
        Assert.Equal("sl-a", first.MergedBy);
        Assert.Empty(first.Failovers);
        Assert.Equal("mean", first.MergeMethod);
        Assert.Equal(Hash1, first.ModelHash);
        Assert.Equal(2, first.Contributors);
        Assert.Equal(3.0, first.Seconds); // opened at the first ready (2 s), merged at 5 s

        var second = view.Rounds[1];
        Assert.Equal("sl-a", second.Leader);
        Assert.Equal("sl-b", second.MergedBy);
        var failover = Assert.Single(second.Failovers);
        Assert.Equal("sl-a", failover.From);
        Assert.Contains("takes over", failover.Message, StringComparison.Ordinal);
        Assert.Equal("coordmedian, momentum 0.5", second.MergeMethod);
        Assert.Equal(Hash2, second.ModelHash);
        Assert.Equal(7.0, second.Seconds); // opened when round 1 merged (5 s), merged at 12 s
    }

    [Fact]
    public void Progress_reports_are_filed_under_the_round_open_when_they_came_with_an_ETA_at_the_pace_so_far()
    {
        var view = TwoRounds().View(Contract, Name)!;

        var a = view.Nodes.Single(n => n.Name == "sl-a");
        Assert.Equal([(2L, 0.9), (3L, 0.7)], a.Points.Select(p => (p.Round, p.Loss)));
        Assert.Equal(2, a.EpochsDone);
        Assert.Equal(3, a.TotalEpochs);
        // A first became ready at 2 s and had done 2 epochs at 13 s: 5.5 s per epoch, one to go.
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(18_500).UtcDateTime, DateTime.Parse(a.EtaAt!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal));

        var b = view.Nodes.Single(n => n.Name == "sl-b");
        Assert.Equal(0.6, Assert.Single(b.Points).Metric);
    }

    [Fact]
    public void Participants_are_listed_by_name_whatever_their_fingerprints()
    {
        var view = TwoRounds().View(Contract, f => f[0] == 'a' ? "zeta" : "alpha")!;
        Assert.Equal(["alpha", "zeta"], view.Rounds[0].Participants);
    }

    [Fact]
    public void The_ETA_is_unknown_before_the_first_epoch_and_the_last_report_once_done()
    {
        Assert.Null(RoundHistory.EtaAt(1_000, new ProgressPoint(1, 5_000, 1, 0, 0, 3)));
        Assert.Null(RoundHistory.EtaAt(1_000, new ProgressPoint(1, 5_000, 1, 0, 2, 0)));
        Assert.Equal(5_000, RoundHistory.EtaAt(1_000, new ProgressPoint(1, 5_000, 1, 0, 3, 3)));
        Assert.Equal(9_000, RoundHistory.EtaAt(1_000, new ProgressPoint(1, 5_000, 1, 0, 1, 2)));
    }

    [Fact]
    public void A_reset_starts_a_new_run_and_events_of_the_old_one_are_ignored()
    {
        var history = TwoRounds();
        history.Apply(Block(10, 20_000, Tx(A, "contract.reset", new { name = Contract })));
        history.Apply(Block(11, 21_000, Tx(C, "round.ready", Ready(1))));
        history.Apply([Event(6, 7_000, "round.closed", 2, A), Event(11, 21_000, "round.closed", 1, C)]);

        var view = history.View(Contract, Name)!;
        var round = Assert.Single(view.Rounds);
        Assert.Equal(["sl-c"], round.Participants);
        Assert.Equal("sl-c", round.Leader);
        Assert.Equal("closed", round.Status);
        Assert.Empty(view.Nodes);
        Assert.Equal(10, view.Since);
    }

    [Fact]
    public void A_block_applied_twice_counts_once_and_a_contract_made_at_genesis_is_followed()
    {
        var history = new RoundHistory();
        var block = Block(1, 1_000, Tx(A, "training.progress", Progress(0.5, 0.5, 1, 2)));
        history.Apply(block);
        history.Apply(block);
        Assert.Equal(1, history.Height);

        // No contract.create: the default contract comes from the genesis block.
        var view = history.View(Contract, Name)!;
        Assert.Single(Assert.Single(view.Nodes).Points);
        Assert.Null(history.View("unknown", Name));
    }
}
