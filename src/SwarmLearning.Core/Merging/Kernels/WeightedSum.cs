using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging.Kernels;

/// <summary>
/// Convex combinations of models, coordinate by coordinate: out = Σ cᵢ xᵢ with Σ cᵢ = 1. Used by <c>mean</c>
/// (cᵢ = wᵢ / Σw), by <c>geomedian</c> (the Weiszfeld coefficients) and by <c>krum</c> (the selected models).
/// It is evaluated in centred form, out = x_r − Σ_{i≠r} cᵢ (x_r − xᵢ), with r the input of largest coefficient:
/// merging identical models then returns them bit for bit, and the differences keep precision when models are
/// close, as they are in a swarm.
///
/// Memory traffic is what limits it, so the output is built tile by tile: a tile of the output and of x_r stays in
/// the L1 cache while up to four inputs stream past it in one pass (out −= c₁(x_r − x₁) + … + c₄(x_r − x₄)). Each
/// input is read from memory once and the output written once, whatever n.
/// </summary>
internal static class WeightedSum
{
    /// <summary>Elements per tile: a tile of the output and of the reference take 16 KiB, half an L1 data cache.</summary>
    private const int Tile = 2048;

    /// <summary>
    /// Combines rows (equal lengths) with coefficients summing to one; zero coefficients are skipped. Returns false
    /// if any output value is NaN or infinite, checked tile by tile while the tile is still in L1.
    /// </summary>
    public static bool Combine(ReadOnlySpan<ReadOnlyMemory<float>> rows, ReadOnlySpan<float> coefficients, int reference, Span<float> output, KernelWidth width)
    {
        var finite = true;
        Span<int> active = rows.Length <= 512 ? stackalloc int[rows.Length] : new int[rows.Length];
        var count = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            if (i != reference && coefficients[i] != 0f)
            {
                active[count++] = i;
            }
        }

        active = active[..count];
        var resolved = KernelWidths.Resolve(width);
        var x0 = rows[reference].Span;
        for (var tile = 0; tile < output.Length; tile += Tile)
        {
            var length = Math.Min(Tile, output.Length - tile);
            var outTile = output.Slice(tile, length);
            var refTile = x0.Slice(tile, length);
            refTile.CopyTo(outTile);
            var k = 0;
            for (; k + 4 <= active.Length; k += 4)
            {
                var group = new Group(
                    rows[active[k]].Span.Slice(tile, length), coefficients[active[k]],
                    rows[active[k + 1]].Span.Slice(tile, length), coefficients[active[k + 1]],
                    rows[active[k + 2]].Span.Slice(tile, length), coefficients[active[k + 2]],
                    rows[active[k + 3]].Span.Slice(tile, length), coefficients[active[k + 3]]);
                var done = resolved switch
                {
                    KernelWidth.V512 => SubtractFour<Lanes512, Vector512<float>>(group, refTile, outTile, 0),
                    KernelWidth.V256 => SubtractFour<Lanes256, Vector256<float>>(group, refTile, outTile, 0),
                    KernelWidth.V128 => SubtractFour<Lanes128, Vector128<float>>(group, refTile, outTile, 0),
                    _ => 0,
                };
                SubtractFour<ScalarLanes, float>(group, refTile, outTile, done);
            }

            for (; k < active.Length; k++)
            {
                var xi = rows[active[k]].Span.Slice(tile, length);
                var c = coefficients[active[k]];
                var done = resolved switch
                {
                    KernelWidth.V512 => SubtractOne<Lanes512, Vector512<float>>(xi, c, refTile, outTile, 0),
                    KernelWidth.V256 => SubtractOne<Lanes256, Vector256<float>>(xi, c, refTile, outTile, 0),
                    KernelWidth.V128 => SubtractOne<Lanes128, Vector128<float>>(xi, c, refTile, outTile, 0),
                    _ => 0,
                };
                SubtractOne<ScalarLanes, float>(xi, c, refTile, outTile, done);
            }

            finite &= FloatConversions.AllFinite(outTile);
        }

