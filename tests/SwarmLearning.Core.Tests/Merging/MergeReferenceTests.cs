using SwarmLearning.Merging;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// Property tests: <see cref="ModelMerger.Merge"/> on seeded random models (a scalar, odd sizes, an empty tensor)
/// against the double-precision <see cref="Reference"/>. Tolerances are relative to max(1, |expected|):
/// 1e-5 for the means (f32 sums of a few terms), 1e-6 for the median (it picks or halves input values, so it is
/// exact up to f32 rounding), and for the geometric median 1e-4 of the inputs' spread in Euclidean distance over the
/// whole model (the solver stops at 1e-6 × spread per step; its coefficients are rounded to f32).
/// </summary>
public sealed class MergeReferenceTests
{
    private const double MeanTolerance = 1e-5;
    private const double MedianTolerance = 1e-6;
    private const double GeoMedianTolerance = 1e-4;

    public static TheoryData<int> Counts => [1, 2, 3, 4, 5, 7, 8, 9, 16];

    public static TheoryData<int> KrumCounts => [3, 4, 5, 7, 9, 16];

    [Theory]
    [MemberData(nameof(Counts))]
    public void Mean_matches_the_reference(int n)
    {
        var random = new Random(100 + n);
        var models = TestModels.Independent(n, n, TestModels.Layout);
        double[] weights = [.. Enumerable.Range(0, n).Select(_ => 0.1 + (10 * random.NextDouble()))];

        var merged = Merge(models, weights, new MergeOptions { Method = MergeMethod.Mean });

        MergeAssert.Close(Reference.Mean(Flat(models), weights), merged, MeanTolerance, "mean");
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Coordinate_median_matches_the_reference_with_integer_weights(int n)
    {
        var random = new Random(200 + n);
        var models = TestModels.Independent(n, n, TestModels.Layout);
        var weights = TestModels.IntegerWeights(random, n);

        var merged = Merge(models, weights, new MergeOptions { Method = MergeMethod.CoordMedian });

        MergeAssert.Close(Reference.CoordMedian(Flat(models), weights), merged, MedianTolerance, "coordmedian");
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Coordinate_median_matches_the_reference_when_values_tie(int n)
    {
        // Values on a coarse grid, so coordinates hold ties and the exact-half rule meets equal neighbours.
        var random = new Random(300 + n);
        var models = TestModels.Independent(n, n, TestModels.Layout).Select(m => TestModels.Map(m, v => MathF.Round(v * 2) / 2, m.Name)).ToArray();
        var weights = TestModels.IntegerWeights(random, n, max: 3);

        var merged = Merge(models, weights, new MergeOptions { Method = MergeMethod.CoordMedian });

        MergeAssert.Close(Reference.CoordMedian(Flat(models), weights), merged, MedianTolerance, "coordmedian");
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Coordinate_median_matches_the_reference_with_equal_weights(int n)
    {
        var models = TestModels.Independent(400 + n, n, TestModels.Layout);
        double[] weights = [.. Enumerable.Repeat(2.5, n)];

        var merged = Merge(models, weights, new MergeOptions { Method = MergeMethod.CoordMedian });

        MergeAssert.Close(Reference.CoordMedian(Flat(models), weights), merged, MedianTolerance, "coordmedian");
    }

    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(4, 0.25)]
    [InlineData(5, 0.2)]
    [InlineData(7, 0.3)]
    [InlineData(8, 0.1)]
    [InlineData(9, 0.45)]
    [InlineData(16, 0.0)]
    [InlineData(16, 0.2)]
    public void Trimmed_mean_matches_the_reference(int n, double beta)
    {
        var random = new Random(500 + n);
        var models = TestModels.Independent(500 + n, n, TestModels.Layout);
        double[] weights = [.. Enumerable.Range(0, n).Select(_ => 0.5 + random.NextDouble())];
        var options = new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = beta };

        var (model, result) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);

        Assert.Equal((int)Math.Floor(beta * n), result.TrimmedPerSide);
        MergeAssert.Close(Reference.TrimmedMean(Flat(models), weights, beta), TestModels.Flatten(model), MeanTolerance, "trimmedmean");
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Trimmed_mean_with_equal_weights_matches_the_reference(int n)
    {
        var models = TestModels.Independent(600 + n, n, TestModels.Layout);
        double[] weights = [.. Enumerable.Repeat(1.0, n)];

        var merged = Merge(models, weights, new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = 0.25 });

        MergeAssert.Close(Reference.TrimmedMean(Flat(models), weights, 0.25), merged, MeanTolerance, "trimmedmean");
    }

