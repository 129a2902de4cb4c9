using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// A merge is a function of its inputs and options: any node can recompute it and check the hash. Scheduling
/// (which core ran which block) must not show in the bits, for any method.
/// </summary>
public sealed class DeterminismTests
{
    [Theory]
    [InlineData(MergeMethod.Mean)]
    [InlineData(MergeMethod.CoordMedian)]
    [InlineData(MergeMethod.TrimmedMean)]
    [InlineData(MergeMethod.GeoMedian)]
    [InlineData(MergeMethod.Krum)]
    public void Results_are_bit_identical_for_any_thread_count_and_run(MergeMethod method)
    {
        // Nine models of ~300K values: dozens of blocks per window, so workers race for them.
        var models = TestModels.Cluster(seed: 17, n: 9, TestModels.Vector(300_007), noise: 0.05);
        var weights = Enumerable.Range(1, 9).Select(i => (double)(i * 37 % 11 + 1)).ToArray();
        float[]? expected = null;
        double[]? expectedInternals = null;
        foreach (var threads in new[] { 1, 2, 3, 4, 2, 4 })
        {
            var options = new MergeOptions { Method = method, MaxDegreeOfParallelism = threads, KrumSelect = 3 };
            var (model, result) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);
            var actual = TestModels.Flatten(model);
            expected ??= actual;
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{method} with {threads} threads differs from 1 thread");

            // The double-precision intermediates show scheduling long before the f32 output does.
            var internals = result.Krum?.Scores ?? result.GeoMedian?.Coefficients ?? [];
            expectedInternals ??= internals;
            Assert.True(expectedInternals.AsSpan().SequenceEqual(internals), $"{method} with {threads} threads: scores or coefficients differ");
        }
    }

    [Fact]
    public void Distances_are_summed_in_block_order_whatever_the_threads()
    {
        // One block whose squared distance is ~1e20 and many of ~5,000 each: below half an ulp of 1e20 (8,192), so
        // in block order every small one is lost, while a core that summed several small ones first would carry
        // them over. Only a fixed summation order gives the same Krum scores for every thread count.
        const int Blocks = 200;
        const int Length = 21_824 * Blocks; // 21,824 = the cache-resident block for three models
        var a = new float[Length];
        var b = new float[Length];
        var c = new float[Length];
        for (var i = 0; i < Length; i++)
        {
            b[i] = i < 21_824 ? 6.77e7f : 0.4787f;
            c[i] = -b[i];
        }

        var layout = TestModels.Vector(Length);
        TensorModel[] models = [TestModels.FromFlat(a, layout, "a"), TestModels.FromFlat(b, layout, "b"), TestModels.FromFlat(c, layout, "c")];
        double[]? expected = null;
        foreach (var threads in new[] { 1, 2, 3, 2 })
        {
            var options = new MergeOptions { Method = MergeMethod.Krum, ByzantineCount = 0, MaxDegreeOfParallelism = threads, WindowElements = Length };
            var scores = ModelMerger.Merge(TestModels.Inputs(models), options).Result.Krum!.Scores;
            expected ??= scores;
            Assert.True(expected.AsSpan().SequenceEqual(scores), $"Krum scores with {threads} threads: [{string.Join(", ", scores)}] vs [{string.Join(", ", expected)}]");
        }
    }
}
