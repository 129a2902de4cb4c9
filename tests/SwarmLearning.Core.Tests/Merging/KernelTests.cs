using SwarmLearning.Merging.Kernels;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// The order-statistic and weighted-sum kernels called directly at every width, for every tail length, against the
/// scalar width (bit for bit: all widths use the same non-fused arithmetic in the same order) and against the
/// double-precision reference (1e-6 relative/absolute for the median, 1e-5 for the means). Vector512 runs in
/// software where the hardware lacks AVX-512, so every width is tested on every machine; the test script re-runs
/// this category with DOTNET_EnableAVX512F=0, DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class KernelTests
{
    private const double MedianTolerance = 1e-6;
    private const double MeanTolerance = 1e-5;

    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000];

    private static readonly KernelWidth[] VectorWidths = [KernelWidth.V128, KernelWidth.V256, KernelWidth.V512, KernelWidth.Auto];

    public static TheoryData<int> Counts => [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33];

    [Theory]
    [MemberData(nameof(Counts))]
    public void Median_agrees_at_every_width_and_with_the_reference(int n)
    {
        var random = new Random(n);
        foreach (var equalWeights in new[] { true, false })
        {
            foreach (var length in Lengths)
            {
                var block = KernelBlock.Create(random, n, length, ties: true);
                var weights = Weights(random, n, equalWeights);
                var what = $"median, n={n}, length={length}, {(equalWeights ? "equal" : "unequal")} weights";

                var scalar = block.Run((output, scratch) => OrderStatistics.Median(block.Matrix, block.Stride, n, weights, output, scratch, KernelWidth.Scalar), what);

                MergeAssert.Close(block.PerCoordinate(weights, Reference.WeightedMedian), scalar, MedianTolerance, what);
                foreach (var width in VectorWidths)
                {
                    var vector = block.Run((output, scratch) => OrderStatistics.Median(block.Matrix, block.Stride, n, weights, output, scratch, width), what);
                    MergeAssert.BitEqual(scalar, vector, $"{what}, {width} against Scalar");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Trimmed_mean_agrees_at_every_width_and_with_the_reference(int n)
    {
        var random = new Random(100 + n);
        foreach (var trim in new[] { 0, 1, (n - 1) / 2 }.Where(t => n - (2 * t) >= 1).Distinct())
        {
            foreach (var equalWeights in new[] { true, false })
            {
                foreach (var length in Lengths)
                {
                    // No ties: with unequal weights, which of two equal values is trimmed would change the result.
                    var block = KernelBlock.Create(random, n, length, ties: equalWeights);
                    var weights = Weights(random, n, equalWeights);
                    var what = $"trimmed mean, n={n}, trim={trim}, length={length}, {(equalWeights ? "equal" : "unequal")} weights";

                    var scalar = block.Run((output, scratch) => OrderStatistics.TrimmedMean(block.Matrix, block.Stride, n, weights, trim, output, scratch, KernelWidth.Scalar), what);

                    MergeAssert.Close(block.PerCoordinate(weights, (v, w) => Reference.TrimmedMean(v, w, trim)), scalar, MeanTolerance, what);
                    foreach (var width in VectorWidths)
                    {
                        var vector = block.Run((output, scratch) => OrderStatistics.TrimmedMean(block.Matrix, block.Stride, n, weights, trim, output, scratch, width), what);
                        MergeAssert.BitEqual(scalar, vector, $"{what}, {width} against Scalar");
                    }
                }
            }
        }
    }

    [Fact]
    public void Trimmed_mean_refuses_to_trim_everything()
    {
        var block = KernelBlock.Create(new Random(1), 4, 8, ties: false);

        Assert.Throws<ArgumentOutOfRangeException>(() =>
            block.Run((output, scratch) => OrderStatistics.TrimmedMean(block.Matrix, block.Stride, 4, [1, 1, 1, 1], 2, output, scratch, KernelWidth.Scalar), "trim 2 of 4"));
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void Weighted_sum_agrees_at_every_width_and_with_the_reference(int n)
    {
        var random = new Random(200 + n);
        foreach (var equalWeights in new[] { true, false })
        {
            foreach (var length in Lengths)
            {
                var block = KernelBlock.Create(random, n, length, ties: false);
                var weights = Weights(random, n, equalWeights);
                var total = weights.Sum();
                float[] coefficients = [.. weights.Select(w => w / total)];
                var reference = WeightedSum.ReferenceIndex(coefficients);
                var what = $"weighted sum, n={n}, length={length}, {(equalWeights ? "equal" : "unequal")} weights";

                var scalar = block.Run((output, _) => WeightedSum.Combine(block.Rows, coefficients, reference, output, KernelWidth.Scalar), what);

                var expected = Reference.Mean(block.Columns(), [.. coefficients.Select(c => (double)c)]);
                MergeAssert.Close(expected, scalar, MeanTolerance, what);
                foreach (var width in VectorWidths)
                {
                    var vector = block.Run((output, _) => WeightedSum.Combine(block.Rows, coefficients, reference, output, width), what);
                    MergeAssert.BitEqual(scalar, vector, $"{what}, {width} against Scalar");
                }
            }
        }
    }

    [Fact]
    public void Weighted_sum_skips_rows_with_zero_coefficients()
    {
        // A row of NaN with coefficient 0 (a model Krum did not select) must not reach the output.
        var block = KernelBlock.Create(new Random(3), 3, 33, ties: false);
        float[] nan = [.. Enumerable.Repeat(float.NaN, 33)];
        ReadOnlyMemory<float>[] rows = [block.Rows[0], nan, block.Rows[2]];
        float[] coefficients = [0.25f, 0, 0.75f];

        foreach (var width in VectorWidths.Prepend(KernelWidth.Scalar))
        {
            var output = new float[33];
            WeightedSum.Combine(rows, coefficients, WeightedSum.ReferenceIndex(coefficients), output, width);

            var expected = Reference.Mean([block.Columns()[0], block.Columns()[2]], [0.25, 0.75]);
            MergeAssert.Close(expected, output, MeanTolerance, $"{width}");
        }
    }

    [Fact]
    public void Weighted_sum_reference_is_the_first_largest_coefficient()
    {
        Assert.Equal(1, WeightedSum.ReferenceIndex([0.2f, 0.4f, 0.4f]));
        Assert.Equal(0, WeightedSum.ReferenceIndex([0.5f, 0.25f, 0.25f]));
        Assert.Equal(2, WeightedSum.ReferenceIndex([0, 0, 1f]));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(5, 100)]
    [InlineData(9, 1000)]
    public void Pairwise_distances_match_the_reference(int n, int length)
    {
        var block = KernelBlock.Create(new Random(n), n, length, ties: false);
        var squared = new double[n * n];

        // Two blocks of the same rows accumulate twice the distance.
        PairwiseDistances.Accumulate(block.Rows, squared);
        PairwiseDistances.Accumulate(block.Rows, squared);
        PairwiseDistances.Symmetrize(squared, n);

        var expected = Reference.SquaredDistances(block.Columns());
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(0, squared[(i * n) + i]);
            for (var j = 0; j < n; j++)
            {
                Assert.Equal(squared[(i * n) + j], squared[(j * n) + i]);
                Assert.True(Math.Abs(squared[(i * n) + j] - (2 * expected[(i * n) + j])) <= 1e-5 * expected[(i * n) + j], $"d²({i}, {j}) = {squared[(i * n) + j]}, expected {2 * expected[(i * n) + j]}");
            }
        }
    }

    [Fact]
    public void Pairwise_distances_survive_values_whose_squares_overflow_f32()
    {
        float[] a = [3e38f, -3e38f, 0];
        float[] b = [-3e38f, 3e38f, 1];
        var squared = new double[4];

        PairwiseDistances.Accumulate(new ReadOnlyMemory<float>[] { a, b }, squared);

        var expected = (2 * 6e38 * 6e38) + 1;
        Assert.True(Math.Abs(squared[1] - expected) <= 1e-6 * expected, $"{squared[1]} vs {expected}");
    }

    private static float[] Weights(Random random, int n, bool equal) =>
        [.. Enumerable.Range(0, n).Select(_ => equal ? 0.75f : random.Next(1, 6))];

    /// <summary>
    /// n rows of <c>length</c> values in a matrix whose rows are <c>length + 3</c> apart, the gap filled with NaN so a
    /// kernel that reads past a row's end or mixes up the stride shows it in the output.
    /// </summary>
    private sealed class KernelBlock
    {
        private const int Guard = 17;

        private KernelBlock(int n, int length, float[] matrix)
        {
            N = n;
            Length = length;
            Stride = length + 3;
            Matrix = matrix;
            Rows = [.. Enumerable.Range(0, n).Select(i => new ReadOnlyMemory<float>(matrix, i * Stride, length))];
        }

        public int N { get; }

        public int Length { get; }

        public int Stride { get; }

        public float[] Matrix { get; }

        public ReadOnlyMemory<float>[] Rows { get; }

        public static KernelBlock Create(Random random, int n, int length, bool ties)
        {
            var stride = length + 3;
            var matrix = new float[n * stride];
            Array.Fill(matrix, float.NaN);
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < length; j++)
                {
                    // With ties, a quarter of the values come from {−1, 0, 1}, so coordinates often hold equal values.
                    matrix[(i * stride) + j] = ties && random.Next(4) == 0 ? random.Next(-1, 2) : (float)TestModels.NextGaussian(random);
                }
            }

            return new KernelBlock(n, length, matrix);
        }

        /// <summary>Model i's values as a vector, in double.</summary>
        public double[][] Columns() => [.. Rows.Select(r => r.ToArray().Select(v => (double)v).ToArray())];

        public double[] PerCoordinate(float[] weights, Func<double[], double[], double> statistic) =>
            Reference.PerCoordinate(Columns(), [.. weights.Select(w => (double)w)], statistic);

        /// <summary>Runs a kernel into an output followed by guard values it must not touch.</summary>
        public float[] Run(KernelAction kernel, string what)
        {
            var buffer = new float[Length + Guard];
            Array.Fill(buffer, 12345f, Length, Guard);
            var scratch = new float[OrderStatistics.ScratchLength(N)];
            kernel(buffer.AsSpan(0, Length), scratch);
            for (var j = Length; j < buffer.Length; j++)
            {
                Assert.True(buffer[j] == 12345f, $"{what}: wrote past the output's end, at {j}");
            }

            return buffer[..Length];
        }
    }

    private delegate void KernelAction(Span<float> output, Span<float> scratch);
}