    [Theory]
    [MemberData(nameof(KrumCounts))]
    public void Krum_matches_the_reference(int n)
    {
        var random = new Random(700 + n);
        var models = TestModels.Cluster(700 + n, n, TestModels.Layout, noise: 0.1);
        double[] weights = [.. Enumerable.Range(0, n).Select(_ => 0.5 + random.NextDouble())];
        foreach (var select in new[] { 1, 2, n }.Distinct())
        {
            var options = new MergeOptions { Method = MergeMethod.Krum, KrumSelect = select };

            var (model, result) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);

            var (scores, selected) = Reference.KrumSelect(Flat(models), weights, null, select);
            Assert.Equal(selected, result.Krum!.Selected);
            Assert.Equal(Math.Max(0, (n - 3) / 2), result.ByzantineCount);
            for (var i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(result.Krum.Scores[i] - scores[i]) <= 1e-5 * scores[i], $"score {i}: {result.Krum.Scores[i]} vs {scores[i]}");
            }

            MergeAssert.Close(Reference.Krum(Flat(models), weights, null, select), TestModels.Flatten(model), MeanTolerance, $"krum m={select}");
        }
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(7, 1)]
    [InlineData(9, 3)]
    public void Krum_with_an_explicit_byzantine_count_matches_the_reference(int n, int f)
    {
        var models = TestModels.Cluster(800 + n, n, TestModels.Layout, noise: 0.1);
        double[] weights = [.. Enumerable.Repeat(1.0, n)];
        var options = new MergeOptions { Method = MergeMethod.Krum, ByzantineCount = f, KrumSelect = 2 };

        var (model, result) = ModelMerger.Merge(TestModels.Inputs(models, weights), options);

        Assert.Equal(f, result.ByzantineCount);
        Assert.Equal(Reference.KrumSelect(Flat(models), weights, f, 2).Selected, result.Krum!.Selected);
        MergeAssert.Close(Reference.Krum(Flat(models), weights, f, 2), TestModels.Flatten(model), MeanTolerance, "krum");
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Geometric_median_matches_a_full_vector_weiszfeld(int n)
    {
        var random = new Random(900 + n);
        var models = TestModels.Independent(900 + n, n, TestModels.Layout);
        double[] weights = [.. Enumerable.Range(0, n).Select(_ => 0.5 + random.NextDouble())];
        var x = Flat(models);

        var (model, result) = ModelMerger.Merge(TestModels.Inputs(models, weights), new MergeOptions { Method = MergeMethod.GeoMedian });

        var expected = Reference.GeoMedian(x, weights);
        var actual = TestModels.FlattenDouble(model);
        var spread = Reference.Spread(x, weights);
        var error = Reference.Distance(expected, actual);
        Assert.True(error <= GeoMedianTolerance * spread, $"‖merged − reference‖ = {error:E3}, spread {spread:E3}, stop {result.GeoMedian!.Stop} after {result.GeoMedian.Iterations}");

        // The merged model is as good a minimiser as the reference, to the same tolerance.
        Assert.True(Reference.Objective(x, weights, actual) <= Reference.Objective(x, weights, expected) + (GeoMedianTolerance * spread * weights.Sum()));
        Assert.Equal(1.0, result.GeoMedian!.Coefficients.Sum(), 1e-12);
    }

    internal static double[][] Flat(IEnumerable<TensorModel> models) => [.. models.Select(TestModels.FlattenDouble)];

    private static float[] Merge(TensorModel[] models, double[] weights, MergeOptions options) =>
        TestModels.Flatten(ModelMerger.Merge(TestModels.Inputs(models, weights), options).Model);
}
