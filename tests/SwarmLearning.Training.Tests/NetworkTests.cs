using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Layers;
using SwarmLearning.Training.Models;
using SwarmLearning.Training.Optimizers;

namespace SwarmLearning.Training.Tests;

public sealed class NetworkTests
{
    [Fact]
    public void Parameters_are_named_and_shaped_as_PyTorch_names_them()
    {
        var cnn = Architectures.Create("cnn", new SampleShape(1, 28, 28), 10, seed: 1);
        Assert.Equal(
            ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
            cnn.Parameters.Select(p => p.Name));
        Assert.Equal(new TensorShape(32, 1, 3, 3), cnn.Parameters[0].Shape);
        Assert.Equal(new TensorShape(128, 64 * 7 * 7), cnn.Parameters[4].Shape);
        Assert.Equal(421_642, cnn.ParameterCount);
        var mlp = Architectures.Create("mlp", new SampleShape(1, 28, 28), 10, seed: 1);
        Assert.Equal(235_146, mlp.ParameterCount);
    }

    [Fact]
    public void A_tiny_model_overfits_a_tiny_batch()
    {
        var data = Blobs(count: 16, features: 12, classes: 4, seed: 2, noise: 3f);
        var network = new Network(data.Shape, [new Dense(32), new ReLU(), new Dense(4)], seed: 3);
        var trainer = new Trainer(network, new Adam(0.01f), batchSize: 16, seed: 4);
        var first = trainer.Evaluate(data).Loss;
        trainer.Fit(data, epochs: 200);
        var last = trainer.Evaluate(data);
        Assert.True(first > 0.5, $"starting loss {first}");
        Assert.True(last.Loss < 0.01, $"loss after 200 steps on 16 samples is {last.Loss} (from {first})");
        Assert.Equal(1.0, last.Accuracy);
    }

    [Fact]
    public void A_small_cnn_learns_with_sgd_and_momentum()
    {
        var data = Stripes(count: 64, seed: 5);
        var network = new Network(
            data.Shape, [new Conv2d(4, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Dense(2)], seed: 6);
        var trainer = new Trainer(network, new Sgd(0.1f, momentum: 0.9f), batchSize: 16, seed: 7);
        trainer.Fit(data, epochs: 15);
        Assert.True(trainer.Evaluate(data).Accuracy >= 0.95, "horizontal and vertical stripes are told apart");
    }

    [Fact]
    public void A_cosine_schedule_anneals_the_learning_rate_from_its_start_to_zero_over_the_run()
    {
        var data = Blobs(count: 40, features: 6, classes: 2, seed: 11, noise: 1f);
        var network = new Network(data.Shape, [new Dense(2)], seed: 12);
        var trainer = new Trainer(network, new Adam(0.02f), batchSize: 10, seed: 13) { Schedule = LearningRateSchedule.Cosine };
        var rates = new List<float>();
        trainer.Fit(data, epochs: 3, new RecordRates(rates));

        // 4 batches × 3 epochs: step t of T = 12 runs at 0.02 · ½ · (1 + cos(π t / T)).
        Assert.Equal(12, rates.Count);
        for (var t = 0; t < rates.Count; t++)
        {
            Assert.Equal(0.02 * 0.5 * (1 + Math.Cos(Math.PI * t / 12)), rates[t], 1e-6);
        }

        var constant = new Trainer(new Network(data.Shape, [new Dense(2)], seed: 12), new Adam(0.02f), batchSize: 10, seed: 13);
        var steady = new List<float>();
        constant.Fit(data, epochs: 2, new RecordRates(steady));
        Assert.All(steady, r => Assert.Equal(0.02f, r));
    }

    [Fact]
    public void A_final_step_schedule_keeps_the_learning_rate_and_divides_it_by_ten_for_the_last_tenth_of_the_run()
    {
        var data = Blobs(count: 40, features: 6, classes: 2, seed: 11, noise: 1f);
        var network = new Network(data.Shape, [new Dense(2)], seed: 12);
        var trainer = new Trainer(network, new Adam(0.02f), batchSize: 10, seed: 13) { Schedule = LearningRateSchedule.FinalStep };
        var rates = new List<float>();
        trainer.Fit(data, epochs: 5, new RecordRates(rates));

        // 4 batches × 5 epochs = 20 steps: steps 0–17 at 0.02, steps 18 and 19 (t ≥ 0.9 · 20) at 0.002.
        Assert.Equal(20, rates.Count);
        Assert.All(rates.Take(18), r => Assert.Equal(0.02f, r));
        Assert.All(rates.Skip(18), r => Assert.Equal(0.002f, r, 1e-7f));
    }

    private sealed class RecordRates(List<float> rates) : TrainingCallback
    {
        public override void OnBatchEnd(Trainer trainer, BatchProgress progress) => rates.Add(trainer.Optimizer.LearningRate);
    }

    [Fact]
    public void The_same_seed_gives_identical_weights_on_any_core_count()
    {
        var data = Stripes(count: 40, seed: 8);
        float[][] Train(int threads, ulong seed)
        {
            var saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var network = new Network(
                    data.Shape,
                    [new Conv2d(3, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Dense(8), new ReLU(), new Dropout(0.3f), new Dense(2)],
                    seed);
                new Trainer(network, new Adam(), batchSize: 8, seed: seed).Fit(data, epochs: 2);
                return [.. network.Parameters.Select(p => p.Values)];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }

        var a = Train(1, 9);
        var b = Train(2, 9);
        var c = Train(2, 10);
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i], b[i]);
        }

