using SwarmLearning.Tensors;
using SwarmLearning.Training;
using SwarmLearning.Training.Optimizers;
using SwarmLearning.Training.Swarm;

namespace SwarmLearning.Client.Tests;

/// <summary>The Training library's bridge: Trainer.Fit drives the SwarmCallback through the fake SL node.</summary>
public sealed class SwarmTrainingCallbackTests
{
    private static TensorModel Copy(TensorModel model) =>
        new(model.NamedTensors.Select(t => new NamedTensor(t.Info, [.. t.Values])), name: "start");

    [Fact]
    public void The_network_adapter_gives_the_live_parameters_and_loads_a_model_into_them()
    {
        var network = TinyTraining.NewNetwork(seed: 1);
        var adapter = new NetworkModelAdapter(network);
        var weights = adapter.GetWeights();
        Assert.Equal(network.Parameters.Select(p => p.Name), weights.Tensors.Select(t => t.Name));
        Assert.Same(network.Parameters[0].Values, weights.NamedTensors[0].Values);

        var other = Copy(TinyTraining.NewNetwork(seed: 2).ToModel());
        adapter.SetWeights(other);
        Assert.Equal(TestModels.Flat(other), TinyTraining.Weights(network));
    }

    [Fact]
    public async Task Fit_syncs_through_the_SL_node_and_ends_with_the_final_swarm_model()
    {
        using var dir = new TempDirectory();
        var start = Copy(TinyTraining.NewNetwork(seed: 50).ToModel());
        await using var node = await FakeSlNode.StartAsync(dir.Path, start);
        var data = TinyTraining.Blobs(60, seed: 4);
        var network = TinyTraining.NewNetwork(seed: 1);
        var options = new SwarmCallbackOptions { SyncFrequency = 4, MinPeers = 1, Loopback = false, SlSocket = node.SocketPath, TotalEpochs = 3 };
        var logger = new ListLogger();
        await using var callback = new SwarmTrainingCallback(network, options, validation: data, logger);

        new Trainer(network, new Adam(0.01f), batchSize: 10, seed: 2).Fit(data, epochs: 3, callback);

        // 6 batches an epoch, 18 in all: syncs after batches 4, 8, 12 and 16.
        Assert.Equal(4, node.Of("sync").Count());
        Assert.Equal(4, callback.Swarm.SyncCount);
        // The first model sent is the network's own initial weights; the initial sync then loads the node's start model.
        Assert.Equal(TinyTraining.Weights(TinyTraining.NewNetwork(seed: 1)), TestModels.Flat(Load(dir, node.Of("begin").Single().Body)));
        // Progress: after each sync (with the test loss and accuracy) and after each epoch.
        var progress = node.Of("progress").Select(p => p.Json).ToList();
        Assert.Equal(4 + 3, progress.Count);
        Assert.All(progress, p => Assert.Equal(3, p.GetProperty("totalEpochs").GetInt32()));
        Assert.Equal(3, progress[^1].GetProperty("epochsDone").GetInt32());
        Assert.Contains(progress, p => p.GetProperty("metric").GetDouble() > 0);
        // The network holds what /end answered.
        Assert.Single(node.Of("end"));
        Assert.Equal(TestModels.Flat(node.Answers[^1]), TinyTraining.Weights(network));
        Assert.Equal(1, logger.Count("All peers and Swarm training rounds finished. Final Swarm model was loaded."));
    }

    [Fact]
    public async Task A_merged_model_the_network_cannot_take_stops_training_with_the_tensors_name()
    {
        using var dir = new TempDirectory();
        await using var node = await FakeSlNode.StartAsync(dir.Path, TestModels.Make(1)); // fc1.* only: not this network's model
        var network = TinyTraining.NewNetwork();
        var options = new SwarmCallbackOptions { SyncFrequency = 4, MinPeers = 1, Loopback = false, SlSocket = node.SocketPath };
        await using var callback = new SwarmTrainingCallback(network, options, logger: new ListLogger());
        var before = TinyTraining.Weights(network);
        var e = Assert.Throws<SwarmException>(() => new Trainer(network, new Adam(0.01f), batchSize: 10).Fit(TinyTraining.Blobs(30, seed: 1), 1, callback));
        Assert.Equal("Tensor 'fc1.weight' of model 'the SL node's starting model (round 0)' has shape [2, 3], but this network needs [16, 6].", e.Message);
        Assert.Equal(before, TinyTraining.Weights(network));
    }

    private static TensorModel Load(TempDirectory dir, byte[] body)
    {
        var path = dir.File(Guid.NewGuid().ToString("N") + ".safetensors");
        File.WriteAllBytes(path, body);
        using var file = Safetensors.SafetensorsFile.Open(path);
        return file.LoadModel();
    }
}
