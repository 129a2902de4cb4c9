using SwarmLearning.Merging;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// A leader merging with <c>mean</c> takes the submissions as they arrive (a few at a time) instead of holding them
/// all: the model it publishes must still be exactly the merge engine's mean of the round's submissions, in the
/// ledger's order, with the nodes' weights.
/// </summary>
public sealed class MergeWhileFetchingTests(ITestOutputHelper output)
{
    private static TensorModel Model(int node, int round)
    {
        // Close but different values over tensors whose sizes leave vector tails, as trained models would be.
        var random = new Random((node * 131) + round);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() - 0.5) * 0.1))];
        return new TensorModel(
        [
            new NamedTensor("fc1.weight", TensorDType.F32, new TensorShape(67, 301), Values(67 * 301)),
            new NamedTensor("fc1.bias", TensorDType.F32, new TensorShape(67), Values(67)),
            new NamedTensor("fc2.weight", TensorDType.F32, new TensorShape(10, 67), Values(670)),
        ]);
    }

    [Fact]
    public async Task Six_nodes_with_different_weights_get_exactly_the_engines_mean_of_their_submissions()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        const int N = 6; // the leader's own model, one group of four and one more: every step of the streamed mean
        int[] weightage = [3, 7, 1, 7, 2, 5];
        var nodes = new List<RunningLearningNode>();
        for (var i = 0; i < N; i++)
        {
            nodes.Add(await swarm.StartSlAsync($"sl{i + 1}"));
        }

        var channels = nodes.Select(swarm.Channel).ToArray();
        var sessions = await Task.WhenAll(channels.Select((c, i) => c.OpenAsync($$"""{"syncFrequency": 1, "minPeers": {{N}}, "nodeWeightage": {{weightage[i]}}, "apiVersion": 2}""")));
        await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "begin", Model(i, 0)))), "the initial sync");

        var sent = Enumerable.Range(0, N).Select(i => Model(i, 1)).ToArray();
        var answers = await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "sync", sent[i]))), "the first merged round");

        // What the ledger says was merged, and in which order (its submissions, by fingerprint).
        var state = nodes[0].Node.Ledger.State;
        var merged = state.Contracts.Values.Single().LastMerged!;
        Assert.Equal("mean", merged.MergeMethod);
        Assert.Equal(N, merged.Contributors.Count);
        var byFingerprint = nodes.Select((n, i) => (n.Node.Identity.Fingerprint, Index: i)).OrderBy(x => x.Fingerprint).ToList();
        var inputs = byFingerprint.Select(x => new MergeInput(sent[x.Index], weightage[x.Index])).ToList();
        var (expected, _) = ModelMerger.Merge(inputs, new MergeOptions { Method = MergeMethod.Mean });

        Assert.All(answers, a => Assert.Equal(merged.ModelHash, a.Hash));
        Assert.Equal(SafetensorsEncoding.Measure(expected).Hash, merged.ModelHash);

        // It was merged while fetching, not by the fallback that fetches everything first.
        Assert.Contains(swarm.Log.Lines, l => l.Contains($"merged {N} of {N} submissions with mean while fetching", StringComparison.Ordinal));
        Assert.DoesNotContain(swarm.Log.Lines, l => l.Contains("merging while fetching stopped", StringComparison.Ordinal));
    }
}
