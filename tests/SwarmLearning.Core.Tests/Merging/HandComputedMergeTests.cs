using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// Cases worked out by hand from the specification. Each case is one value per model; the models carry it in a
/// 37-element tensor, translated by the element index j (value + j), so the case runs in full vector lanes and in
/// the scalar tail. All numbers are small integers or halves, so the expected results are exact in f32.
/// </summary>
public sealed class HandComputedMergeTests
{
    [Theory]
    [InlineData(0.29, 100, 29)]
    [InlineData(0.1, 10, 1)]
    [InlineData(0.1, 9, 0)]
    [InlineData(0.2, 6, 1)]
    [InlineData(0.49, 7, 3)]
    [InlineData(0.0, 50, 0)]
    public void Trim_count_is_the_floor_of_beta_times_n_as_written(double beta, int n, int expected) =>
        Assert.Equal(expected, ModelMerger.TrimCount(beta, n));

    private const int Length = 37;

    // coordmedian: sort, accumulate weights, the first value whose cumulative weight reaches half the total; exactly
    // half → the mean of that value and the next.
    [Theory]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 1, 1, 1, 1 }, 2.5)] // half 2 reached exactly at 2 → (2+3)/2
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 3, 1, 1, 1 }, 1.5)] // half 3 reached exactly at 1 → (1+2)/2
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 4, 1, 1, 1 }, 1.0)] // half 3.5: cumulative 4 at 1 passes it
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 1, 1, 1, 2 }, 3.0)] // half 2.5: 1, 2, 3 → 3
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 1, 1 }, 2.0)] // odd count: the middle value
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 1, 2 }, 2.5)] // half 2 reached exactly at 2 → (2+3)/2
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 2, 1, 1 }, 1.5)] // half 2 reached exactly at 1 → (1+2)/2
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 5, 1 }, 2.0)] // one heavy model in the middle
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 1, 5 }, 3.0)] // one heavy model at the top wins outright
    [InlineData(new double[] { 4, 1, 3, 2 }, new double[] { 1, 3, 1, 1 }, 1.5)] // unsorted: weights travel with their values
    [InlineData(new double[] { 5, 4, 3, 2, 1 }, new double[] { 2, 1, 1, 1, 1 }, 3.5)] // sorted 1..5 with weights 1,1,1,1,2: half 3 at 3
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 0.5, 0.25, 0.25 }, 1.5)] // dyadic weights: half 0.5 at 1
    [InlineData(new double[] { 7 }, new double[] { 2 }, 7.0)] // one input
    [InlineData(new double[] { 3, 9 }, new double[] { 1, 1 }, 6.0)] // two inputs, equal weights: their mean
    [InlineData(new double[] { 3, 9 }, new double[] { 1, 2 }, 9.0)] // two inputs, the heavier wins
    [InlineData(new double[] { 2, 2, 3, 3 }, new double[] { 1, 1, 1, 1 }, 2.5)] // ties on both sides of the middle
    [InlineData(new double[] { 1, 2, 2, 5 }, new double[] { 1, 1, 1, 1 }, 2.0)] // tied middle values
    [InlineData(new double[] { 1, 1, 1, 9 }, new double[] { 1, 1, 1, 3 }, 5.0)] // half 3 reached exactly at the last 1 → (1+9)/2
    [InlineData(new double[] { 1, 9, 1, 9 }, new double[] { 1, 2, 2, 1 }, 5.0)] // half 3 after both 1s, in either tie order
    [InlineData(new double[] { -3, -1, 2 }, new double[] { 1, 1, 1 }, -1.0)] // negative values
    [InlineData(new double[] { 0, 0, 0, 0, 0, 8, 8, 8 }, new double[] { 1, 1, 1, 1, 1, 1, 1, 1 }, 0.0)]
    [InlineData(new double[] { 0, 0, 0, 0, 8, 8, 8, 8 }, new double[] { 1, 1, 1, 1, 1, 1, 1, 1 }, 4.0)]
    public void Coordinate_median_follows_the_exact_half_rule(double[] values, double[] weights, double expected)
    {
        var (merged, _) = ModelMerger.Merge(Inputs(values, weights), new MergeOptions { Method = MergeMethod.CoordMedian });

        AssertTranslated(expected, merged);
    }

    [Theory]
    [InlineData(0.1, 0, 22.0)] // ⌊0.5⌋ = 0: the plain mean of 1, 2, 3, 4, 100
    [InlineData(0.2, 1, 3.0)] // ⌊1.0⌋ = 1: drop 1 and 100, mean of 2, 3, 4
    [InlineData(0.3, 1, 3.0)] // ⌊1.5⌋ = 1
    [InlineData(0.4, 2, 3.0)] // ⌊2.0⌋ = 2: only the median 3 is left
    public void Trimmed_mean_drops_floor_beta_n_from_each_end(double beta, int trimmed, double expected)
    {
        var (merged, result) = ModelMerger.Merge(Inputs([100, 3, 1, 4, 2], [1, 1, 1, 1, 1]), new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = beta });

        Assert.Equal(trimmed, result.TrimmedPerSide);
        AssertTranslated(expected, merged);
    }

    [Theory]
    [InlineData(0.0, 0, 120.5)] // (−50 + 255 + 1000) / 10
    [InlineData(0.1, 1, 31.875)] // drop −50 and 1000: 255 / 8
    [InlineData(0.25, 2, 21.0)] // ⌊2.5⌋ = 2: drop −50, 1 and 128, 1000: 126 / 6
    public void Trimmed_mean_of_ten_models(double beta, int trimmed, double expected)
    {
        double[] values = [64, -50, 2, 1000, 4, 8, 1, 16, 128, 32];

        var (merged, result) = ModelMerger.Merge(Inputs(values, [.. values.Select(_ => 1.0)]), new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = beta });

        Assert.Equal(trimmed, result.TrimmedPerSide);
        AssertTranslated(expected, merged);
    }

    [Fact]
    public void Trimmed_mean_weights_the_values_it_keeps()
    {
        // Sorted: 1 (w 5), 2 (w 1), 3 (w 1), 4 (w 2), 100 (w 9). β = 0.2 drops 1 and 100 with their weights:
        // (2·1 + 3·1 + 4·2) / (1 + 1 + 2) = 13 / 4.
        var (merged, _) = ModelMerger.Merge(Inputs([4, 100, 2, 1, 3], [2, 9, 1, 5, 1]), new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = 0.2 });

        AssertTranslated(3.25, merged);
    }

    [Fact]
    public void Krum_scores_are_sums_of_squared_distances_to_the_nearest_others()
    {
        // n = 5, default f = (5 − 3) / 2 = 1, so each score sums the 5 − 1 − 2 = 2 nearest squared distances:
        // 0: 1 + 4 = 5; 1: 1 + 1 = 2; 2: 1 + 1 = 2; 3: 1 + 4 = 5; 100: 97² + 98² = 19013.
        // Ties go to the lower index, so plain Krum picks the model holding 1.
        var (merged, result) = ModelMerger.Merge(Inputs([0, 1, 2, 3, 100], [1, 1, 1, 1, 1], length: 1), new MergeOptions { Method = MergeMethod.Krum });

        Assert.Equal(1, result.ByzantineCount);
        Assert.Equal([5.0, 2, 2, 5, 19013], result.Krum!.Scores);
        Assert.Equal([1], result.Krum.Selected);
        Assert.Equal([1f], merged["w"].Values);
    }

    [Theory]
    [InlineData(2, new[] { 1, 2 }, 1.75)] // (1·1 + 2·3) / (1 + 3)
    [InlineData(3, new[] { 1, 2, 0 }, 1.4)] // (1·1 + 2·3 + 0·1) / 5
    [InlineData(4, new[] { 1, 2, 0, 3 }, 10.0 / 6)] // (1·1 + 2·3 + 0·1 + 3·1) / 6: the outlier is still left out
    public void Multi_krum_averages_the_lowest_scores_with_their_weights(int select, int[] selected, double expected)
    {
        var (merged, result) = ModelMerger.Merge(Inputs([0, 1, 2, 3, 100], [1, 1, 3, 1, 1], length: 1), new MergeOptions { Method = MergeMethod.Krum, KrumSelect = select });

        Assert.Equal(selected, result.Krum!.Selected);
        Assert.Equal(expected, merged["w"].Values[0], 1e-6);
    }

    [Fact]
    public void Krum_ignores_weights_when_scoring()
    {
        // A Byzantine node may claim any weight: the outlier's weight 1000 does not get it selected.
        var (merged, result) = ModelMerger.Merge(Inputs([0, 1, 2, 3, 100], [1, 1, 1, 1, 1000], length: 1), new MergeOptions { Method = MergeMethod.Krum, KrumSelect = 2 });

        Assert.Equal([1, 2], result.Krum!.Selected);
        Assert.Equal(1.5f, merged["w"].Values[0]);
    }

    [Fact]
    public void Krum_with_f_zero_and_three_models_uses_the_single_nearest_other()
    {
        // n − f − 2 = 1 neighbour: scores 0: 4, 2: 4, 7: 25.
        var (_, result) = ModelMerger.Merge(Inputs([0, 2, 7], [1, 1, 1], length: 1), new MergeOptions { Method = MergeMethod.Krum, ByzantineCount = 0 });

        Assert.Equal([4.0, 4, 25], result.Krum!.Scores);
        Assert.Equal([0], result.Krum.Selected);
    }

    [Fact]
    public void Krum_leaves_out_an_obvious_outlier_in_a_swarm()
    {
        var models = TestModels.Cluster(5, 6, TestModels.Layout, noise: 0.01);
        models[3] = TestModels.Map(models[3], v => v + 50, "byzantine");

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(models), new MergeOptions { Method = MergeMethod.Krum, KrumSelect = 4 });

        Assert.DoesNotContain(3, result.Krum!.Selected);
        Assert.Equal(4, result.Krum.Selected.Length);
        Assert.Equal(result.Krum.Scores.Max(), result.Krum.Scores[3]);
        var expected = Reference.Mean([.. result.Krum.Selected.Select(i => TestModels.FlattenDouble(models[i]))], [1, 1, 1, 1]);
        MergeAssert.Close(expected, TestModels.Flatten(merged), 1e-6, "multi-krum without the outlier");
    }

    /// <summary>Model i holds values[i] + j at element j.</summary>
    private static MergeInput[] Inputs(double[] values, double[] weights, int length = Length) =>
        [.. values.Select((v, i) => new MergeInput(
            TestModels.FromFlat(Enumerable.Range(0, length).Select(j => v + j), TestModels.Vector(length), $"model{i}"),
            weights[i]))];

    private static void AssertTranslated(double expected, TensorModel merged) =>
        Assert.Equal(Enumerable.Range(0, Length).Select(j => (float)(expected + j)), merged["w"].Values);
}
