using SwarmLearning.Training.Data;
using SwarmLearning.Training.Layers;

namespace SwarmLearning.Client.Tests;

/// <summary>A tiny dataset and network that train in milliseconds.</summary>
internal static class TinyTraining
{
    /// <summary>Gaussian-ish blobs: <paramref name="count"/> samples of 6 features in 3 classes.</summary>
    public static Dataset Blobs(int count, int seed)
    {
        const int features = 6;
        const int classes = 3;
        var random = new Random(seed);
        var centres = Enumerable.Range(0, classes * features).Select(_ => (float)((random.NextDouble() * 8) - 4)).ToArray();
        var x = new float[count * features];
        var y = new int[count];
        for (var i = 0; i < count; i++)
        {
            y[i] = i % classes;
            for (var f = 0; f < features; f++)
            {
                x[(i * features) + f] = centres[(y[i] * features) + f] + (float)((random.NextDouble() * 4) - 2);
            }
        }

        return new Dataset(x, y, SampleShape.Tabular(features), classes, "blobs");
    }

    /// <summary>Dense(16) → ReLU → Dropout → Dense(3): dropout makes the run depend on the trainer's random streams too.</summary>
    public static Training.Network NewNetwork(ulong seed = 7) =>
        new(SampleShape.Tabular(6), [new Dense(16), new ReLU(), new Dropout(0.2f), new Dense(3)], seed);

    public static float[] Weights(Training.Network network) => [.. network.Parameters.SelectMany(p => p.Values)];
}
