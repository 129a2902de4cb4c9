using SwarmLearning.Training.Data;
using SwarmLearning.Training.Layers;

namespace SwarmLearning.Training.Models;

/// <summary>
/// The built-in model architectures, by name. They are small on purpose: enough to clear the Fashion-MNIST bars of
/// HPE's whitepaper on two CPU cores, and simple to rebuild in PyTorch layer for layer (see docs/training.md).
/// </summary>
public static class Architectures
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mlp", "cnn"];

    /// <summary>
    /// Builds architecture <paramref name="name"/> for samples of <paramref name="input"/> and <paramref name="classes"/> classes:
    /// <list type="bullet">
    /// <item><c>mlp</c>: Flatten → Dense(256) → ReLU → Dropout(0.2) → Dense(128) → ReLU → Dropout(0.2) → Dense(classes).</item>
    /// <item><c>cnn</c>: Conv2d(32, 3×3, padding 1) → ReLU → MaxPool(2) → Conv2d(64, 3×3, padding 1) → ReLU → MaxPool(2)
    /// → Flatten → Dense(128) → ReLU → Dropout(0.3) → Dense(classes). Needs image input.</item>
    /// </list>
    /// </summary>
    public static Network Create(string name, SampleShape input, int classes, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        return name switch
        {
            "mlp" => new Network(input, [new Flatten(), new Dense(256), new ReLU(), new Dropout(0.2f), new Dense(128), new ReLU(), new Dropout(0.2f), new Dense(classes)], seed),
            "cnn" when !input.IsImage => throw new SwarmException($"The cnn model needs image data, but the samples are {input}; use --model mlp for tabular data."),
            "cnn" => new Network(
                input,
                [
                    new Conv2d(32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
                    new Conv2d(64, 3, padding: 1), new ReLU(), new MaxPool2d(2),
                    new Flatten(), new Dense(128), new ReLU(), new Dropout(0.3f), new Dense(classes),
                ],
                seed),
            _ => throw new SwarmException($"Unknown model '{name}'; choose one of: {string.Join(", ", Names)}."),
        };
    }
}
