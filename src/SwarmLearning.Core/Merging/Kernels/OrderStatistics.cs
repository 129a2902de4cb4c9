using System.Runtime.InteropServices;

namespace SwarmLearning.Merging.Kernels;

/// <summary>
/// Per-coordinate order statistics over n models: the weighted median and the trimmed mean.
/// Input is a block matrix: row i (stride <c>stride</c>) holds a run of coordinates of model i. Each vector step
/// loads one vector per model, sorts the n vectors lane-wise with a <see cref="SortingNetwork"/>, carrying each
/// value's weight along when weights differ, then reads the statistic off the sorted lanes.
/// </summary>
internal static class OrderStatistics
{
    /// <summary>
    /// Weighted median per coordinate: sort, accumulate weights, take the first value whose cumulative weight reaches
    /// half the total; if it reaches exactly half, average that value and the next. Weights must be positive.
    /// </summary>
    public static void Median(ReadOnlySpan<float> matrix, int stride, int n, ReadOnlySpan<float> weights, Span<float> output, Span<float> scratch, KernelWidth width)
    {
        var network = SortingNetwork.For(n);
        var equal = AllEqual(weights[..n]);
        var done = KernelWidths.Resolve(width) switch
        {
            KernelWidth.V512 => Median<Lanes512, System.Runtime.Intrinsics.Vector512<float>>(matrix, stride, n, weights, equal, network, output, scratch, 0),
            KernelWidth.V256 => Median<Lanes256, System.Runtime.Intrinsics.Vector256<float>>(matrix, stride, n, weights, equal, network, output, scratch, 0),
            KernelWidth.V128 => Median<Lanes128, System.Runtime.Intrinsics.Vector128<float>>(matrix, stride, n, weights, equal, network, output, scratch, 0),
            _ => 0,
        };
        Median<ScalarLanes, float>(matrix, stride, n, weights, equal, network, output, scratch, done);
    }

    /// <summary>
    /// Trimmed mean per coordinate: sort, drop the <paramref name="trim"/> smallest and largest values, and take the
    /// weighted mean of the rest.
    /// </summary>
    public static void TrimmedMean(ReadOnlySpan<float> matrix, int stride, int n, ReadOnlySpan<float> weights, int trim, Span<float> output, Span<float> scratch, KernelWidth width)
    {
        if (n - (2 * trim) < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(trim), $"trimming {trim} from each end of {n} values leaves none");
        }

