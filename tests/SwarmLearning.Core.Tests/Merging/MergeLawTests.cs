using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>Laws every merge obeys, whatever the data.</summary>
public sealed class MergeLawTests
{
    /// <summary>Every method with every input count it accepts among 1, 2, 3, 4, 7 and 16 (krum needs three).</summary>
    public static TheoryData<MergeMethod, int> MethodsAndCounts()
    {
        var data = new TheoryData<MergeMethod, int>();
        foreach (var (method, _) in MergeMethods.All)
        {
            foreach (var n in new[] { 1, 2, 3, 4, 7, 16 })
            {
                if (method != MergeMethod.Krum || n >= 3)
                {
                    data.Add(method, n);
                }
            }
        }

        return data;
    }

    public static TheoryData<MergeMethod> Methods() => [.. MergeMethods.All.Select(m => m.Method)];

    [Theory]
    [MemberData(nameof(MethodsAndCounts))]
    public void Merging_identical_models_changes_nothing(MergeMethod method, int n)
    {
        var model = TestModels.Gaussian(new Random(n), TestModels.Layout, "model", scale: 3);
        var models = Enumerable.Range(0, n).Select(i => TestModels.Copy(model, $"copy{i}")).ToArray();
        var random = new Random(10 + n);
        double[] weights = [.. Enumerable.Range(0, n).Select(_ => 0.1 + random.NextDouble())];

        var (merged, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = method, KrumSelect = Math.Min(2, n) });

        MergeAssert.BitEqual(model, merged, $"{method} of {n} copies");
    }

    [Theory]
    [MemberData(nameof(MethodsAndCounts))]
    public void Merging_identical_models_keeps_signed_zeros_subnormals_and_extremes(MergeMethod method, int n)
    {
        // A pruned model holds −0 (a negative weight times a zero mask); tiny weights decay into subnormals. A merge of
        // copies must still hash like the original.
        float[] values = [-0f, 0f, float.Epsilon, -float.Epsilon, 3 * float.Epsilon, 1e-39f, -7e-40f, float.MaxValue, float.MinValue, 3e38f, 1f, -2.5f, 1e-30f];
        var model = TestModels.FromFlat(values, TestModels.Vector(values.Length), "model");
        var models = Enumerable.Range(0, n).Select(i => TestModels.Copy(model, $"copy{i}")).ToArray();
        foreach (var equalWeights in new[] { true, false })
        {
            double[] weights = [.. Enumerable.Range(0, n).Select(i => equalWeights ? 1.0 : 1.0 + i)];

            var (merged, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = method, KrumSelect = Math.Min(2, n) });

            MergeAssert.BitEqual(model, merged, $"{method} of {n} copies, {(equalWeights ? "equal" : "unequal")} weights");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(9)]
    public void Weighted_mean_does_not_depend_on_input_order(int n)
    {
        var models = TestModels.Independent(20 + n, n, TestModels.Layout);
        var random = new Random(n);
        double[] weights = [.. Enumerable.Range(0, n).Select(_ => 0.1 + random.NextDouble())];
        var expected = Merge(models, weights, new MergeOptions());

        int[] shuffled = [.. Enumerable.Range(0, n)];
        new Random(n).Shuffle(shuffled);
        foreach (var order in new[] { [.. Enumerable.Range(0, n).Reverse()], [.. Enumerable.Range(1, n).Select(i => i % n)], shuffled })
        {
            var permuted = Merge([.. order.Select(i => models[i])], [.. order.Select(i => weights[i])], new MergeOptions());

            MergeAssert.Close([.. expected.Select(v => (double)v)], permuted, 1e-6, $"mean in order {string.Join(",", order)}");
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_ignores_input_order_when_nothing_ties(MergeMethod method)
    {
        // Distinct random values and distinct weights: no ties, so every method has one answer whatever the order.
        const int n = 7;
        var models = TestModels.Cluster(30, n, TestModels.Layout, noise: 0.5);
        double[] weights = [1, 2, 3, 4, 5, 6, 7];
        var options = new MergeOptions { Method = method, KrumSelect = 3, TrimFraction = 0.2 };
        var expected = Merge(models, weights, options);
        int[] order = [4, 6, 0, 2, 5, 1, 3];

        var permuted = Merge([.. order.Select(i => models[i])], [.. order.Select(i => weights[i])], options);

        MergeAssert.Close([.. expected.Select(v => (double)v)], permuted, method == MergeMethod.GeoMedian ? 1e-5 : 1e-6, $"{method} permuted");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Scaling_all_weights_by_a_constant_changes_nothing(MergeMethod method)
    {
        const int n = 6;
        var models = TestModels.Cluster(40, n, TestModels.Layout, noise: 0.5);
        double[] weights = [1, 3, 2, 2, 5, 1];
        var options = new MergeOptions { Method = method, KrumSelect = 2, TrimFraction = 0.2 };
        var expected = Merge(models, weights, options);

        // 4 and 0.25 keep integer-weight sums exact in f32, so the median's exact-half rule sees the same ties; 3 and
        // 1000 keep them integers; 0.37 exercises a scale with no exact representation.
        foreach (var scale in method == MergeMethod.CoordMedian ? [4, 0.25, 3, 1000] : new[] { 4, 0.25, 3, 1000, 0.37 })
        {
            var scaled = Merge(models, [.. weights.Select(w => w * scale)], options);

            MergeAssert.Close([.. expected.Select(v => (double)v)], scaled, method == MergeMethod.GeoMedian ? 1e-5 : 1e-6, $"{method} with weights × {scale}");
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Zero_weight_inputs_are_ignored(MergeMethod method)
    {
        const int n = 6;
        var models = TestModels.Cluster(50, n, TestModels.Layout, noise: 0.5);

        // A zero-weight input that is a wild outlier, placed first and in the middle.
        var outlier = TestModels.Map(models[0], v => (v * 1000) + 77, "inactive");
        double[] weights = [1, 3, 2, 2, 5, 1];
        var options = new MergeOptions { Method = method, KrumSelect = 2, TrimFraction = 0.2 };
        var (expected, expectedResult) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);

        TensorModel[] withZeros = [outlier, .. models[..3], TestModels.Copy(outlier, "inactive2"), .. models[3..]];
        double[] withZeroWeights = [0, .. weights[..3], 0, .. weights[3..]];
        var (actual, actualResult) = ModelMerger.Merge(TestModels.Inputs(withZeros, withZeroWeights), options);

        Assert.Equal([1, 2, 3, 5, 6, 7], actualResult.Participants);
        Assert.Equal(8, actualResult.InputCount);
        Assert.Equal(expectedResult.ByzantineCount, actualResult.ByzantineCount);
        Assert.Equal(expectedResult.TrimmedPerSide, actualResult.TrimmedPerSide);
        MergeAssert.BitEqual(expected, actual, $"{method} with zero-weight inputs");
    }

    private static float[] Merge(TensorModel[] models, double[] weights, MergeOptions options) =>
        TestModels.Flatten(ModelMerger.Merge(TestModels.Inputs(models, weights), options).Model);
}
