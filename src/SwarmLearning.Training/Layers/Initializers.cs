namespace SwarmLearning.Training.Layers;

/// <summary>Weight initialisation from the network's seeded generator.</summary>
internal static class Initializers
{
    /// <summary>Fills <paramref name="values"/> uniformly in [-bound, bound).</summary>
    public static void Uniform(Span<float> values, float bound, Xoshiro256StarStar random)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ((2f * random.NextSingle()) - 1f) * bound;
        }
    }
}
