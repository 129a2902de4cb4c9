namespace SwarmLearning.Training.Tests;

public sealed class StableRandomTests
{
    [Fact]
    public void Xoshiro256StarStar_seeded_by_SplitMix64_gives_the_reference_sequence()
    {
        // Computed with an independent transcription of Vigna's reference C code.
        var random = new Xoshiro256StarStar(42);
        Assert.Equal([0x15780b2e0c2ec716UL, 0x6104d9866d113a7eUL, 0xae17533239e499a1UL, 0xecb8ad4703b360a1UL], Enumerable.Range(0, 4).Select(_ => random.NextUInt64()));
        var zero = new Xoshiro256StarStar(0);
        Assert.Equal(0x99ec5f36cb75f2b4UL, zero.NextUInt64());
    }

    [Fact]
    public void Bounded_integers_cover_the_range_evenly()
    {
        var random = new Xoshiro256StarStar(5);
        var counts = new int[7];
        for (var i = 0; i < 70_000; i++)
        {
            counts[random.NextInt(7)]++;
        }

        Assert.All(counts, n => Assert.InRange(n, 9_600, 10_400));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(50)]
    public void Gamma_draws_have_mean_and_variance_equal_to_the_shape(double shape)
    {
        var random = new Xoshiro256StarStar(9);
        const int N = 40_000;
        var draws = Enumerable.Range(0, N).Select(_ => random.NextGamma(shape)).ToArray();
        var mean = draws.Average();
        var variance = draws.Sum(d => (d - mean) * (d - mean)) / (N - 1);
        Assert.All(draws, d => Assert.True(d >= 0));

        // Standard error of the mean is sqrt(shape / N); allow five of them, and 10% on the variance.
        Assert.InRange(mean, shape - (5 * Math.Sqrt(shape / N)), shape + (5 * Math.Sqrt(shape / N)));
        Assert.InRange(variance, shape * 0.9, shape * 1.1);
    }

    [Fact]
    public void Dirichlet_proportions_sum_to_one()
    {
        var random = new Xoshiro256StarStar(3);
        var p = new double[6];
        foreach (var alpha in new[] { 1e-4, 0.1, 1, 100 })
        {
            random.NextDirichlet(alpha, p);
            Assert.Equal(1.0, p.Sum(), 12);
            Assert.All(p, v => Assert.True(v >= 0));
        }
    }
}
