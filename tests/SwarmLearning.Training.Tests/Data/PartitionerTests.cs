using SwarmLearning.Training.Data.Partitioning;

namespace SwarmLearning.Training.Tests;

public sealed class PartitionerTests
{
    /// <summary>n samples of k classes, class c holding a share that grows with c (so classes differ in size), shuffled.</summary>
    private static int[] Labels(int count, int classes, int seed = 1)
    {
        var labels = new int[count];
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            labels[i] = random.Next(classes * (classes + 1) / 2) switch
            {
                var r => (int)Math.Floor((Math.Sqrt((8.0 * r) + 1) - 1) / 2),
            };
        }

        return labels;
    }

    private static PartitionOptions With(PartitionMethod method, ulong seed = 42, double alpha = 0.5) => new() { Method = method, Seed = seed, Alpha = alpha };

    public static TheoryData<PartitionMethod, int, int> Cases => new()
    {
        { PartitionMethod.Iid, 1000, 7 },
        { PartitionMethod.Iid, 10, 10 },
        { PartitionMethod.Dirichlet, 1000, 7 },
        { PartitionMethod.Dirichlet, 12, 12 },
        { PartitionMethod.Biased, 1000, 7 },
        { PartitionMethod.Biased, 9, 9 },
        { PartitionMethod.Biased, 500, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_partition_is_disjoint_covers_every_sample_and_leaves_no_node_empty(PartitionMethod method, int count, int nodes)
    {
        var labels = Labels(count, 10);
        var partition = Partitioner.Partition(labels, 10, nodes, With(method, alpha: 0.05));

        Assert.Equal(nodes, partition.Nodes.Count);
        var all = partition.Nodes.SelectMany(n => n).ToList();
        Assert.Equal(count, all.Count);
        Assert.Equal(Enumerable.Range(0, count), all.Order());
        for (var k = 0; k < nodes; k++)
        {
            Assert.NotEmpty(partition.Nodes[k]);
            Assert.Equal(partition.Nodes[k].Order(), partition.Nodes[k]);
            Assert.Equal(Enumerable.Range(0, 10).Select(c => partition.Nodes[k].Count(i => labels[i] == c)), partition.Histograms[k]);
        }
    }

    [Theory]
    [InlineData(PartitionMethod.Iid)]
    [InlineData(PartitionMethod.Dirichlet)]
    [InlineData(PartitionMethod.Biased)]
    public void A_seed_gives_one_partition_and_another_seed_another(PartitionMethod method)
    {
        var labels = Labels(2000, 10);
        var a = Partitioner.Partition(labels, 10, 5, With(method, seed: 7));
        var b = Partitioner.Partition(labels, 10, 5, With(method, seed: 7));
        var c = Partitioner.Partition(labels, 10, 5, With(method, seed: 8));
        Assert.Equal(a.Nodes, b.Nodes);
        Assert.NotEqual(a.Nodes, c.Nodes);
    }

    [Fact]
    public void Iid_shares_differ_by_at_most_one_and_follow_the_global_class_mix()
    {
        var labels = Labels(20_003, 10);
        var partition = Partitioner.Partition(labels, 10, 6, With(PartitionMethod.Iid));
        var sizes = partition.Nodes.Select(n => n.Length).ToList();
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(", ", sizes));
        var global = Enumerable.Range(0, 10).Select(c => labels.Count(l => l == c) / (double)labels.Length).ToArray();
        foreach (var h in partition.Histograms)
        {
            for (var c = 0; c < 10; c++)
            {
                // About 3334 samples a node: a class share's standard deviation is at most 0.009.
                Assert.InRange(h[c] / (double)h.Sum(), global[c] - 0.035, global[c] + 0.035);
            }
        }
    }

    private static double MeanLargestClassShare(DataPartition partition) =>
        partition.Histograms.Average(h => h.Max() / (double)h.Sum());

    [Fact]
    public void Dirichlet_with_large_alpha_is_near_uniform_and_with_small_alpha_skewed()
    {
        var labels = Enumerable.Range(0, 20_000).Select(i => i % 10).ToArray();
        var uniform = MeanLargestClassShare(Partitioner.Partition(labels, 10, 8, With(PartitionMethod.Dirichlet, alpha: 1000)));
        var skewed = MeanLargestClassShare(Partitioner.Partition(labels, 10, 8, With(PartitionMethod.Dirichlet, alpha: 0.1)));

        // Ten equal classes: a perfectly even node's largest class is 0.1 of it.
        Assert.InRange(uniform, 0.1, 0.13);
        Assert.True(skewed > 0.4, $"α = 0.1 gave a mean largest-class share of {skewed:F3}");
    }

    [Fact]
    public void Dirichlet_alpha_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.Partition([0, 1, 0], 2, 2, With(PartitionMethod.Dirichlet, alpha: 0)));
    }

    [Theory]
    [InlineData(6, 10)]
    [InlineData(2, 10)]
    [InlineData(5, 12)]
    [InlineData(10, 4)]
    [InlineData(3, 2)]
    public void Biased_nodes_favour_three_or_four_classes_spread_over_every_class(int nodes, int classes)
    {
        var labels = Enumerable.Range(0, 600).Select(i => i % classes).ToArray();
        var partition = Partitioner.Partition(labels, classes, nodes, With(PartitionMethod.Biased));
        var favoured = partition.FavouredClasses!;
        var perNode = Math.Min(classes - 1, 3);
        Assert.All(favoured, f => Assert.InRange(f.Length, perNode, Math.Min(classes - 1, 4)));
        Assert.All(favoured, f => Assert.Equal(f.Distinct().Order(), f));
        var timesFavoured = Enumerable.Range(0, classes).Select(c => favoured.Count(f => f.Contains(c))).ToList();
        if (favoured.Sum(f => f.Length) >= classes)
        {
            Assert.DoesNotContain(0, timesFavoured);
        }

        Assert.True(timesFavoured.Max() - timesFavoured.Min() <= 1, string.Join(", ", timesFavoured));
    }

    [Fact]
    public void Biased_shares_of_favoured_classes_are_three_times_those_of_the_others()
    {
        var labels = Labels(30_000, 10, seed: 3);
        var partition = Partitioner.Partition(labels, 10, 6, With(PartitionMethod.Biased, seed: 11));
        var favoured = partition.FavouredClasses!;
        var classSizes = Enumerable.Range(0, 10).Select(c => labels.Count(l => l == c)).ToArray();
        var weightSums = Enumerable.Range(0, 10).Select(c => favoured.Sum(f => f.Contains(c) ? 3 : 1)).ToArray();
        var checkedRatios = 0;
        for (var k = 0; k < 6; k++)
        {
            var share = Enumerable.Range(0, 10).Select(c => partition.Histograms[k][c] / (double)classSizes[c]).ToArray();
            for (var c = 0; c < 10; c++)
            {
                // The definition: node k gets n_c · w / W_c of class c, rounded down at each boundary.
                var weight = favoured[k].Contains(c) ? 3 : 1;
                Assert.InRange(partition.Histograms[k][c], (classSizes[c] * weight / (double)weightSums[c]) - 1, (classSizes[c] * weight / (double)weightSums[c]) + 1);
            }

            foreach (var f in favoured[k])
            {
                foreach (var other in Enumerable.Range(0, 10).Except(favoured[k]).Where(o => weightSums[o] == weightSums[f]))
                {
                    // Classes favoured by equally many nodes: the favoured share is 3× the other, up to rounding of
                    // about 1 sample in the smaller share (the smallest class here holds over 500 samples).
                    Assert.InRange(share[f] / share[other], 2.9, 3.1);
                    checkedRatios++;
                }
            }
        }

        Assert.True(checkedRatios > 0);
    }

    [Fact]
    public void Nodes_left_empty_by_a_skewed_draw_get_a_sample_from_the_largest_node()
    {
        var labels = new[] { 0, 0, 0, 0, 1, 1 };
        for (ulong seed = 0; seed < 20; seed++)
        {
            var partition = Partitioner.Partition(labels, 2, 6, With(PartitionMethod.Dirichlet, seed: seed, alpha: 0.01));
            Assert.All(partition.Nodes, n => Assert.Single(n));
        }
    }

    [Fact]
    public void More_nodes_than_samples_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.Partition([0, 1], 2, 3, With(PartitionMethod.Iid)));
    }
}
