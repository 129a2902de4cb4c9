using System.Collections.Concurrent;

namespace SwarmLearning.Merging.Kernels;

/// <summary>
/// A data-independent sorting network for n inputs: Batcher's odd–even merge sort built for the next power of two,
/// keeping only the comparators whose both ends are below n (the missing inputs act as +∞ at the end, which no
/// comparator would ever move). Being data-independent, one network sorts every SIMD lane at once: lane j of
/// vector i holds coordinate j of model i.
/// </summary>
internal sealed class SortingNetwork
{
    private static readonly ConcurrentDictionary<int, SortingNetwork> Cache = new();

    private SortingNetwork(int size, int[] pairs)
    {
        Size = size;
        Pairs = pairs;
    }

    /// <summary>Number of inputs sorted.</summary>
    public int Size { get; }

    /// <summary>Comparators as consecutive (low, high) index pairs; after each, element low ≤ element high.</summary>
    public int[] Pairs { get; }

    /// <summary>Number of compare-exchange steps.</summary>
    public int ComparatorCount => Pairs.Length / 2;

    /// <summary>The network for <paramref name="size"/> inputs (cached).</summary>
    public static SortingNetwork For(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return Cache.GetOrAdd(size, static n => new SortingNetwork(n, Build(n)));
    }

    private static int[] Build(int n)
    {
        var pairs = new List<int>();
        var p2 = 1;
        while (p2 < n)
        {
            p2 <<= 1;
        }

        for (var p = 1; p < p2; p <<= 1)
        {
            for (var k = p; k >= 1; k >>= 1)
            {
                for (var j = k % p; j + k < p2; j += 2 * k)
                {
                    for (var i = 0; i < Math.Min(k, p2 - j - k); i++)
                    {
                        var a = i + j;
                        var b = i + j + k;
                        if (a / (2 * p) == b / (2 * p) && b < n)
                        {
                            pairs.Add(a);
                            pairs.Add(b);
                        }
                    }
                }
            }
        }

        return [.. pairs];
    }
}
