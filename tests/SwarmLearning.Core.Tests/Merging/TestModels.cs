using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>Seeded random models and the plumbing between models and the flat vectors the references work on.</summary>
internal static class TestModels
{
    /// <summary>A scalar, odd sizes, a rank-3 tensor, one longer than a 128-lane step, and an empty tensor.</summary>
    public static IReadOnlyList<TensorInfo> Layout { get; } =
    [
        new("scale", TensorDType.F32, TensorShape.Scalar),
        new("bias", TensorDType.F32, new TensorShape(7)),
        new("conv.weight", TensorDType.F32, new TensorShape(3, 5)),
        new("empty", TensorDType.F32, new TensorShape(4, 0)),
        new("fc.weight", TensorDType.F32, new TensorShape(2, 3, 11)),
        new("fc.bias", TensorDType.F32, new TensorShape(129)),
    ];

    /// <summary>One tensor of <paramref name="length"/> elements.</summary>
    public static IReadOnlyList<TensorInfo> Vector(int length, string name = "w") =>
        [new(name, TensorDType.F32, new TensorShape(length))];

    /// <summary>Total elements of a layout.</summary>
    public static int ElementCount(IReadOnlyList<TensorInfo> layout) => (int)layout.Sum(t => t.ElementCount);

    /// <summary>A model whose flat (concatenated) values are <paramref name="values"/>.</summary>
    public static TensorModel FromFlat(ReadOnlySpan<float> values, IReadOnlyList<TensorInfo> layout, string name)
    {
        if (values.Length != ElementCount(layout))
        {
            throw new ArgumentException($"{values.Length} values for a layout of {ElementCount(layout)}", nameof(values));
        }

        var tensors = new List<NamedTensor>();
        var offset = 0;
        foreach (var info in layout)
        {
            var count = (int)info.ElementCount;
            tensors.Add(new NamedTensor(info, values.Slice(offset, count).ToArray()));
            offset += count;
        }

        return new TensorModel(tensors, name: name);
    }

    /// <summary>A model whose flat values are <paramref name="values"/> rounded to f32.</summary>
    public static TensorModel FromFlat(IEnumerable<double> values, IReadOnlyList<TensorInfo> layout, string name) =>
        FromFlat([.. values.Select(v => (float)v)], layout, name);

    /// <summary>The model's values concatenated in tensor order.</summary>
    public static float[] Flatten(TensorModel model) => [.. model.NamedTensors.SelectMany(t => t.Values)];

    /// <summary>The model's values concatenated in tensor order, in double.</summary>
    public static double[] FlattenDouble(TensorModel model) => [.. Flatten(model).Select(v => (double)v)];

    /// <summary>Independent standard normal values for every element.</summary>
    public static TensorModel Gaussian(Random random, IReadOnlyList<TensorInfo> layout, string name, double scale = 1) =>
        FromFlat(Enumerable.Range(0, ElementCount(layout)).Select(_ => scale * NextGaussian(random)), layout, name);

    /// <summary><paramref name="n"/> independent Gaussian models named model0, model1, ….</summary>
    public static TensorModel[] Independent(int seed, int n, IReadOnlyList<TensorInfo> layout)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(i => Gaussian(random, layout, $"model{i}"))];
    }

    /// <summary>A swarm: one common base model plus independent noise of size <paramref name="noise"/> per model.</summary>
    public static TensorModel[] Cluster(int seed, int n, IReadOnlyList<TensorInfo> layout, double noise)
    {
        var random = new Random(seed);
        var center = Flatten(Gaussian(random, layout, "base"));
        return [.. Enumerable.Range(0, n).Select(i => FromFlat(center.Select(c => c + (noise * NextGaussian(random))), layout, $"model{i}"))];
    }

    /// <summary>Applies <paramref name="map"/> to every value.</summary>
    public static TensorModel Map(TensorModel model, Func<float, float> map, string name) =>
        new([.. model.NamedTensors.Select(t => new NamedTensor(t.Info, [.. t.Values.Select(map)]))], name: name);

    /// <summary>The same values under a new name (a distinct object, so nothing can be shared by reference).</summary>
    public static TensorModel Copy(TensorModel model, string name) => Map(model, v => v, name);

    /// <summary>Inputs pairing models with weights (all 1 when none are given).</summary>
    public static MergeInput[] Inputs(IReadOnlyList<TensorModel> models, params double[] weights)
    {
        if (weights.Length == 0)
        {
            weights = [.. models.Select(_ => 1.0)];
        }

        return [.. models.Select((m, i) => new MergeInput(m, weights[i]))];
    }

    /// <summary>Random integer weights from 1 to <paramref name="max"/>: exact in f32, and they hit the median's exact-half case often.</summary>
    public static double[] IntegerWeights(Random random, int n, int max = 6) =>
        [.. Enumerable.Range(0, n).Select(_ => (double)random.Next(1, max + 1))];

    public static double NextGaussian(Random random)
    {
        // Box–Muller; 1 − U keeps the logarithm's argument in (0, 1].
        var u = 1.0 - random.NextDouble();
        var v = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }
}
