using System.Buffers.Binary;
using SwarmLearning.Merging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>Inputs and options that cannot be merged are refused with a message naming the input and tensor at fault.</summary>
public sealed class MergeValidationTests
{
    private static readonly IReadOnlyList<TensorInfo> Layout =
    [
        new("scale", TensorDType.F32, TensorShape.Scalar),
        new("layer.weight", TensorDType.F32, new TensorShape(4, 300)),
        new("layer.bias", TensorDType.F32, new TensorShape(4)),
    ];

    public static TheoryData<MergeMethod> Methods() => [.. MergeMethods.All.Select(m => m.Method)];

    [Fact]
    public void No_inputs_are_refused()
    {
        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan([], new MergeOptions()));

        Assert.Contains("no models", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_tensor_is_refused_naming_the_model_and_tensor()
    {
        var models = Models(3);
        models[2] = new TensorModel(models[2].NamedTensors.Where(t => t.Name != "layer.bias"), name: "node-c");

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(models), new MergeOptions()));

        Assert.Contains("node-c", error.Message, StringComparison.Ordinal);
        Assert.Contains("'layer.bias'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_extra_tensor_is_refused_naming_the_model_and_tensor()
    {
        var models = Models(3);
        models[1] = new TensorModel([.. models[1].NamedTensors, NamedTensor.Zeros("extra.head", TensorDType.F32, new TensorShape(2))], name: "node-b");

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(models), new MergeOptions()));