        var network = SortingNetwork.For(n);
        var equal = AllEqual(weights[..n]);
        var done = KernelWidths.Resolve(width) switch
        {
            KernelWidth.V512 => TrimmedMean<Lanes512, System.Runtime.Intrinsics.Vector512<float>>(matrix, stride, n, weights, equal, trim, network, output, scratch, 0),
            KernelWidth.V256 => TrimmedMean<Lanes256, System.Runtime.Intrinsics.Vector256<float>>(matrix, stride, n, weights, equal, trim, network, output, scratch, 0),
            KernelWidth.V128 => TrimmedMean<Lanes128, System.Runtime.Intrinsics.Vector128<float>>(matrix, stride, n, weights, equal, trim, network, output, scratch, 0),
            _ => 0,
        };
        TrimmedMean<ScalarLanes, float>(matrix, stride, n, weights, equal, trim, network, output, scratch, done);
    }

    /// <summary>Floats of scratch space the kernels need for n models.</summary>
    public static int ScratchLength(int n) => 2 * n * 16;

    private static int Median<TLanes, TVec>(ReadOnlySpan<float> matrix, int stride, int n, ReadOnlySpan<float> weights, bool equalWeights, SortingNetwork network, Span<float> output, Span<float> scratch, int start)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        var values = MemoryMarshal.Cast<float, TVec>(scratch)[..n];
        var lanes = MemoryMarshal.Cast<float, TVec>(scratch)[n..(2 * n)];
        var total = 0f;
        for (var i = 0; i < n; i++)
        {
            total += weights[i];
        }

        var half = TLanes.Broadcast(total * 0.5f);
        var point5 = TLanes.Broadcast(0.5f);
        var p = start;
        for (; p <= output.Length - TLanes.Count; p += TLanes.Count)
        {
            Gather<TLanes, TVec>(matrix, stride, p, values);
            TVec result;
            if (equalWeights)
            {
                SortValues<TLanes, TVec>(values, network.Pairs);

                // Equal weights: the rule reduces to the middle value (odd n) or the mean of the two middle ones.
                result = (n & 1) == 1
                    ? values[n / 2]
                    : Midpoint<TLanes, TVec>(values[(n / 2) - 1], values[n / 2], point5);
            }
            else
            {
                for (var i = 0; i < n; i++)
                {
                    lanes[i] = TLanes.Broadcast(weights[i]);
                }

                SortValuesAndWeights<TLanes, TVec>(values, lanes, network.Pairs);
                result = WeightedMedianOfSorted<TLanes, TVec>(values, lanes, half, point5);
            }

            TLanes.Store(result, ref MemoryMarshal.GetReference(output), (nuint)p);
        }

        return p;
    }

    /// <summary>
    /// Walks the sorted values lane-wise keeping a cumulative weight. A lane is <c>done</c> once its answer is fixed;
    /// <c>pending</c> when the cumulative weight hit exactly half: its answer is the mean of that value and the next.
    /// </summary>
    private static TVec WeightedMedianOfSorted<TLanes, TVec>(Span<TVec> values, Span<TVec> weights, TVec half, TVec point5)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        var result = TLanes.Zero;
        var cumulative = TLanes.Zero;
        var done = TLanes.Zero;
        var pending = TLanes.Zero;
        for (var k = 0; k < values.Length; k++)
        {
            var v = values[k];
            var resolve = TLanes.AndNot(pending, done);
            result = TLanes.Select(resolve, Midpoint<TLanes, TVec>(result, v, point5), result);
            done = TLanes.Or(done, resolve);

            cumulative = TLanes.Add(cumulative, weights[k]);
            var open = TLanes.AndNot(TLanes.AndNot(TLanes.AllBitsSet, done), pending);
            var exact = TLanes.And(TLanes.Equal(cumulative, half), open);
            var over = TLanes.And(TLanes.GreaterThan(cumulative, half), open);
            result = TLanes.Select(TLanes.Or(exact, over), v, result);
            done = TLanes.Or(done, over);
            pending = TLanes.Or(pending, exact);
        }

        return result;
    }

    /// <summary>
    /// (a + b) / 2 as a/2 + b/2, which cannot overflow. Equal values are returned as they are: halving a subnormal
    /// rounds (the smallest one would become 0), and identical inputs must come back bit for bit.
    /// </summary>
    private static TVec Midpoint<TLanes, TVec>(TVec a, TVec b, TVec point5)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged =>
        TLanes.Select(TLanes.Equal(a, b), a, TLanes.MultiplyAdd(a, point5, TLanes.Multiply(b, point5)));

    private static int TrimmedMean<TLanes, TVec>(ReadOnlySpan<float> matrix, int stride, int n, ReadOnlySpan<float> weights, bool equalWeights, int trim, SortingNetwork network, Span<float> output, Span<float> scratch, int start)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        var values = MemoryMarshal.Cast<float, TVec>(scratch)[..n];
        var lanes = MemoryMarshal.Cast<float, TVec>(scratch)[n..(2 * n)];
        var kept = n - (2 * trim);
        var inverseKept = TLanes.Broadcast(1f / kept);
        var p = start;
        for (; p <= output.Length - TLanes.Count; p += TLanes.Count)
        {
            Gather<TLanes, TVec>(matrix, stride, p, values);
            TVec result;
            if (equalWeights)
            {
                SortValues<TLanes, TVec>(values, network.Pairs);

                // Centre on the smallest kept value so identical inputs come back bit for bit. The differences are
                // taken reference − value and subtracted at the end: equal values then leave a −0 reference as −0
                // (adding +0 to it would give +0); every other result has the same bits as the forward form.
                var reference = values[trim];
                var sum = TLanes.Zero;
                for (var k = trim + 1; k < n - trim; k++)
                {
                    sum = TLanes.Add(sum, TLanes.Subtract(reference, values[k]));
                }

                result = TLanes.Subtract(reference, TLanes.Multiply(sum, inverseKept));
            }
            else
            {
                for (var i = 0; i < n; i++)
                {
                    lanes[i] = TLanes.Broadcast(weights[i]);
                }

                SortValuesAndWeights<TLanes, TVec>(values, lanes, network.Pairs);
                var reference = values[trim];
                var sum = TLanes.Zero;
                var weightSum = lanes[trim];
                for (var k = trim + 1; k < n - trim; k++)
                {
                    sum = TLanes.MultiplyAdd(lanes[k], TLanes.Subtract(reference, values[k]), sum);
                    weightSum = TLanes.Add(weightSum, lanes[k]);
                }

                result = TLanes.Subtract(reference, TLanes.Divide(sum, weightSum));
            }

            TLanes.Store(result, ref MemoryMarshal.GetReference(output), (nuint)p);
        }

        return p;
    }

    private static void Gather<TLanes, TVec>(ReadOnlySpan<float> matrix, int stride, int position, Span<TVec> values)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        ref readonly var origin = ref MemoryMarshal.GetReference(matrix);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = TLanes.Load(in origin, (nuint)((i * stride) + position));
        }
    }

    private static void SortValues<TLanes, TVec>(Span<TVec> values, int[] pairs)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        for (var c = 0; c < pairs.Length; c += 2)
        {
            ref var a = ref values[pairs[c]];
            ref var b = ref values[pairs[c + 1]];
            var low = TLanes.Min(a, b);
            b = TLanes.Max(a, b);
            a = low;
        }
    }

    private static void SortValuesAndWeights<TLanes, TVec>(Span<TVec> values, Span<TVec> weights, int[] pairs)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        for (var c = 0; c < pairs.Length; c += 2)
        {
            var i = pairs[c];
            var j = pairs[c + 1];
            var (a, b) = (values[i], values[j]);
            var (wa, wb) = (weights[i], weights[j]);
            var swap = TLanes.GreaterThan(a, b);
            values[i] = TLanes.Select(swap, b, a);
            values[j] = TLanes.Select(swap, a, b);
            weights[i] = TLanes.Select(swap, wb, wa);
            weights[j] = TLanes.Select(swap, wa, wb);
        }
    }

    private static bool AllEqual(ReadOnlySpan<float> weights)
    {
        foreach (var w in weights)
        {
            if (w != weights[0])
            {
                return false;
            }
        }

        return true;
    }
}
