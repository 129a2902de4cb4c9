using SwarmLearning.Training;
using SwarmLearning.Training.Optimizers;
using SwarmLearning.Training.Swarm;

namespace SwarmLearning.Client.Tests;

public sealed class LoopbackTests
{
    [Fact]
    public void Loopback_trains_a_network_exactly_as_without_the_callback()
    {
        var data = TinyTraining.Blobs(90, seed: 1);
        var alone = TinyTraining.NewNetwork();
        new Trainer(alone, new Adam(0.01f), batchSize: 8, seed: 3).Fit(data, epochs: 4);

        var swarmed = TinyTraining.NewNetwork();
        var logger = new ListLogger();
        // The socket names nothing: loopback must not touch it.
        var options = new SwarmCallbackOptions { SyncFrequency = 3, MinPeers = 2, Loopback = true, SlSocket = "/nonexistent/ml.sock", TotalEpochs = 4 };
        using (var callback = new SwarmTrainingCallback(swarmed, options, validation: data, logger))
        {
            new Trainer(swarmed, new Adam(0.01f), batchSize: 8, seed: 3).Fit(data, epochs: 4, callback);
            Assert.True(callback.Swarm.IsLoopback);
            Assert.Equal(4 * 12, callback.Swarm.BatchesDone); // 90 samples in batches of 8: 12 per epoch
            Assert.Equal(4, callback.Swarm.EpochsCompleted);
            Assert.Null(callback.Swarm.LastResult);
        }

        Assert.Equal(TinyTraining.Weights(alone), TinyTraining.Weights(swarmed));
        Assert.NotEqual(TinyTraining.Weights(TinyTraining.NewNetwork()), TinyTraining.Weights(swarmed)); // it did train
        Assert.Equal(1, logger.Count("Swarm callback is in loopback mode"));
    }

    [Fact]
    public void Loopback_syncs_return_the_local_weights_at_HPEs_points()
    {
        var model = new RecordingAdapter(TestModels.Make(1));
        var options = new SwarmCallbackOptions { SyncFrequency = 3, MinPeers = 1, Loopback = true };
        using var callback = new SwarmCallback(options, model, new ListLogger());
        callback.OnTrainBegin();
        var syncedAfter = new List<int>();
        for (var batch = 1; batch <= 10; batch++)
        {
            model.Step(1);
            var sets = model.Sets.Count;
            callback.OnBatchEnd();
            if (model.Sets.Count > sets)
            {
                syncedAfter.Add(batch);
                Assert.Equal(TestModels.Flat(model.Current), model.Sets[^1]); // what came back is what was there
            }
        }

        callback.OnEpochEnd();
        callback.OnTrainEnd();
        Assert.Equal([3, 6, 9], syncedAfter);
        Assert.Equal(5, model.Sets.Count); // begin, three syncs, end
        Assert.Equal(0, callback.SyncCount);
        Assert.Equal(1, callback.EpochsCompleted);
    }

    [Fact]
    public void Hooks_out_of_order_are_refused()
    {
        using var callback = new SwarmCallback(new SwarmCallbackOptions { SyncFrequency = 1, MinPeers = 1, Loopback = true }, new RecordingAdapter(TestModels.Make(0)), new ListLogger());
        Assert.Contains("before OnTrainBegin", Assert.Throws<InvalidOperationException>(() => callback.OnBatchEnd()).Message, StringComparison.Ordinal);
        callback.OnTrainBegin();
        Assert.Throws<InvalidOperationException>(() => callback.OnTrainBegin());
        callback.OnTrainEnd();
        Assert.Throws<InvalidOperationException>(() => callback.OnTrainEnd());
    }
}