        Assert.Contains("node-b", error.Message, StringComparison.Ordinal);
        Assert.Contains("'extra.head'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_shape_is_refused_before_any_value_is_read()
    {
        IModelSource[] sources =
        [
            new UnreadableSource("node-a", Layout),
            new UnreadableSource("node-b", [Layout[0], new("layer.weight", TensorDType.F32, new TensorShape(300, 4)), Layout[2]]),
        ];

        var error = Assert.Throws<MergeException>(() => ModelMerger.Merge([.. sources.Select(s => new MergeInput(s))], new MergeOptions()));

        Assert.Contains("node-b", error.Message, StringComparison.Ordinal);
        Assert.Contains("'layer.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("[300, 4]", error.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 300]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_dtype_is_refused_naming_the_model_and_tensor()
    {
        IModelSource[] sources =
        [
            new UnreadableSource("node-a", Layout),
            new UnreadableSource("node-b", [Layout[0], Layout[1], new("layer.bias", TensorDType.BF16, new TensorShape(4))]),
        ];

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan([.. sources.Select(s => new MergeInput(s))], new MergeOptions()));

        Assert.Contains("node-b", error.Message, StringComparison.Ordinal);
        Assert.Contains("'layer.bias'", error.Message, StringComparison.Ordinal);
        Assert.Contains("BF16", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_non_finite_value_is_refused_naming_the_model_tensor_and_element(MergeMethod method)
    {
        // In the heaviest input (the weighted sum's reference row) and in a light one; NaN and both infinities.
        foreach (var (culprit, value) in new[] { (2, float.NaN), (0, float.PositiveInfinity), (3, float.NegativeInfinity) })
        {
            var models = Models(4);
            models[culprit]["layer.weight"].Values[777] = value;

            var error = Assert.Throws<MergeException>(() => ModelMerger.Merge(TestModels.Inputs(models, 1, 1, 5, 1), EngineOptions(method)));

            Assert.Contains($"node-{culprit}", error.Message, StringComparison.Ordinal);
            Assert.Contains("'layer.weight'", error.Message, StringComparison.Ordinal);
            Assert.Contains("element 777", error.Message, StringComparison.Ordinal);
            Assert.Contains(FloatConversionsName(value), error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_non_finite_value_in_a_file_is_refused_naming_the_file_and_tensor(MergeMethod method)
    {
        using var directory = new TempDirectory();
        var models = Models(3);
        var paths = models.Select(m => Path.Combine(directory.Path, $"{m.Name}.safetensors")).ToArray();
        for (var i = 0; i < 3; i++)
        {
            SafetensorsWriter.Write(paths[i], models[i]);
        }

        // The writer refuses NaN, so plant one in the file: element 5 of 'layer.weight', the second tensor.
        PlantNaN(paths[1], elementOffset: 1 + 5);
        var files = paths.Select(p => SafetensorsFile.Open(p)).ToArray();
        try
        {
            var error = Assert.Throws<ModelFormatException>(() => ModelMerger.Merge([.. files.Select(f => new MergeInput(f))], EngineOptions(method)));

            Assert.Equal(paths[1], error.File);
            Assert.Equal("layer.weight", error.Tensor);
            Assert.Contains(paths[1], error.Message, StringComparison.Ordinal);
            Assert.Contains("element 5", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
        }
    }

    [Fact]
    public void All_zero_weights_are_refused()
    {
        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(3), 0, 0, 0), new MergeOptions()));

        Assert.Contains("all weights are zero", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_non_finite_weight_is_refused_naming_the_model(double weight)
    {
        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(3), 1, weight, 1), new MergeOptions()));

        Assert.Contains("node-1", error.Message, StringComparison.Ordinal);
        Assert.Contains("weight", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, null, 1, "at least 3 models")]
    [InlineData(4, 2, 1, "at least 5 models")]
    [InlineData(5, -1, 1, "at least 0")]
    [InlineData(5, null, 0, "--select")]
    [InlineData(5, null, 6, "--select")]
    public void Krum_with_too_few_models_or_a_bad_selection_is_refused(int n, int? f, int select, string expected)
    {
        var options = new MergeOptions { Method = MergeMethod.Krum, ByzantineCount = f, KrumSelect = select };

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(n)), options));

        Assert.StartsWith("krum:", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Krum_counts_only_models_with_positive_weight()
    {
        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(4), 1, 0, 1, 0), new MergeOptions { Method = MergeMethod.Krum }));

        Assert.Contains("got 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(0.5)]
    [InlineData(0.7)]
    [InlineData(double.NaN)]
    public void Trimmed_mean_fraction_outside_zero_to_one_half_is_refused(double beta)
    {
        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(5)), new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = beta }));

        Assert.StartsWith("trimmedmean:", error.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 0.5)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1e-6, "iteration cap")]
    [InlineData(100, 0.0, "tolerance")]
    [InlineData(100, double.NaN, "tolerance")]
    public void Geometric_median_settings_are_checked(int maxIterations, double tolerance, string expected)
    {
        var options = new MergeOptions { Method = MergeMethod.GeoMedian, GeoMedianMaxIterations = maxIterations, GeoMedianTolerance = tolerance };

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(3)), options));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_frozen_tensor_is_refused_naming_it()
    {
        var options = new MergeOptions { FrozenTensors = new HashSet<string>(["layer.bias", "layer.gamma"], StringComparer.Ordinal) };

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(3)), options));

        Assert.Contains("'layer.gamma'", error.Message, StringComparison.Ordinal);
        Assert.Contains("node-0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 0)]
    public void Parallelism_and_window_must_be_positive(int threads, int window)
    {
        var options = new MergeOptions { MaxDegreeOfParallelism = threads, WindowElements = window };

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(Models(2)), options));

        Assert.Contains("at least 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zero_weight_input_must_still_have_the_same_tensors()
    {
        // Taking no part in the result does not excuse a model that is not a model of the same network.
        var models = Models(3);
        models[1] = new TensorModel(models[1].NamedTensors.Where(t => t.Name != "scale"), name: "node-1");

        var error = Assert.Throws<MergeException>(() => ModelMerger.Plan(TestModels.Inputs(models, 1, 0, 1), new MergeOptions()));

        Assert.Contains("node-1", error.Message, StringComparison.Ordinal);
        Assert.Contains("'scale'", error.Message, StringComparison.Ordinal);
    }

    private static MergeOptions EngineOptions(MergeMethod method) => MergeEngineTests.Options(method) with { WindowElements = 500 };

    private static TensorModel[] Models(int n) =>
        [.. TestModels.Cluster(n, n, Layout, noise: 0.1).Select((m, i) => TestModels.Copy(m, $"node-{i}"))];

    private static string FloatConversionsName(float value) =>
        float.IsNaN(value) ? "NaN" : float.IsPositiveInfinity(value) ? "+Infinity" : "-Infinity";

    /// <summary>Overwrites the f32 element at <paramref name="elementOffset"/> of the data section with a NaN.</summary>
    private static void PlantNaN(string path, int elementOffset)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        stream.Position = dataStart + (4L * elementOffset);
        Span<byte> nan = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(nan, float.NaN);
        stream.Write(nan);
    }

    /// <summary>A model whose values must not be read: planning is done on the tensor list alone.</summary>
    private sealed class UnreadableSource(string name, IReadOnlyList<TensorInfo> tensors) : IModelSource
    {
        public string Name { get; } = name;

        public IReadOnlyList<TensorInfo> Tensors { get; } = tensors;

        public int IndexOf(string tensorName) => Tensors.ToList().FindIndex(t => t.Name == tensorName);

        public void ReadF32(int tensorIndex, long elementOffset, Span<float> destination) =>
            throw new InvalidOperationException("values were read before the inputs were validated");

        public bool TryGetF32(int tensorIndex, out ReadOnlyMemory<float> values) =>
            throw new InvalidOperationException("values were read before the inputs were validated");
    }
}
