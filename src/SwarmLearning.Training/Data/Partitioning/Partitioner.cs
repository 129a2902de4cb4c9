namespace SwarmLearning.Training.Data.Partitioning;

/// <summary>
/// Divides a training set among nodes. A partition is a pure function of the labels, the node count, the method,
/// its parameters and the seed: one <see cref="Xoshiro256StarStar"/> seeded with the seed makes every random
/// choice, in the order described below. Every partition is disjoint and covers every sample; every node gets at
/// least one sample; each node's indices are in ascending order (the source's order).
/// <list type="bullet">
/// <item><b>iid</b>: shuffle all indices; node k (from 0) takes the k-th contiguous run, the first n mod N nodes
/// ⌈n/N⌉ samples and the others ⌊n/N⌋.</item>
/// <item><b>dirichlet</b> (α): for each class c in ascending order, shuffle its indices, draw p ~ Dir(α·1_N), and
/// give node k the run [⌊n_c·P_k⌋, ⌊n_c·P_{k+1}⌋) with P_k = p_0 + … + p_{k−1} (the last run ends at n_c). This is
/// the label-skew benchmark of Hsu, Qi and Brown (2019).</item>
/// <item><b>biased</b>: first each node draws its number of favoured classes, 3 or 4 (NextInt(2) + 3, nodes in
/// order); if together they favour fewer than K classes, nodes in order are raised from 3 to 4 until they do or
/// all have 4; with fewer than 5 classes the number is capped at K − 1. Then, node by node, the node shuffles the
/// classes and (stable) sorts them by how many nodes already favour each, and favours the first ones, so every
/// class is favoured by some node whenever the nodes favour K or more classes in total, and by numbers of nodes
/// that differ by at most one. Then for each class c in ascending order, its indices are shuffled and split in
/// runs by weights w_k = 3 for nodes favouring c and 1 for the others: node k gets [⌊n_c·S_k/W⌋,
/// ⌊n_c·S_{k+1}/W⌋) with S_k = w_0 + … + w_{k−1} and W the sum, in exact integer arithmetic. So a node's share of
/// a favoured class is three times its share of a class it does not favour, when both classes are favoured by
/// equally many nodes (3·W_{c'}/W_c in general).</item>
/// </list>
/// The Dirichlet and biased splits can leave a node empty (tiny classes, small α). Then, for each empty node in
/// order, the node with the most samples (lowest number on ties) gives it the last-dealt sample of its own most
/// frequent class (lowest class on ties). With N ≤ n this always ends.
/// </summary>
public static class Partitioner
{
    /// <summary>Partitions samples with <paramref name="labels"/> (each in [0, <paramref name="classCount"/>)) among <paramref name="nodes"/> nodes.</summary>
    /// <exception cref="ArgumentException">A label is out of range, nodes is not in [1, samples], or α is not positive.</exception>
    public static DataPartition Partition(ReadOnlySpan<int> labels, int classCount, int nodes, PartitionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodes, labels.Length);
        if (options.Method == PartitionMethod.Dirichlet && (!(options.Alpha > 0) || !double.IsFinite(options.Alpha)))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Alpha, "The Dirichlet α must be a positive finite number.");
        }

        foreach (var label in labels)
        {
            if ((uint)label >= (uint)classCount)
            {
                throw new ArgumentException($"A label {label} is outside [0, {classCount}).", nameof(labels));
            }
        }

        var random = new Xoshiro256StarStar(options.Seed);
        List<int>[] assigned;
        int[][]? favoured = null;
        switch (options.Method)
        {
            case PartitionMethod.Iid:
                assigned = Iid(labels.Length, nodes, random);
                break;
            case PartitionMethod.Dirichlet:
                var proportions = new double[nodes];
                assigned = ByClass(labels, classCount, nodes, random, (_, count, bounds) =>
                {
                    random.NextDirichlet(options.Alpha, proportions);
                    var cumulative = 0.0;
                    for (var k = 0; k < nodes; k++)
                    {
                        bounds[k] = Math.Min(count, (int)Math.Floor(count * cumulative));
                        cumulative += proportions[k];
                    }
                });
                break;
            case PartitionMethod.Biased:
                favoured = ChooseFavoured(classCount, nodes, random);
                var favours = new bool[nodes, classCount];
                for (var k = 0; k < nodes; k++)
                {
                    foreach (var c in favoured[k])
                    {
                        favours[k, c] = true;
                    }
                }

                assigned = ByClass(labels, classCount, nodes, random, (c, count, bounds) =>
                {
                    long total = 0;
                    for (var k = 0; k < nodes; k++)
                    {
                        total += favours[k, c] ? PartitionOptions.BiasFactor : 1;
                    }

                    long before = 0;
                    for (var k = 0; k < nodes; k++)
                    {
                        bounds[k] = (int)(count * before / total);
                        before += favours[k, c] ? PartitionOptions.BiasFactor : 1;
                    }
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Method, "unknown partition method");
        }

        FillEmptyNodes(assigned, labels, classCount);
        var result = new int[nodes][];
        for (var k = 0; k < nodes; k++)
        {
            result[k] = [.. assigned[k]];
            Array.Sort(result[k]);
        }

        return new DataPartition(result, labels, classCount, options, favoured);
    }

    private static List<int>[] Iid(int count, int nodes, Xoshiro256StarStar random)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        random.Shuffle(order.AsSpan());
        var assigned = new List<int>[nodes];
        var start = 0;
        for (var k = 0; k < nodes; k++)
        {
            var size = (count / nodes) + (k < count % nodes ? 1 : 0);
            assigned[k] = [.. order.AsSpan(start, size)];
            start += size;
        }

        return assigned;
    }

    /// <summary>
    /// For each class in ascending order: shuffles its indices, asks <paramref name="bounds"/> where each node's run
    /// starts (node 0 at 0, non-decreasing, the last run ends at the class's count) and deals the runs.
    /// </summary>
    private static List<int>[] ByClass(ReadOnlySpan<int> labels, int classCount, int nodes, Xoshiro256StarStar random, Action<int, int, int[]> bounds)
    {
        var byClass = new List<int>[classCount];
        for (var c = 0; c < classCount; c++)
        {
            byClass[c] = [];
        }

        for (var i = 0; i < labels.Length; i++)
        {
            byClass[labels[i]].Add(i);
        }

        var assigned = new List<int>[nodes];
        for (var k = 0; k < nodes; k++)
        {
            assigned[k] = [];
        }

        var starts = new int[nodes];
        for (var c = 0; c < classCount; c++)
        {
            var members = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(byClass[c]);
            random.Shuffle(members);
            bounds(c, members.Length, starts);
            for (var k = 0; k < nodes; k++)
            {
                var end = k + 1 < nodes ? starts[k + 1] : members.Length;
                assigned[k].AddRange(members[starts[k]..end]);
            }
        }

        return assigned;
    }

    private static int[][] ChooseFavoured(int classCount, int nodes, Xoshiro256StarStar random)
    {
        var counts = new int[nodes];
        for (var k = 0; k < nodes; k++)
        {
            counts[k] = 3 + random.NextInt(2);
        }

        for (var k = 0; k < nodes && counts.Sum() < classCount; k++)
        {
            counts[k] = 4;
        }

        var favouredBy = new int[classCount];
        var favoured = new int[nodes][];
        var order = new int[classCount];
        for (var k = 0; k < nodes; k++)
        {
            for (var c = 0; c < classCount; c++)
            {
                order[c] = c;
            }

            random.Shuffle(order.AsSpan());
            var chosen = order.OrderBy(c => favouredBy[c]).Take(Math.Max(1, Math.Min(counts[k], classCount - 1))).ToArray();
            foreach (var c in chosen)
            {
                favouredBy[c]++;
            }

            Array.Sort(chosen);
            favoured[k] = chosen;
        }

        return favoured;
    }

    private static void FillEmptyNodes(List<int>[] assigned, ReadOnlySpan<int> labels, int classCount)
    {
        var classCounts = new int[classCount];
        for (var empty = 0; empty < assigned.Length; empty++)
        {
            if (assigned[empty].Count > 0)
            {
                continue;
            }

            var donor = 0;
            for (var k = 1; k < assigned.Length; k++)
            {
                if (assigned[k].Count > assigned[donor].Count)
                {
                    donor = k;
                }
            }

            Array.Clear(classCounts);
            foreach (var i in assigned[donor])
            {
                classCounts[labels[i]]++;
            }

            var common = Array.IndexOf(classCounts, classCounts.Max());
            var list = assigned[donor];
            var at = list.Count - 1;
            while (labels[list[at]] != common)
            {
                at--;
            }

            assigned[empty].Add(list[at]);
            list.RemoveAt(at);
        }
    }
}
