using SwarmLearning.Tensors;

namespace SwarmLearning.Benchmarks.Infrastructure;

/// <summary>
/// Seeded models shaped like a swarm round's inputs: one common base plus a small per-node perturbation, split
/// into a few layers (three weight matrices with their biases and a head) that sum to the requested size.
/// </summary>
internal static class SyntheticModels
{
    /// <summary>Makes <paramref name="count"/> models of <paramref name="parameters"/> f32 values each.</summary>
    public static TensorModel[] Create(int count, long parameters, int seed = 42)
    {
        var layout = Layout(parameters);
        var random = new Random(seed);
        var bases = layout.Select(info => Uniform(random, info.ElementCount, 0.05f)).ToArray();
        var models = new TensorModel[count];
        for (var m = 0; m < count; m++)
        {
            var tensors = new NamedTensor[layout.Length];
            for (var t = 0; t < layout.Length; t++)
            {
                var values = Uniform(random, layout[t].ElementCount, 0.005f);
                var common = bases[t];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] += common[i];
                }

                tensors[t] = new NamedTensor(layout[t], values);
            }

            models[m] = new TensorModel(tensors, name: $"node{m}");
        }

        return models;
    }

    /// <summary>Layers that sum to exactly <paramref name="parameters"/> elements (at least 16 Ki).</summary>
    public static TensorInfo[] Layout(long parameters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parameters, 16_384);
        const int Width = 1024;
        var layers = new List<TensorInfo>();
        long used = 0;
        double[] fractions = [0.4, 0.3, 0.2];
        for (var k = 0; k < fractions.Length; k++)
        {
            var rows = (long)(parameters * fractions[k]) / Width;
            layers.Add(new TensorInfo($"layer{k}.weight", TensorDType.F32, new TensorShape(rows, Width)));
            layers.Add(new TensorInfo($"layer{k}.bias", TensorDType.F32, new TensorShape(Width)));
            used += (rows + 1) * Width;
        }

        layers.Add(new TensorInfo("head.weight", TensorDType.F32, new TensorShape(parameters - used)));
        return [.. layers];
    }

    private static float[] Uniform(Random random, long count, float scale)
    {
        var values = GC.AllocateUninitializedArray<float>(checked((int)count));
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ((random.NextSingle() * 2) - 1) * scale;
        }

        return values;
    }
}
