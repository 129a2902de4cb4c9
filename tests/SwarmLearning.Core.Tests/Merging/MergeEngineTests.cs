using SwarmLearning.Merging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// The engine around the kernels: windows and blocks, file-backed inputs, writing the output to a file, frozen
/// tensors, progress and cancellation.
/// </summary>
public sealed class MergeEngineTests
{
    /// <summary>
    /// With three inputs a block is 16 Ki elements, so the 40 001-element tensor spans three blocks of the default
    /// window and hundreds of 100-element windows; 4099 is a window that is no multiple of any vector width.
    /// </summary>
    private static readonly IReadOnlyList<TensorInfo> LongLayout =
    [
        new("scale", TensorDType.F32, TensorShape.Scalar),
        new("embedding", TensorDType.F32, new TensorShape(13, 3077)),
        new("bias", TensorDType.F32, new TensorShape(7)),
        new("head", TensorDType.F32, new TensorShape(1000)),
    ];

    /// <summary>Every tensor dtype, so file-backed inputs go through the f16 and bf16 conversions too.</summary>
    private static readonly IReadOnlyList<TensorInfo> MixedLayout =
    [
        new("scale", TensorDType.F32, TensorShape.Scalar),
        new("conv.weight", TensorDType.F16, new TensorShape(3, 5, 7)),
        new("fc.weight", TensorDType.BF16, new TensorShape(20000)),
        new("fc.bias", TensorDType.F32, new TensorShape(129)),
        new("norm", TensorDType.BF16, new TensorShape(9)),
    ];

    public static TheoryData<MergeMethod> Methods() => [.. MergeMethods.All.Select(m => m.Method)];

    [Theory]
    [MemberData(nameof(Methods))]
    public void Small_windows_give_the_same_result_as_the_default(MergeMethod method)
    {
        var models = TestModels.Cluster(1, 3, LongLayout, noise: 0.2);
        double[] weights = [1, 2, 4];
        var options = Options(method);
        var (expected, expectedResult) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);

