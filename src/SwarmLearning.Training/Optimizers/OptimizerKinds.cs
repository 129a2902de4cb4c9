namespace SwarmLearning.Training.Optimizers;

/// <summary>
/// The optimizers offered by name (<c>swarm train --optimizer</c>, <c>swarm simulate --optimizer</c>), with their
/// default learning rates: <c>adam</c> (PyTorch's defaults) and <c>sgd</c> (momentum 0.9).
/// </summary>
public static class OptimizerKinds
{
    /// <summary>The accepted names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["adam", "sgd"];

    /// <summary>The learning rate <paramref name="name"/> uses when none is given.</summary>
    public static float DefaultLearningRate(string name) => Require(name) == "sgd" ? 0.01f : 0.001f;

    /// <summary>A fresh optimizer <paramref name="name"/> with step size <paramref name="learningRate"/>.</summary>
    public static Optimizer Create(string name, float learningRate) => Require(name) switch
    {
        "sgd" => new Sgd(learningRate, momentum: 0.9f),
        _ => new Adam(learningRate),
    };

    private static string Require(string name) =>
        Names.Contains(name, StringComparer.Ordinal) ? name : throw new SwarmException($"Unknown optimizer '{name}'; choose one of: {string.Join(", ", Names)}.");
}
