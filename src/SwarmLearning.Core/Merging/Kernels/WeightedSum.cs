using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SwarmLearning.Merging.Kernels;

/// <summary>
/// Convex combinations of models, coordinate by coordinate: out = Σ cᵢ xᵢ with Σ cᵢ = 1. Used by <c>mean</c>
/// (cᵢ = wᵢ / Σw), by <c>geomedian</c> (the Weiszfeld coefficients) and by <c>krum</c> (the selected models).
/// It is evaluated in centred form, out = x_r + Σ_{i≠r} cᵢ (xᵢ − x_r), with r the input of largest coefficient:
/// merging identical models then returns them bit for bit, and the differences keep precision when models are
/// close, as they are in a swarm. One pass per input over a block that stays in cache; inputs stream from memory.
/// </summary>
internal static class WeightedSum
{
    /// <summary>Combines rows (equal lengths) with coefficients summing to one; zero coefficients are skipped.</summary>
    public static void Combine(ReadOnlySpan<ReadOnlyMemory<float>> rows, ReadOnlySpan<float> coefficients, int reference, Span<float> output, KernelWidth width)
    {
        var x0 = rows[reference].Span;
        x0[..output.Length].CopyTo(output);
        for (var i = 0; i < rows.Length; i++)
        {
            if (i == reference || coefficients[i] == 0f)
            {
                continue;
            }

            var xi = rows[i].Span;
            var c = coefficients[i];
            var done = KernelWidths.Resolve(width) switch
            {
                KernelWidth.V512 => AddScaledDifference<Lanes512, Vector512<float>>(xi, x0, c, output, 0),
                KernelWidth.V256 => AddScaledDifference<Lanes256, Vector256<float>>(xi, x0, c, output, 0),
                KernelWidth.V128 => AddScaledDifference<Lanes128, Vector128<float>>(xi, x0, c, output, 0),
                _ => 0,
            };
            AddScaledDifference<ScalarLanes, float>(xi, x0, c, output, done);
        }
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
    private static int AddScaledDifference<TLanes, TVec>(ReadOnlySpan<float> x, ReadOnlySpan<float> reference, float c, Span<float> output, int start)
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
}
