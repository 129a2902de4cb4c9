using SwarmLearning.Node.Rounds;

namespace SwarmLearning.Node.Tests;

/// <summary>The leader's code path compiled at start-up, off the first lead's critical path.</summary>
public sealed class LeaderWarmUpTests
{
    [Fact]
    public void Merges_a_small_model_both_ways_a_leader_does_and_gets_the_same_bits()
    {
        // It takes no store, ledger or network, so running it twice in one process is harmless.
        Assert.True(LeaderWarmUp.Run(CancellationToken.None), "the streaming mean and the engine's mean differ");
        Assert.True(LeaderWarmUp.Run(CancellationToken.None), "the second run's means differ");
    }

    [Fact]
    public void Stops_when_the_node_stops()
    {
        using var stopped = new CancellationTokenSource();
        stopped.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => LeaderWarmUp.Run(stopped.Token));
    }
}
