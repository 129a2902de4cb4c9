using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SwarmLearning.Merging.Kernels;

namespace SwarmLearning.Training.Kernels;

/// <summary>
/// Single-precision matrix multiply, C = A·B or C += A·B, for any mix of transposed operands, on every core.
/// </summary>
/// <remarks>
/// The structure is the one of BLIS and GotoBLAS. A block of B (KC × NC) is packed into slivers NR columns wide, a
/// block of A (MC × KC) into slivers MR rows tall, both in the order the micro-kernel reads them, so the kernel
/// walks memory sequentially whatever the operands' layout; that is also why transposed operands cost nothing
/// extra. The micro-kernel keeps an MR × NR tile of C in 2 × MR vector registers and, per step along k, loads two
/// vectors of B, broadcasts MR values of A and issues 2 × MR multiply-adds. KC is chosen so that one B sliver
/// (KC × NR floats, 16 KiB at 512 bits) stays in L1 while the A block streams from L2.
/// <para>
/// Work is split across cores by columns of C (or rows, when C is taller than wide), never along k: each element of
/// C is summed by one thread, in the same order whatever the thread count, so results are deterministic.
/// </para>
/// </remarks>
internal static class Gemm
{
    /// <summary>Rows of the register tile.</summary>
    internal const int MR = 6;

    private const int MC = 120;

    // Below this many multiply-adds the cost of waking a second core exceeds the work.
    private const long ParallelThreshold = 1 << 17;

    [ThreadStatic]
    private static float[]? _packA;

    [ThreadStatic]
    private static float[]? _packB;

    /// <summary>The vector width the kernel runs at, chosen from the hardware once.</summary>
    internal static KernelWidth Width { get; } = KernelWidths.Best;

    /// <summary>C = A·B (or C += A·B with <paramref name="accumulate"/>). C must not be a transposed view.</summary>
    public static void Multiply(Matrix a, Matrix b, Matrix c, bool accumulate = false)
    {
        if (a.Cols != b.Rows || a.Rows != c.Rows || b.Cols != c.Cols)
        {
            throw new ArgumentException($"Cannot multiply {a.Rows}×{a.Cols} by {b.Rows}×{b.Cols} into {c.Rows}×{c.Cols}.", nameof(c));
        }

        if (c.Transposed)
        {
            throw new ArgumentException("The product must be a row-major view.", nameof(c));
        }

        switch (Width)
        {
            case KernelWidth.V512:
                Run<Lanes512, Vector512<float>>(a, b, c, accumulate);
                break;
            case KernelWidth.V256:
                Run<Lanes256, Vector256<float>>(a, b, c, accumulate);
                break;
            case KernelWidth.V128:
                Run<Lanes128, Vector128<float>>(a, b, c, accumulate);
                break;
            default:
                Run<ScalarLanes, float>(a, b, c, accumulate);
                break;
        }
    }

    private static void Run<TLanes, TVec>(Matrix a, Matrix b, Matrix c, bool accumulate)
        where TLanes : struct, ILanes<TVec>
        where TVec : unmanaged
    {
        int m = c.Rows, n = c.Cols, k = a.Cols;
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                for (var r = 0; r < m; r++)
                {
                    c.Data.AsSpan(c.Offset + (r * c.Stride), n).Clear();
                }
            }