        foreach (var (window, threads) in new[] { (100, 2), (4099, 2), (100, 1), (1 << 20, 1) })
        {
            var (actual, actualResult) = ModelMerger.Merge(TestModels.Inputs(models, weights), options with { WindowElements = window, MaxDegreeOfParallelism = threads });

            AssertSameMerge(method, expected, actual, expectedResult, actualResult, $"{method}, window {window}, {threads} threads");

            // An append-only sink (like a file) takes the windowed path; an in-memory model is written in place.
            var plan = ModelMerger.Plan(TestModels.Inputs(models, weights), options with { WindowElements = window, MaxDegreeOfParallelism = threads });
            var builder = new TensorModelBuilder(plan.OutputTensors);
            var appendResult = ModelMerger.Execute(plan, new AppendOnlySink(builder));
            AssertSameMerge(method, expected, builder.Build(), expectedResult, appendResult, $"{method}, window {window}, {threads} threads, appended");
        }
    }

    /// <summary>Hides the builder's in-place storage, so the engine must append window by window.</summary>
    private sealed class AppendOnlySink(TensorModelBuilder builder) : IModelSink
    {
        public IReadOnlyList<TensorInfo> Tensors => builder.Tensors;

        public void Append(ReadOnlySpan<float> values) => builder.Append(values);
    }

    [Theory]
    [InlineData(MergeMethod.Mean)]
    [InlineData(MergeMethod.CoordMedian)]
    [InlineData(MergeMethod.TrimmedMean)]
    public void Many_inputs_with_small_blocks_match_the_reference(MergeMethod method)
    {
        // Forty inputs make the blocks 1024 elements, so the 2500-element tensor spans three of them.
        const int n = 40;
        var layout = TestModels.Vector(2500);
        var models = TestModels.Independent(2, n, layout);
        var weights = TestModels.IntegerWeights(new Random(2), n);
        var x = MergeReferenceTests.Flat(models);

        var (merged, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), Options(method) with { WindowElements = 1500 });

        var expected = method switch
        {
            MergeMethod.Mean => Reference.Mean(x, weights),
            MergeMethod.CoordMedian => Reference.CoordMedian(x, weights),
            _ => Reference.TrimmedMean(x, weights, 0.2),
        };
        MergeAssert.Close(expected, TestModels.Flatten(merged), 1e-5, $"{method} of {n}");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void File_backed_inputs_give_the_same_result_as_in_memory_ones(MergeMethod method)
    {
        using var directory = new TempDirectory();
        var paths = TestModels.Cluster(3, 5, MixedLayout, noise: 0.2).Select(m => Write(directory, m)).ToArray();
        var files = paths.Select(p => SafetensorsFile.Open(p)).ToArray();
        try
        {
            // The in-memory models hold exactly what the files hold (f16 and bf16 already rounded).
            var loaded = files.Select(f => f.LoadModel()).ToArray();
            double[] weights = [3, 1, 2, 2, 1];
            var options = Options(method);

            var (expected, expectedResult) = ModelMerger.Merge(TestModels.Inputs(loaded, weights), options);
            var (fromFiles, fromFilesResult) = ModelMerger.Merge([.. files.Select((f, i) => new MergeInput(f, weights[i]))], options);
            var (mixed, mixedResult) = ModelMerger.Merge([.. files.Select((f, i) => new MergeInput(i % 2 == 0 ? f : loaded[i], weights[i]))], options);

            Assert.Equal(MixedLayout, expected.Tensors);
            AssertSameMerge(method, expected, fromFiles, expectedResult, fromFilesResult, $"{method} from files");
            AssertSameMerge(method, expected, mixed, expectedResult, mixedResult, $"{method} from files and memory");
        }
        finally
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Merge_to_file_reads_back_equal_to_the_in_memory_merge(MergeMethod method)
    {
        using var directory = new TempDirectory();
        var models = TestModels.Cluster(4, 5, LongLayout, noise: 0.2);
        double[] weights = [1, 2, 3, 4, 5];
        var options = Options(method) with { MaxDegreeOfParallelism = 1 };
        var path = Path.Combine(directory.Path, "merged.safetensors");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["round"] = "7" };

        var (expected, expectedResult) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);
        var (info, result) = ModelMerger.MergeToFile(TestModels.Inputs(models, weights), options, path, metadata);

        Assert.Equal(path, info.Path);
        Assert.Equal(new FileInfo(path).Length, info.Length);
        Assert.Equal(ModelHash.Compute(path), info.Hash);
        Assert.Equal(expectedResult.MergedElements, result.MergedElements);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("7", file.Metadata["round"]);
        AssertSameMerge(method, expected, file.LoadModel(), expectedResult, result, $"{method} written to a file");
    }

    [Fact]
    public void A_failed_merge_to_file_leaves_no_file_behind()
    {
        using var directory = new TempDirectory();
        var models = TestModels.Cluster(5, 3, LongLayout, noise: 0.2);
        models[1]["head"].Values[999] = float.NaN;
        var path = Path.Combine(directory.Path, "merged.safetensors");

        Assert.Throws<MergeException>(() => ModelMerger.MergeToFile(TestModels.Inputs(models), new MergeOptions(), path));

        Assert.Empty(Directory.EnumerateFileSystemEntries(directory.Path));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Frozen_tensors_pass_through_from_the_first_input(MergeMethod method)
    {
        // The frozen tensors differ wildly between models: merged, they would change the result and, for krum and
        // geomedian, the distances. They must come from the first input and take no part in the rest, which merges
        // exactly as if the models did not have them.
        string[] frozen = ["bias", "fc.bias"];
        var models = TestModels.Cluster(6, 5, TestModels.Layout, noise: 0.2);
        TensorModel[] withFrozen = [.. models.Select((m, i) => new TensorModel(
            m.NamedTensors.Select(t => frozen.Contains(t.Name)
                ? new NamedTensor(t.Info, [.. Enumerable.Range(0, t.Values.Length).Select(j => (float)(((i % 2 == 0 ? 1000 : -1000) * (i + 1)) + j))])
                : t),
            name: m.Name))];
        TensorModel[] without = [.. models.Select(m => new TensorModel(m.NamedTensors.Where(t => !frozen.Contains(t.Name)), name: m.Name))];
        double[] weights = [1, 2, 3, 2, 1];
        var options = Options(method) with { FrozenTensors = new HashSet<string>(frozen, StringComparer.Ordinal) };

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(withFrozen, weights), options);
        var (expected, expectedResult) = ModelMerger.Merge(TestModels.Inputs(without, weights), Options(method));

        Assert.Equal(TestModels.Layout, merged.Tensors);
        Assert.Equal(withFrozen[0]["bias"].Values, merged["bias"].Values);
        Assert.Equal(withFrozen[0]["fc.bias"].Values, merged["fc.bias"].Values);
        Assert.Equal(expectedResult.MergedElements, result.MergedElements);
        var rest = new TensorModel(merged.NamedTensors.Where(t => !frozen.Contains(t.Name)), name: "rest");
        AssertSameMerge(method, expected, rest, expectedResult, result, $"{method} with frozen tensors");
    }

    [Fact]
    public void Frozen_tensors_come_from_the_first_input_even_when_its_weight_is_zero()
    {
        var models = TestModels.Cluster(10, 3, TestModels.Layout, noise: 0.2);
        var options = new MergeOptions { FrozenTensors = new HashSet<string>(["scale"], StringComparer.Ordinal) };

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(models, 0, 1, 1), options);

        Assert.Equal([1, 2], result.Participants);
        Assert.Equal(models[0]["scale"].Values, merged["scale"].Values);
    }

    [Theory]
    [InlineData(MergeMethod.Mean, new[] { "merge" })]
    [InlineData(MergeMethod.Krum, new[] { "distances", "merge" })]
    [InlineData(MergeMethod.GeoMedian, new[] { "distances", "merge" })]
    public void Progress_reports_each_phase_up_to_the_total(MergeMethod method, string[] phases)
    {
        var models = TestModels.Cluster(7, 3, LongLayout, noise: 0.2);
        var progress = new RecordingProgress();

        var plan = ModelMerger.Plan(TestModels.Inputs(models), Options(method) with { WindowElements = 10_000 });
        ModelMerger.Execute(plan, new TensorModelBuilder(plan.OutputTensors), progress);
        var total = TestModels.ElementCount(LongLayout);

        Assert.Equal(phases, progress.Reports.Select(r => r.Phase).Distinct());
        foreach (var phase in phases)
        {
            var reports = progress.Reports.Where(r => r.Phase == phase).ToArray();
            Assert.All(reports, r => Assert.Equal(total, r.Total));
            Assert.Equal(total, reports[^1].Done);
            Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Done < p.Second.Done), "progress must increase");
        }
    }

    [Fact]
    public void A_cancelled_merge_stops()
    {
        var models = TestModels.Cluster(8, 3, LongLayout, noise: 0.2);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => ModelMerger.Merge(TestModels.Inputs(models), new MergeOptions(), cancellation.Token));
    }

    [Fact]
    public void Result_describes_the_merge()
    {
        var models = TestModels.Cluster(9, 4, TestModels.Layout, noise: 0.2);

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(models, 1, 0, 2, 3), new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = 0.34 });

        Assert.Equal(MergeMethod.TrimmedMean, result.Method);
        Assert.Equal(4, result.InputCount);
        Assert.Equal([0, 2, 3], result.Participants);
        Assert.Equal(1, result.TrimmedPerSide);
        Assert.Equal(TestModels.Layout, result.Tensors);
        Assert.Equal(TestModels.ElementCount(TestModels.Layout), result.MergedElements);
        Assert.Null(result.Krum);
        Assert.Null(result.GeoMedian);
        Assert.Equal(TestModels.Layout, merged.Tensors);
    }

    internal static MergeOptions Options(MergeMethod method) => new() { Method = method, KrumSelect = 2, TrimFraction = 0.2 };

    /// <summary>
    /// Bit for bit, except geomedian: its distances are summed per block in f32, so a different block layout moves
    /// the coefficients by about 1e-7 relative; the result then agrees to 1e-5 relative/absolute.
    /// </summary>
    private static void AssertSameMerge(MergeMethod method, TensorModel expected, TensorModel actual, MergeResult expectedResult, MergeResult actualResult, string what)
    {
        if (method == MergeMethod.GeoMedian)
        {
            Assert.Equal(expected.Tensors, actual.Tensors);
            MergeAssert.Close([.. TestModels.Flatten(expected).Select(v => (double)v)], TestModels.Flatten(actual), 1e-5, what);
            Assert.Equal(expectedResult.GeoMedian!.Stop, actualResult.GeoMedian!.Stop);
        }
        else
        {
            MergeAssert.BitEqual(expected, actual, what);
        }

        if (method == MergeMethod.Krum)
        {
            Assert.Equal(expectedResult.Krum!.Selected, actualResult.Krum!.Selected);
        }
    }

    private static string Write(TempDirectory directory, TensorModel model)
    {
        var path = Path.Combine(directory.Path, $"{model.Name}.safetensors");
        SafetensorsWriter.Write(path, model);
        return path;
    }

    private sealed class RecordingProgress : IProgress<MergeProgress>
    {
        public List<MergeProgress> Reports { get; } = [];

        public void Report(MergeProgress value) => Reports.Add(value);
    }
}
