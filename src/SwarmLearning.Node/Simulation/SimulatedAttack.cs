using SwarmLearning.Tensors;
using SwarmLearning.Training;

namespace SwarmLearning.Node.Simulation;

/// <summary>What a poisoning node does to each model it submits (the threat of an enrolled but malicious member).</summary>
public enum SimulatedAttack
{
    /// <summary>Honest.</summary>
    None,

    /// <summary>Submits its trained model with every value multiplied by a factor (100 by default).</summary>
    Scale,

    /// <summary>
    /// Submits Gaussian noise instead of its model: each tensor's values drawn from N(0, σ²) with σ the standard
    /// deviation of that tensor in the trained model, so the noise has the size of real weights.
    /// </summary>
    Noise,
}

/// <summary>
/// Builds the poisoning a malicious node's ML program applies to the weights it sends at each sync and at the end (not
/// the initial sync, before any training). It leads honestly when its turn comes: this is a poisoned participant, not
/// a malicious leader (docs/security.md).
/// </summary>
public static class SimulatedAttacks
{
    /// <summary>Parses a name (none, scale, noise), ignoring case.</summary>
    public static bool TryParse(string? name, out SimulatedAttack attack) =>
        Enum.TryParse(name, ignoreCase: true, out attack) && Enum.IsDefined(attack);

    /// <summary>
    /// A poisoning function; it never changes the model it is given (that is the node's own network), it returns a new
    /// one, different at every call for <see cref="SimulatedAttack.Noise"/>.
    /// </summary>
    public static Func<TensorModel, TensorModel>? Create(SimulatedAttack attack, double scale, ulong seed)
    {
        if (attack == SimulatedAttack.None)
        {
            return null;
        }

        var submissions = 0;
        return model =>
        {
            ArgumentNullException.ThrowIfNull(model);
            var n = Interlocked.Increment(ref submissions);
            var random = Xoshiro256StarStar.For(seed, "attack", n);
            return new TensorModel(model.NamedTensors.Select(t => new NamedTensor(t.Info, attack == SimulatedAttack.Scale
                ? [.. t.Values.Select(v => (float)(v * scale))]
                : Noise(t.Values, random))), model.Metadata, model.Name);
        };
    }

    private static float[] Noise(float[] values, Xoshiro256StarStar random)
    {
        var mean = values.Length == 0 ? 0 : values.Average(v => (double)v);
        var sigma = values.Length == 0 ? 0 : Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        var noise = new float[values.Length];
        for (var i = 0; i < noise.Length; i++)
        {
            noise[i] = (float)(random.NextGaussian() * sigma);
        }

        return noise;
    }
}
