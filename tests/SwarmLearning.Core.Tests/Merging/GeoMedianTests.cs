using SwarmLearning.Merging;
using SwarmLearning.Merging.Robust;

namespace SwarmLearning.Tests.Merging;

/// <summary>The geometric median: through <see cref="ModelMerger"/> and <see cref="Weiszfeld.Solve"/> directly.</summary>
public sealed class GeoMedianTests
{
    private static readonly MergeOptions GeoMedian = new() { Method = MergeMethod.GeoMedian };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Geometric_median_of_a_swarm_converges_within_fifty_iterations(int seed)
    {
        var models = TestModels.Cluster(seed, 8, TestModels.Layout, noise: 0.01);

        var (_, result) = ModelMerger.Merge(TestModels.Inputs(models), GeoMedian);

        Assert.Contains(result.GeoMedian!.Stop, new[] { GeoMedianStop.Converged, GeoMedianStop.AtInput });
        Assert.InRange(result.GeoMedian.Iterations, 1, 50);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Geometric_median_converges_and_resists_an_outlier_scaled_a_hundredfold(int seed)
    {
        var models = TestModels.Cluster(seed, 8, TestModels.Layout, noise: 0.01);
        models[5] = TestModels.Map(models[5], v => v * 100, "outlier");
        var clean = MergeReferenceTests.Flat(models.Where((_, i) => i != 5));
        var center = Reference.Mean(clean, [.. clean.Select(_ => 1.0)]);
        var noise = Reference.Spread(clean, [.. clean.Select(_ => 1.0)]);

        var (median, result) = ModelMerger.Merge(TestModels.Inputs(models), GeoMedian);
        var (mean, _) = ModelMerger.Merge(TestModels.Inputs(models), new MergeOptions());

        Assert.Contains(result.GeoMedian!.Stop, new[] { GeoMedianStop.Converged, GeoMedianStop.AtInput });
        Assert.InRange(result.GeoMedian.Iterations, 1, 50);
        var medianError = Reference.Distance(center, TestModels.FlattenDouble(median));
        var meanError = Reference.Distance(center, TestModels.FlattenDouble(mean));

        // The mean moves by a seventh of a model's length times 99; the median stays within the noise of the clean models.
        Assert.True(medianError <= noise, $"geomedian is {medianError:E3} from the clean centre, clean models' spread {noise:E3}");
        Assert.True(medianError * 1000 <= meanError, $"geomedian {medianError:E3} vs mean {meanError:E3} from the clean centre");
        Assert.True(result.GeoMedian.Coefficients[5] < 1e-3, $"the outlier keeps coefficient {result.GeoMedian.Coefficients[5]}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void An_input_with_more_than_half_the_weight_is_the_median_exactly(int heavy)
    {
        var models = TestModels.Independent(heavy, 5, TestModels.Layout);
        double[] weights = [1, 1, 1, 1, 1];
        weights[heavy] = 4.5; // 4.5 of 8.5

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(models, weights), GeoMedian);

        Assert.Equal(GeoMedianStop.AtInput, result.GeoMedian!.Stop);
        Assert.InRange(result.GeoMedian.Iterations, 1, 50);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => i == heavy ? 1.0 : 0.0), result.GeoMedian.Coefficients);
        MergeAssert.BitEqual(models[heavy], merged, "geomedian");
    }

    [Theory]
    [InlineData(new double[] { 0, 1, 2 })] // the mean lands exactly on the middle point
    [InlineData(new double[] { 0, 1, 5 })] // the mean (2) is not an input; the median is still the middle point
    [InlineData(new double[] { 5, -3, 0 })] // unsorted
    public void Of_three_collinear_models_the_middle_one_is_the_median_exactly(double[] positions)
    {
        var random = new Random(3);
        var origin = TestModels.Flatten(TestModels.Gaussian(random, TestModels.Layout, "origin"));
        var direction = TestModels.Flatten(TestModels.Gaussian(random, TestModels.Layout, "direction"));
        var models = positions.Select((p, i) => TestModels.FromFlat(origin.Select((o, j) => o + (p * (double)direction[j])), TestModels.Layout, $"model{i}")).ToArray();
        var middle = Array.IndexOf(positions, positions.Order().ElementAt(1));

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(models), GeoMedian);

        Assert.Equal(GeoMedianStop.AtInput, result.GeoMedian!.Stop);
        Assert.Equal(1.0, result.GeoMedian.Coefficients[middle]);
        MergeAssert.BitEqual(models[middle], merged, "geomedian");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Identical_inputs_stop_at_once(int n)
    {
        var model = TestModels.Gaussian(new Random(n), TestModels.Layout, "model");

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs([.. Enumerable.Range(0, n).Select(i => TestModels.Copy(model, $"copy{i}"))]), GeoMedian);

