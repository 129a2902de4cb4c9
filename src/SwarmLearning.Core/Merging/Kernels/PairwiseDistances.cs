using System.Numerics.Tensors;

namespace SwarmLearning.Merging.Kernels;

/// <summary>
/// Accumulates squared Euclidean distances between every pair of models, block by block: the only pass over the
/// data that <c>krum</c> and <c>geomedian</c> need besides the final combination. Each block's distance is a
/// vectorised float reduction (<see cref="TensorPrimitives.Distance(ReadOnlySpan{float}, ReadOnlySpan{float})"/>);
/// blocks are summed in double so long models keep their precision. Sums of squared differences have no
/// cancellation, unlike distances recovered from dot products.
/// </summary>
internal static class PairwiseDistances
{
    /// <summary>Adds the block's squared distances into the upper triangle of the row-major n×n matrix.</summary>
    public static void Accumulate(ReadOnlySpan<ReadOnlyMemory<float>> rows, Span<double> squared)
    {
        var n = rows.Length;
        for (var i = 0; i < n; i++)
        {
            var a = rows[i].Span;
            for (var j = i + 1; j < n; j++)
            {
                var b = rows[j].Span;
                double d = TensorPrimitives.Distance(a, b);
                var d2 = d * d;
                if (!double.IsFinite(d2))
                {
                    // Values so large that their squares overflow f32: redo this block in double.
                    d2 = 0;
                    for (var k = 0; k < a.Length; k++)
                    {
                        var diff = (double)a[k] - b[k];
                        d2 += diff * diff;
                    }
                }

                squared[(i * n) + j] += d2;
            }
        }
    }

    /// <summary>Mirrors the upper triangle into the lower one and zeroes the diagonal.</summary>
    public static void Symmetrize(Span<double> squared, int n)
    {
        for (var i = 0; i < n; i++)
        {
            squared[(i * n) + i] = 0;
            for (var j = i + 1; j < n; j++)
            {
                squared[(j * n) + i] = squared[(i * n) + j];
            }
        }
    }
}