        return finite;
    }

    /// <summary>
    /// One input of a group of four, on its own: sum = c · (reference − x) when <paramref name="start"/>, else
    /// sum = c · (reference − x) + sum. Applied to a group's four inputs in order and followed by
    /// <see cref="SubtractSum"/>, it gives exactly <see cref="Combine"/>'s bits for that group: the same operations,
    /// rounded the same way, element by element.
    /// </summary>
    public static void AccumulateGroup(ReadOnlySpan<float> x, float c, ReadOnlySpan<float> reference, Span<float> sum, bool start, KernelWidth width)
    {
        var done = KernelWidths.Resolve(width) switch
        {
            KernelWidth.V512 => Accumulate<Lanes512, Vector512<float>>(x, c, reference, sum, start, 0),
            KernelWidth.V256 => Accumulate<Lanes256, Vector256<float>>(x, c, reference, sum, start, 0),
            KernelWidth.V128 => Accumulate<Lanes128, Vector128<float>>(x, c, reference, sum, start, 0),
            _ => 0,
        };
        Accumulate<ScalarLanes, float>(x, c, reference, sum, start, done);
    }

    /// <summary>output −= sum: ends a group of four that <see cref="AccumulateGroup"/> summed.</summary>
    public static void SubtractSum(ReadOnlySpan<float> sum, Span<float> output, KernelWidth width)
    {
        var done = KernelWidths.Resolve(width) switch
        {
            KernelWidth.V512 => Subtract<Lanes512, Vector512<float>>(sum, output, 0),
            KernelWidth.V256 => Subtract<Lanes256, Vector256<float>>(sum, output, 0),
            KernelWidth.V128 => Subtract<Lanes128, Vector128<float>>(sum, output, 0),
            _ => 0,
        };
        Subtract<ScalarLanes, float>(sum, output, done);
    }

    /// <summary>output −= c · (reference − x): an input after the last full group of four, as <see cref="Combine"/> does it.</summary>
    public static void SubtractSingle(ReadOnlySpan<float> x, float c, ReadOnlySpan<float> reference, Span<float> output, KernelWidth width)
    {
        var done = KernelWidths.Resolve(width) switch
        {
            KernelWidth.V512 => SubtractOne<Lanes512, Vector512<float>>(x, c, reference, output, 0),
            KernelWidth.V256 => SubtractOne<Lanes256, Vector256<float>>(x, c, reference, output, 0),
            KernelWidth.V128 => SubtractOne<Lanes128, Vector128<float>>(x, c, reference, output, 0),
            _ => 0,
        };
        SubtractOne<ScalarLanes, float>(x, c, reference, output, done);
    }

    /// <summary>The index of the largest coefficient (the first one on ties).</summary>
    public static int ReferenceIndex(ReadOnlySpan<float> coefficients)
    {
        var best = 0;
        for (var i = 1; i < coefficients.Length; i++)
        {
            if (coefficients[i] > coefficients[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// output[j] −= c · (reference[j] − x[j]) from <paramref name="start"/> on, one vector at a time. Subtracting the
    /// reversed difference gives the same bits as adding c · (x[j] − reference[j]) except for zeros: when x[j] equals
    /// reference[j] the product is +0, and −0 − (+0) stays −0 where −0 + (+0) would turn it into +0.
    /// </summary>
    private static int SubtractOne<TLanes, TVec>(ReadOnlySpan<float> x, float c, ReadOnlySpan<float> reference, Span<float> output, int start)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        ref readonly var xs = ref MemoryMarshal.GetReference(x);
        ref readonly var rs = ref MemoryMarshal.GetReference(reference);
        ref var os = ref MemoryMarshal.GetReference(output);
        var scale = TLanes.Broadcast(c);
        var p = start;
        for (; p <= output.Length - TLanes.Count; p += TLanes.Count)
        {
            var offset = (nuint)p;
            var difference = TLanes.Subtract(TLanes.Load(in rs, offset), TLanes.Load(in xs, offset));
            TLanes.Store(TLanes.Subtract(TLanes.Load(in os, offset), TLanes.Multiply(difference, scale)), ref os, offset);
        }

        return p;
    }

    /// <summary>
    /// output[j] −= Σ_{k=1..4} c_k · (reference[j] − x_k[j]): four inputs per pass over the tile. The four products are
    /// summed in order before the one subtraction, so every width rounds alike; with identical inputs the sum is +0
    /// and the output keeps its bits, −0 included.
    /// </summary>
    private static int SubtractFour<TLanes, TVec>(in Group g, ReadOnlySpan<float> reference, Span<float> output, int start)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        ref readonly var a = ref MemoryMarshal.GetReference(g.A);
        ref readonly var b = ref MemoryMarshal.GetReference(g.B);
        ref readonly var c = ref MemoryMarshal.GetReference(g.C);
        ref readonly var d = ref MemoryMarshal.GetReference(g.D);
        ref readonly var rs = ref MemoryMarshal.GetReference(reference);
        ref var os = ref MemoryMarshal.GetReference(output);
        var (ca, cb, cc, cd) = (TLanes.Broadcast(g.Ca), TLanes.Broadcast(g.Cb), TLanes.Broadcast(g.Cc), TLanes.Broadcast(g.Cd));
        var p = start;
        for (; p <= output.Length - TLanes.Count; p += TLanes.Count)
        {
            var offset = (nuint)p;
            var r = TLanes.Load(in rs, offset);
            var sum = TLanes.Multiply(TLanes.Subtract(r, TLanes.Load(in a, offset)), ca);
            sum = TLanes.MultiplyAdd(TLanes.Subtract(r, TLanes.Load(in b, offset)), cb, sum);
            sum = TLanes.MultiplyAdd(TLanes.Subtract(r, TLanes.Load(in c, offset)), cc, sum);
            sum = TLanes.MultiplyAdd(TLanes.Subtract(r, TLanes.Load(in d, offset)), cd, sum);
            TLanes.Store(TLanes.Subtract(TLanes.Load(in os, offset), sum), ref os, offset);
        }

        return p;
    }

    private static int Accumulate<TLanes, TVec>(ReadOnlySpan<float> x, float c, ReadOnlySpan<float> reference, Span<float> sum, bool start, int from)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        ref readonly var xs = ref MemoryMarshal.GetReference(x);
        ref readonly var rs = ref MemoryMarshal.GetReference(reference);
        ref var ss = ref MemoryMarshal.GetReference(sum);
        var scale = TLanes.Broadcast(c);
        var p = from;
        if (start)
        {
            for (; p <= sum.Length - TLanes.Count; p += TLanes.Count)
            {
                var offset = (nuint)p;
                TLanes.Store(TLanes.Multiply(TLanes.Subtract(TLanes.Load(in rs, offset), TLanes.Load(in xs, offset)), scale), ref ss, offset);
            }
        }
        else
        {
            for (; p <= sum.Length - TLanes.Count; p += TLanes.Count)
            {
                var offset = (nuint)p;
                var difference = TLanes.Subtract(TLanes.Load(in rs, offset), TLanes.Load(in xs, offset));
                TLanes.Store(TLanes.MultiplyAdd(difference, scale, TLanes.Load(in ss, offset)), ref ss, offset);
            }
        }

        return p;
    }

    private static int Subtract<TLanes, TVec>(ReadOnlySpan<float> sum, Span<float> output, int from)
        where TLanes : ILanes<TVec>
        where TVec : unmanaged
    {
        ref readonly var ss = ref MemoryMarshal.GetReference(sum);
        ref var os = ref MemoryMarshal.GetReference(output);
        var p = from;
        for (; p <= output.Length - TLanes.Count; p += TLanes.Count)
        {
            var offset = (nuint)p;
            TLanes.Store(TLanes.Subtract(TLanes.Load(in os, offset), TLanes.Load(in ss, offset)), ref os, offset);
        }

        return p;
    }

    /// <summary>Four input tiles and their coefficients.</summary>
    private readonly ref struct Group(
        ReadOnlySpan<float> a, float ca, ReadOnlySpan<float> b, float cb, ReadOnlySpan<float> c, float cc, ReadOnlySpan<float> d, float cd)
    {
        public ReadOnlySpan<float> A { get; } = a;

        public ReadOnlySpan<float> B { get; } = b;

        public ReadOnlySpan<float> C { get; } = c;

        public ReadOnlySpan<float> D { get; } = d;

        public float Ca { get; } = ca;

        public float Cb { get; } = cb;

        public float Cc { get; } = cc;

        public float Cd { get; } = cd;
    }
}