        Assert.Equal(GeoMedianStop.IdenticalInputs, result.GeoMedian!.Stop);
        Assert.Equal(0, result.GeoMedian.Iterations);
        Assert.Equal(0, result.GeoMedian.Objective);
        MergeAssert.BitEqual(model, merged, "geomedian");
    }

    [Fact]
    public void Two_models_of_equal_weight_merge_to_their_mean()
    {
        // Every point between them is a median; the solver starts at the mean and stays there.
        var models = TestModels.Independent(8, 2, TestModels.Layout);

        var (merged, result) = ModelMerger.Merge(TestModels.Inputs(models), GeoMedian);

        Assert.Equal([0.5, 0.5], result.GeoMedian!.Coefficients);
        var x = MergeReferenceTests.Flat(models);
        MergeAssert.Close(Reference.Mean(x, [1, 1]), TestModels.Flatten(merged), 1e-6, "geomedian of two");
    }

    [Fact]
    public void Solve_finds_the_centre_of_a_square_at_once()
    {
        // Corners (0,0), (1,0), (0,1), (1,1): sides 1, diagonals 2 (squared). The mean is the median.
        double[] d =
        [
            0, 1, 1, 2,
            1, 0, 2, 1,
            1, 2, 0, 1,
            2, 1, 1, 0,
        ];

        var solution = Weiszfeld.Solve(d, [1, 1, 1, 1], 100, 1e-6);

        Assert.Equal(GeoMedianStop.Converged, solution.Stop);
        Assert.Equal(1, solution.Iterations);
        Assert.All(solution.Coefficients, c => Assert.Equal(0.25, c, 1e-12));
        Assert.Equal(4 * Math.Sqrt(0.5), solution.Objective, 1e-12);
    }

    [Fact]
    public void Solve_returns_the_vertex_of_an_obtuse_triangle()
    {
        // A = (0, 0), B = (1, 0), C = (−1, 0.1): the angle at A is over 120°, so the Fermat point is A itself.
        var points = new[] { (0.0, 0.0), (1.0, 0.0), (-1.0, 0.1) };

        var solution = Weiszfeld.Solve(SquaredDistances(points), [1, 1, 1], 100, 1e-6);

        Assert.Equal(GeoMedianStop.AtInput, solution.Stop);
        Assert.Equal([1.0, 0, 0], solution.Coefficients);
        Assert.Equal(1 + Math.Sqrt(1.01), solution.Objective, 1e-12);
    }

    [Fact]
    public void Solve_finds_the_fermat_point_of_an_acute_triangle()
    {
        // Equilateral triangle: the Fermat point is the centroid, where the solver starts.
        var h = Math.Sqrt(3) / 2;
        var points = new[] { (0.0, 0.0), (1.0, 0.0), (0.5, h) };

        var solution = Weiszfeld.Solve(SquaredDistances(points), [2, 2, 2], 100, 1e-6);

        Assert.Equal(GeoMedianStop.Converged, solution.Stop);
        Assert.All(solution.Coefficients, c => Assert.Equal(1.0 / 3, c, 1e-9));
    }

    [Fact]
    public void Solve_matches_a_full_vector_weiszfeld_on_random_points()
    {
        var random = new Random(11);
        double[][] x = [.. Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 3).Select(_ => TestModels.NextGaussian(random)).ToArray())];
        double[] w = [1, 2, 3, 1, 2, 3];

        var solution = Weiszfeld.Solve(Reference.SquaredDistances(x), w, 1000, 1e-10);

        var expected = Reference.GeoMedian(x, w);
        double[] actual = [.. Enumerable.Range(0, 3).Select(j => x.Select((xi, i) => solution.Coefficients[i] * xi[j]).Sum())];
        Assert.True(Reference.Distance(expected, actual) <= 1e-7, $"{Reference.Distance(expected, actual)}");
        Assert.Equal(Reference.Objective(x, w, expected), solution.Objective, 1e-9);
    }

    [Fact]
    public void Solve_stops_at_the_iteration_cap()
    {
        var random = new Random(12);
        double[][] x = [.. Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 4).Select(_ => TestModels.NextGaussian(random)).ToArray())];

        var solution = Weiszfeld.Solve(Reference.SquaredDistances(x), [1, 1, 1, 1, 1], 1, 1e-12);

        Assert.Equal(GeoMedianStop.IterationCap, solution.Stop);
        Assert.Equal(1, solution.Iterations);
        Assert.Equal(1.0, solution.Coefficients.Sum(), 1e-12);
    }

    [Fact]
    public void Solve_of_coincident_inputs_returns_the_weighted_mean_coefficients()
    {
        var solution = Weiszfeld.Solve(new double[9], [1, 2, 5], 100, 1e-6);

        Assert.Equal(GeoMedianStop.IdenticalInputs, solution.Stop);
        Assert.Equal([0.125, 0.25, 0.625], solution.Coefficients);
    }

    [Fact]
    public void Solve_refuses_bad_arguments()
    {
        Assert.Throws<ArgumentException>(() => Weiszfeld.Solve(new double[8], [1, 1, 1], 100, 1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Weiszfeld.Solve(new double[9], [1, 1, 1], 0, 1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Weiszfeld.Solve(new double[9], [1, 1, 1], 100, 0));
    }

    private static double[] SquaredDistances((double X, double Y)[] points) =>
        Reference.SquaredDistances([.. points.Select(p => new[] { p.X, p.Y })]);
}