        Assert.NotEqual(a[0], c[0]);
    }

    [Fact]
    public void A_model_round_trips_through_a_safetensors_file_and_predicts_the_same()
    {
        using var temp = new TempDirectory();
        var data = Blobs(count: 32, features: 6, classes: 3, seed: 11, noise: 1f);
        var network = new Network(data.Shape, [new Dense(8), new ReLU(), new Dense(3)], seed: 12);
        new Trainer(network, new Adam(0.01f), 8).Fit(data, 3);
        var path = temp.File("model.safetensors");
        SafetensorsWriter.Write(path, network.ToModel());

        var copy = new Network(data.Shape, [new Dense(8), new ReLU(), new Dense(3)], seed: 99);
        using (var file = SafetensorsFile.Open(path))
        {
            copy.Load(file);
        }

        for (var i = 0; i < network.Parameters.Count; i++)
        {
            Assert.Equal(network.Parameters[i].Values, copy.Parameters[i].Values);
        }

        Assert.Equal(Trainer.Evaluate(network, data).Loss, Trainer.Evaluate(copy, data).Loss);
    }

    [Fact]
    public void ToModel_shares_the_parameter_arrays()
    {
        var network = new Network(SampleShape.Tabular(3), [new Dense(2)], seed: 1);
        var model = network.ToModel();
        Assert.Same(network.Parameters[0].Values, model["fc1.weight"].Values);
    }

    [Fact]
    public void Loading_a_model_for_another_network_names_the_tensor_and_changes_nothing()
    {
        var network = new Network(SampleShape.Tabular(3), [new Dense(4), new ReLU(), new Dense(2)], seed: 1);
        var before = network.Parameters.Select(p => (float[])p.Values.Clone()).ToArray();

        var wrongShape = new Network(SampleShape.Tabular(5), [new Dense(4), new ReLU(), new Dense(2)], seed: 1).ToModel();
        var e = Assert.Throws<SwarmException>(() => network.Load(wrongShape));
        Assert.Contains("'fc1.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 5]", e.Message, StringComparison.Ordinal);

        var missing = new TensorModel(network.ToModel().NamedTensors.Where(t => t.Name != "fc1.weight"));
        e = Assert.Throws<SwarmException>(() => network.Load(missing));
        Assert.Contains("no tensor 'fc1.weight'", e.Message, StringComparison.Ordinal);

        var extra = new TensorModel([.. network.ToModel().NamedTensors.Select(t => new NamedTensor(t.Name, TensorDType.F32, t.Info.Shape, (float[])t.Values.Clone())), new NamedTensor("fc9.bias", TensorDType.F32, new TensorShape(1), [0f])]);
        e = Assert.Throws<SwarmException>(() => network.Load(extra));
        Assert.Contains("'fc9.bias'", e.Message, StringComparison.Ordinal);

        var poisoned = new TensorModel(network.ToModel().NamedTensors.Select(t => new NamedTensor(t.Name, TensorDType.F32, t.Info.Shape, [.. t.Values.Select(_ => float.NaN)])));
        e = Assert.Throws<SwarmException>(() => network.Load(poisoned));
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);

        for (var i = 0; i < before.Length; i++)
        {
            Assert.Equal(before[i], network.Parameters[i].Values);
        }
    }

    [Fact]
    public void Data_of_the_wrong_shape_or_too_many_classes_is_refused_with_the_source_named()
    {
        var network = Architectures.Create("mlp", SampleShape.Tabular(6), 3, seed: 1);
        var trainer = new Trainer(network, new Adam());
        var e = Assert.Throws<SwarmException>(() => trainer.Fit(Blobs(8, 5, 3, 1, 1f), 1));
        Assert.Contains("blobs", e.Message, StringComparison.Ordinal);
        Assert.Contains("5 features", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SwarmException>(() => trainer.Fit(Blobs(8, 6, 4, 1, 1f), 1));
        Assert.Contains("4 classes", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SwarmException>(() => Architectures.Create("cnn", SampleShape.Tabular(6), 3, seed: 1));
        Assert.Contains("--model mlp", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SwarmException>(() => Architectures.Create("resnet", SampleShape.Tabular(6), 3, seed: 1));
        Assert.Contains("mlp, cnn", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_diverging_run_stops_with_a_clear_message()
    {
        var data = Blobs(count: 16, features: 4, classes: 2, seed: 3, noise: 1f);
        data.Features[5] = 1e30f;
        var network = new Network(data.Shape, [new Dense(4), new Dense(2)], seed: 1);
        var e = Assert.Throws<SwarmException>(() => new Trainer(network, new Sgd(10f), 16).Fit(data, 5));
        Assert.Contains("diverged", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Gaussian-ish clusters around random class centres.</summary>
    internal static Dataset Blobs(int count, int features, int classes, int seed, float noise)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, classes * features).Select(_ => (float)((random.NextDouble() * 8) - 4)).ToArray();
        var x = new float[count * features];
        var y = new int[count];
        for (var i = 0; i < count; i++)
        {
            y[i] = i % classes;
            for (var f = 0; f < features; f++)
            {
                x[(i * features) + f] = centres[(y[i] * features) + f] + (noise * (float)((random.NextDouble() * 2) - 1));
            }
        }

        return new Dataset(x, y, SampleShape.Tabular(features), classes, "blobs");
    }

    /// <summary>8×8 images of a horizontal (class 0) or vertical (class 1) bar at a random position, with noise.</summary>
    internal static Dataset Stripes(int count, int seed)
    {
        var random = new Random(seed);
        var x = new float[count * 64];
        var y = new int[count];
        for (var i = 0; i < count; i++)
        {
            y[i] = i % 2;
            var at = random.Next(8);
            for (var p = 0; p < 64; p++)
            {
                var (row, col) = (p / 8, p % 8);
                x[(i * 64) + p] = ((y[i] == 0 ? row : col) == at ? 1f : 0f) + (0.2f * (float)random.NextDouble());
            }
        }

        return new Dataset(x, y, new SampleShape(1, 8, 8), 2, "stripes");
    }
}
