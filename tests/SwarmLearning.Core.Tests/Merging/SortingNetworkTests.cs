using SwarmLearning.Merging.Kernels;

namespace SwarmLearning.Tests.Merging;

public sealed class SortingNetworkTests
{
    public static TheoryData<int> SmallSizes => [.. Enumerable.Range(1, 16)];

    [Theory]
    [MemberData(nameof(SmallSizes))]
    public void Network_sorts_every_zero_one_input(int n)
    {
        // The 0-1 principle: a comparator network that sorts all 2^n inputs of zeros and ones sorts every input.
        var network = SortingNetwork.For(n);
        var values = new int[n];
        for (var bits = 0; bits < 1 << n; bits++)
        {
            for (var i = 0; i < n; i++)
            {
                values[i] = (bits >> i) & 1;
            }

            Apply(network, values);

            for (var i = 1; i < n; i++)
            {
                if (values[i - 1] > values[i])
                {
                    Assert.Fail($"n={n}: input {Convert.ToString(bits, 2).PadLeft(n, '0')} came out unsorted: {string.Join("", values)}");
                }
            }
        }
    }

    [Fact]
    public void Network_sorts_random_inputs_up_to_seventy()
    {
        var random = new Random(7);
        for (var n = 1; n <= 70; n++)
        {
            var network = SortingNetwork.For(n);
            Assert.Equal(n, network.Size);
            for (var trial = 0; trial < 50; trial++)
            {
                // Small ranges give duplicates; large ones distinct values.
                var range = trial % 2 == 0 ? 4 : 1_000_000;
                int[] values = [.. Enumerable.Range(0, n).Select(_ => random.Next(range))];
                int[] expected = [.. values.Order()];

                Apply(network, values);

                Assert.Equal(expected, values);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(70)]
    public void Comparators_stay_inside_the_input_with_low_before_high(int n)
    {
        var network = SortingNetwork.For(n);

        Assert.Equal(network.Pairs.Length / 2, network.ComparatorCount);
        for (var c = 0; c < network.Pairs.Length; c += 2)
        {
            Assert.InRange(network.Pairs[c], 0, n - 1);
            Assert.InRange(network.Pairs[c + 1], network.Pairs[c] + 1, n - 1);
        }
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(4, 5)]
    [InlineData(8, 19)]
    [InlineData(16, 63)]
    [InlineData(32, 191)]
    public void Power_of_two_sizes_have_batchers_comparator_count(int n, int comparators)
    {
        Assert.Equal(comparators, SortingNetwork.For(n).ComparatorCount);
    }

    [Fact]
    public void Networks_are_cached_and_need_at_least_one_input()
    {
        Assert.Same(SortingNetwork.For(9), SortingNetwork.For(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => SortingNetwork.For(0));
    }

    private static void Apply(SortingNetwork network, int[] values)
    {
        var pairs = network.Pairs;
        for (var c = 0; c < pairs.Length; c += 2)
        {
            var (a, b) = (pairs[c], pairs[c + 1]);
            if (values[a] > values[b])
            {
                (values[a], values[b]) = (values[b], values[a]);
            }
        }
    }
}