            return;
        }

        var nr = 2 * TLanes.Count;
        var threads = (long)m * n * k < ParallelThreshold ? 1 : Parallelism.MaxThreads;
        var byColumns = n >= m;
        var tiles = byColumns ? (n + nr - 1) / nr : (m + MR - 1) / MR;
        threads = Math.Min(threads, tiles);
        if (threads == 1)
        {
            Block<TLanes, TVec>(a, b, c, accumulate, 0, m, 0, n);
            return;
        }

        var tilesPerThread = (tiles + threads - 1) / threads;
        Parallelism.For(0, threads, t =>
        {
            if (byColumns)
            {
                var start = t * tilesPerThread * nr;
                var end = Math.Min(n, start + (tilesPerThread * nr));
                if (start < end)
                {
                    Block<TLanes, TVec>(a, b, c, accumulate, 0, m, start, end);
                }
            }
            else
            {
                var start = t * tilesPerThread * MR;
                var end = Math.Min(m, start + (tilesPerThread * MR));
                if (start < end)
                {
                    Block<TLanes, TVec>(a, b, c, accumulate, start, end, 0, n);
                }
            }
        });
    }

    /// <summary>The sequential BLIS loop nest over rows [rowStart, rowEnd) and columns [colStart, colEnd) of C.</summary>
    private static void Block<TLanes, TVec>(Matrix a, Matrix b, Matrix c, bool accumulate, int rowStart, int rowEnd, int colStart, int colEnd)
        where TLanes : struct, ILanes<TVec>
        where TVec : unmanaged
    {
        var nr = 2 * TLanes.Count;
        var kcMax = Math.Min(256, 4096 / nr);
        var ncMax = 2048 / nr * nr;
        var k = a.Cols;
        var packA = _packA ??= new float[MC * kcMax];
        var packB = _packB ??= new float[kcMax * ncMax];
        Debug.Assert(packA.Length == MC * kcMax && packB.Length == kcMax * ncMax, "pack buffers hold the largest blocks");

        for (var jc = colStart; jc < colEnd; jc += ncMax)
        {
            var nc = Math.Min(ncMax, colEnd - jc);
            for (var pc = 0; pc < k; pc += kcMax)
            {
                var kc = Math.Min(kcMax, k - pc);
                PackB(b, pc, kc, jc, nc, nr, packB);
                var add = accumulate || pc > 0;
                for (var ic = rowStart; ic < rowEnd; ic += MC)
                {
                    var mc = Math.Min(MC, rowEnd - ic);
                    PackA(a, ic, mc, pc, kc, packA);
                    for (var jr = 0; jr < nc; jr += nr)
                    {
                        var cols = Math.Min(nr, nc - jr);
                        ref var bSliver = ref packB[jr / nr * kc * nr];
                        for (var ir = 0; ir < mc; ir += MR)
                        {
                            var rows = Math.Min(MR, mc - ir);
                            MicroKernel<TLanes, TVec>(
                                kc, ref packA[ir / MR * kc * MR], ref bSliver, c, c.Offset + ((ic + ir) * c.Stride) + jc + jr, rows, cols, add);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc] into slivers of MR rows: sliver s holds, per k, MR consecutive values.</summary>
    private static void PackA(Matrix a, int ic, int mc, int pc, int kc, float[] pack)
    {
        for (var s = 0; s * MR < mc; s++)
        {
            var r0 = s * MR;
            var rows = Math.Min(MR, mc - r0);
            var dst = pack.AsSpan(s * kc * MR, kc * MR);
            if (rows < MR)
            {
                dst.Clear();
            }

            if (a.Transposed)
            {
                // Stored k-major: the MR values for one k are adjacent in memory.
                for (var p = 0; p < kc; p++)
                {
                    a.Data.AsSpan(a.Offset + ((pc + p) * a.Stride) + ic + r0, rows).CopyTo(dst.Slice(p * MR, rows));
                }
            }
            else if (rows == MR)
            {
                // Six rows read side by side, so the writes run sequentially through the sliver.
                var stride = (nuint)a.Stride;
                ref var src = ref a.Data[a.Offset + ((ic + r0) * a.Stride) + pc];
                ref var d = ref dst[0];
                for (nuint p = 0; p < (nuint)kc; p++)
                {
                    var at = p * MR;
                    Unsafe.Add(ref d, at) = Unsafe.Add(ref src, p);
                    Unsafe.Add(ref d, at + 1) = Unsafe.Add(ref src, stride + p);
                    Unsafe.Add(ref d, at + 2) = Unsafe.Add(ref src, (2 * stride) + p);
                    Unsafe.Add(ref d, at + 3) = Unsafe.Add(ref src, (3 * stride) + p);
                    Unsafe.Add(ref d, at + 4) = Unsafe.Add(ref src, (4 * stride) + p);
                    Unsafe.Add(ref d, at + 5) = Unsafe.Add(ref src, (5 * stride) + p);
                }
            }

            else
            {
                for (var r = 0; r < rows; r++)
                {
                    var src = a.Data.AsSpan(a.Offset + ((ic + r0 + r) * a.Stride) + pc, kc);
                    for (var p = 0; p < kc; p++)
                    {
                        dst[(p * MR) + r] = src[p];
                    }
                }
            }
        }
    }

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into slivers of NR columns: sliver s holds, per k, NR consecutive values.</summary>
    private static void PackB(Matrix b, int pc, int kc, int jc, int nc, int nr, float[] pack)
    {
        for (var s = 0; s * nr < nc; s++)
        {
            var c0 = s * nr;
            var cols = Math.Min(nr, nc - c0);
            var dst = pack.AsSpan(s * kc * nr, kc * nr);
            if (cols < nr)
            {
                dst.Clear();
            }

            if (b.Transposed)
            {
                // Four source rows (columns of op(B)) at a time: four sequential read streams, and each step
                // writes four adjacent values of the sliver.
                var c = 0;
                var stride = (nuint)b.Stride;
                for (; c + 4 <= cols; c += 4)
                {
                    ref var src = ref b.Data[b.Offset + ((jc + c0 + c) * b.Stride) + pc];
                    ref var d = ref dst[c];
                    for (nuint p = 0; p < (nuint)kc; p++)
                    {
                        var at = p * (nuint)nr;
                        Unsafe.Add(ref d, at) = Unsafe.Add(ref src, p);
                        Unsafe.Add(ref d, at + 1) = Unsafe.Add(ref src, stride + p);
                        Unsafe.Add(ref d, at + 2) = Unsafe.Add(ref src, (2 * stride) + p);
                        Unsafe.Add(ref d, at + 3) = Unsafe.Add(ref src, (3 * stride) + p);
                    }
                }

                for (; c < cols; c++)
                {
                    var src = b.Data.AsSpan(b.Offset + ((jc + c0 + c) * b.Stride) + pc, kc);
                    for (var p = 0; p < kc; p++)
                    {
                        dst[(p * nr) + c] = src[p];
                    }
                }
            }
            else
            {
                for (var p = 0; p < kc; p++)
                {
                    b.Data.AsSpan(b.Offset + ((pc + p) * b.Stride) + jc + c0, cols).CopyTo(dst.Slice(p * nr, cols));
                }
            }
        }
    }

    /// <summary>
    /// C[0..rows, 0..cols] (+)= the MR × NR product of one A sliver and one B sliver over kc steps. Full tiles are
    /// stored straight from the registers; edge tiles go through a small buffer so no write lands outside C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroKernel<TLanes, TVec>(int kc, ref float a, ref float b, Matrix c, int cIndex, int rows, int cols, bool accumulate)
        where TLanes : struct, ILanes<TVec>
        where TVec : unmanaged
    {
        var w = (nuint)TLanes.Count;
        var nr = 2 * w;
        TVec c00 = TLanes.Zero, c01 = TLanes.Zero, c10 = TLanes.Zero, c11 = TLanes.Zero, c20 = TLanes.Zero, c21 = TLanes.Zero;
        TVec c30 = TLanes.Zero, c31 = TLanes.Zero, c40 = TLanes.Zero, c41 = TLanes.Zero, c50 = TLanes.Zero, c51 = TLanes.Zero;
        nuint ai = 0, bi = 0;
        for (var p = 0; p < kc; p++, ai += MR, bi += nr)
        {
            var b0 = TLanes.Load(in b, bi);
            var b1 = TLanes.Load(in b, bi + w);
            var x = TLanes.Broadcast(Unsafe.Add(ref a, ai));
            c00 = TLanes.FastMultiplyAdd(x, b0, c00);
            c01 = TLanes.FastMultiplyAdd(x, b1, c01);
            x = TLanes.Broadcast(Unsafe.Add(ref a, ai + 1));
            c10 = TLanes.FastMultiplyAdd(x, b0, c10);
            c11 = TLanes.FastMultiplyAdd(x, b1, c11);
            x = TLanes.Broadcast(Unsafe.Add(ref a, ai + 2));
            c20 = TLanes.FastMultiplyAdd(x, b0, c20);
            c21 = TLanes.FastMultiplyAdd(x, b1, c21);
            x = TLanes.Broadcast(Unsafe.Add(ref a, ai + 3));
            c30 = TLanes.FastMultiplyAdd(x, b0, c30);
            c31 = TLanes.FastMultiplyAdd(x, b1, c31);
            x = TLanes.Broadcast(Unsafe.Add(ref a, ai + 4));
            c40 = TLanes.FastMultiplyAdd(x, b0, c40);
            c41 = TLanes.FastMultiplyAdd(x, b1, c41);
            x = TLanes.Broadcast(Unsafe.Add(ref a, ai + 5));
            c50 = TLanes.FastMultiplyAdd(x, b0, c50);
            c51 = TLanes.FastMultiplyAdd(x, b1, c51);
        }

        if (rows == MR && cols == (int)nr)
        {
            ref var row = ref c.Data[cIndex];
            var stride = (nuint)c.Stride;
            StoreRow<TLanes, TVec>(c00, c01, ref row, 0, w, accumulate);
            StoreRow<TLanes, TVec>(c10, c11, ref row, stride, w, accumulate);
            StoreRow<TLanes, TVec>(c20, c21, ref row, 2 * stride, w, accumulate);
            StoreRow<TLanes, TVec>(c30, c31, ref row, 3 * stride, w, accumulate);
            StoreRow<TLanes, TVec>(c40, c41, ref row, 4 * stride, w, accumulate);
            StoreRow<TLanes, TVec>(c50, c51, ref row, 5 * stride, w, accumulate);
            return;
        }

        Span<float> tile = stackalloc float[MR * 2 * Vector512<float>.Count];
        ref var t = ref MemoryMarshal.GetReference(tile);
        TLanes.Store(c00, ref t, 0);
        TLanes.Store(c01, ref t, w);
        TLanes.Store(c10, ref t, nr);
        TLanes.Store(c11, ref t, nr + w);
        TLanes.Store(c20, ref t, 2 * nr);
        TLanes.Store(c21, ref t, (2 * nr) + w);
        TLanes.Store(c30, ref t, 3 * nr);
        TLanes.Store(c31, ref t, (3 * nr) + w);
        TLanes.Store(c40, ref t, 4 * nr);
        TLanes.Store(c41, ref t, (4 * nr) + w);
        TLanes.Store(c50, ref t, 5 * nr);
        TLanes.Store(c51, ref t, (5 * nr) + w);
        for (var r = 0; r < rows; r++)
        {
            var src = tile.Slice(r * (int)nr, cols);
            var dst = c.Data.AsSpan(cIndex + (r * c.Stride), cols);
            if (accumulate)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
            }
            else
            {
                src.CopyTo(dst);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TLanes, TVec>(TVec left, TVec right, ref float row, nuint offset, nuint w, bool accumulate)
        where TLanes : struct, ILanes<TVec>
        where TVec : unmanaged
    {
        if (accumulate)
        {
            left = TLanes.Add(TLanes.Load(in row, offset), left);
            right = TLanes.Add(TLanes.Load(in row, offset + w), right);
        }

        TLanes.Store(left, ref row, offset);
        TLanes.Store(right, ref row, offset + w);
    }
}
