using System.Net;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// A whole swarm in one process: a sentinel SN, two SL hosts, and two ML "programs" that drive their nodes over the
/// Unix sockets exactly as docs/local-channel.md describes (begin, sync, sync, end), with tiny models.
/// </summary>
public sealed class EndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Two_ML_programs_train_through_their_SL_nodes_and_end_with_the_same_final_model()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");

        var runs = await Task.WhenAll(RunProgramAsync(swarm, sl1, seed: 1), RunProgramAsync(swarm, sl2, seed: 10)).WaitAsync(Limit);
        var (a, b) = (runs[0], runs[1]);

        // The initial sync gives both programs the same starting model, the one the ledger records (which initial
        // weights it is made of is the round engine's rule, tested with the engine).
        Assert.Equal(a.Begin.Hash, b.Begin.Hash);
        Assert.Equal(a.Begin.Hash, ModelHash.Of(b.Begin.Body));
        Assert.Equal(Models.Values(a.Begin.Model!, "fc.weight"), Models.Values(b.Begin.Model!, "fc.weight"));

        // Each sync merges what both trained since; both get the same model, and it is the mean of the two.
        for (var i = 0; i < a.Syncs.Count; i++)
        {
            Assert.Equal(a.Syncs[i].Hash, b.Syncs[i].Hash);
            Assert.True(a.Syncs[i].Round > (i == 0 ? a.Begin.Round : a.Syncs[i - 1].Round), "every sync is a later round");
            Assert.Equal(Mean(a.Sent[i], b.Sent[i], "fc.bias"), Models.Values(a.Syncs[i].Model!, "fc.bias"));
        }

        // The end: the same final model on both, recorded on the ledger, written to each node's final.safetensors.
        Assert.Equal(a.End.Hash, b.End.Hash);
        Assert.True(a.End.TrainingOver && b.End.TrainingOver);
        Assert.Equal(a.End.Hash, ModelHash.Of(a.End.Body));
        foreach (var node in new[] { sl1, sl2 })
        {
            Assert.Equal(a.End.Hash, await ModelHash.ComputeAsync(node.Node.FinalModelPath));
            var state = node.Node.Ledger.State.Contracts[LedgerDefaults.HpeDefaultContract];
            Assert.Equal(ContractStatus.Completed, state.Status);
            Assert.Equal(a.End.Hash, state.LastMerged!.ModelHash);
        }
    }

    [Fact]
    public async Task A_node_started_with_make_me_admin_false_never_leads()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var options = swarm.Options("sl2");
        options.MakeMeAdmin = false;
        var sl2 = await swarm.StartSlAsync("sl2", options);

        await Task.WhenAll(RunProgramAsync(swarm, sl1, seed: 1), RunProgramAsync(swarm, sl2, seed: 10)).WaitAsync(Limit);
        var merges = swarm.Sentinel.Node.Chain.EventsFrom(0, int.MaxValue).Where(e => e.Kind == "round.merged").ToList();
        Assert.True(merges.Count >= 4, $"{merges.Count} merges"); // begin, two syncs, the end
        Assert.All(merges, e => Assert.Equal(sl1.Node.Identity.Fingerprint.ToString(), e.Member));
    }

    private static float[] Mean(TensorModel x, TensorModel y, string tensor) =>
        [.. Models.Values(x, tensor).Zip(Models.Values(y, tensor), (p, q) => (p + q) / 2)];

    /// <summary>"Training": a step that every program makes differently (its seed), so merges have something to do.</summary>
    private static TensorModel Train(TensorModel model, float seed, int step) =>
        new([.. model.NamedTensors.Select(t => new NamedTensor(t.Info, [.. t.Values.Select((v, k) => v + (seed * (step + 1)) + (k * 0.25f))]))]);

    private sealed record ProgramRun(SyncAnswer Begin, List<TensorModel> Sent, List<SyncAnswer> Syncs, SyncAnswer End);

    private static async Task<ProgramRun> RunProgramAsync(TestSwarm swarm, RunningLearningNode node, float seed)
    {
        var channel = swarm.Channel(node);
        var (status, info) = await channel.GetAsync("/v1/info");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, info.GetProperty("apiVersion").GetInt32());
        Assert.Equal(node.Node.Identity.Name, info.GetProperty("node").GetString());

        var id = await channel.OpenAsync("""{"syncFrequency": 4, "minPeers": 2, "mergeMethod": "MEAN", "totalEpochs": 2, "apiVersion": 2}""");
        var begin = await channel.PostModelAsync($"/v1/sessions/{id}/begin", Models.Tiny(seed));
        Assert.True(begin.Status == HttpStatusCode.OK, $"begin: {begin.ErrorMessage}");

        var model = begin.Model!;
        var sent = new List<TensorModel>();
        var syncs = new List<SyncAnswer>();
        for (var step = 0; step < 2; step++)
        {
            var local = Train(model, seed, step);
            sent.Add(local);
            var sync = await channel.PostModelAsync($"/v1/sessions/{id}/sync", local);
            Assert.True(sync.Status == HttpStatusCode.OK, $"sync {step}: {sync.ErrorMessage}");
            syncs.Add(sync);
            model = sync.Model!;
            var (progressStatus, progress) = await channel.PostJsonAsync($"/v1/sessions/{id}/progress", $$"""{"loss": {{1.0 / (step + 1)}}, "metric": 0.5, "epochsDone": {{step + 1}}, "totalEpochs": 2}""");
            Assert.True(progressStatus == HttpStatusCode.OK, $"progress: {progress}");
            Assert.Equal(4, progress.GetProperty("syncInterval").GetInt32());
        }

        var end = await channel.PostModelAsync($"/v1/sessions/{id}/end", Train(model, seed, 2));
        Assert.True(end.Status == HttpStatusCode.OK, $"end: {end.ErrorMessage}");
        Assert.Equal(HttpStatusCode.NoContent, await channel.DeleteAsync($"/v1/sessions/{id}"));
        return new ProgramRun(begin, sent, syncs, end);
    }
}
