using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SwarmLearning.Hashing;

/// <summary>
/// BLAKE3's compression of sixteen whole chunks side by side, one chunk per 32-bit lane of AVX-512 registers, and of
/// the parents above them: the same arithmetic as <see cref="Blake3.CompressInPlace"/>, sixteen times per instruction.
/// Each block's message words are brought into lanes by a 16 × 16 transpose of the sixteen chunks' blocks.
/// </summary>
internal static class Blake3Lanes
{
    /// <summary>Chunks per call.</summary>
    public const int Lanes = 16;

    /// <summary>True where AVX-512 is available (the caller falls back to one chunk at a time).</summary>
    public static bool IsSupported => Avx512F.IsSupported && BitConverter.IsLittleEndian;

    /// <summary>
    /// The chaining value of the subtree of the sixteen 1 KiB chunks of <paramref name="input"/>, whose first chunk has
    /// counter <paramref name="counter"/> (a multiple of sixteen: the chunks are a whole subtree of BLAKE3's tree),
    /// written to <paramref name="cv"/>. The chunks are compressed one per lane; then the fifteen parents, level by level
    /// (eight, four, two, one), pairs of lanes becoming one.
    /// </summary>
    public static void CompressSubtree(ReadOnlySpan<byte> input, ulong counter, Span<uint> cv)
    {
        if (input.Length != Lanes * Blake3.ChunkBytes || cv.Length < 8 || counter % Lanes != 0)
        {
            throw new ArgumentException("sixteen whole chunks, starting at a multiple of sixteen, and room for a chaining value are needed", nameof(input));
        }

        var words = MemoryMarshal.Cast<byte, uint>(input);
        var iv = Blake3.IV;
        Vector512<uint> h0 = Vector512.Create(iv[0]), h1 = Vector512.Create(iv[1]), h2 = Vector512.Create(iv[2]), h3 = Vector512.Create(iv[3]);
        Vector512<uint> h4 = Vector512.Create(iv[4]), h5 = Vector512.Create(iv[5]), h6 = Vector512.Create(iv[6]), h7 = Vector512.Create(iv[7]);
        var lane = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var low = Vector512.Create((uint)counter) + lane; // no carry: counter is a multiple of 16
        var high = Vector512.Create((uint)(counter >> 32));
        var blockLength = Vector512.Create((uint)Blake3.BlockBytes);
        Span<Vector512<uint>> m = stackalloc Vector512<uint>[16];
        const int blocks = Blake3.ChunkBytes / Blake3.BlockBytes;
        for (var b = 0; b < blocks; b++)
        {
            LoadTransposed(words, b * 16, m);
            var flags = Vector512.Create((b == 0 ? Blake3.ChunkStart : 0) | (b == blocks - 1 ? Blake3.ChunkEnd : 0));
            Compress(ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7, m, low, high, blockLength, flags);
        }

        // Parents: lane p of the next level is the parent of lanes 2p and 2p + 1; its message is the left chaining
        // value, then the right one. The upper lanes carry copies nobody reads.
        var even = Vector512.Create(0u, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
        var odd = even + Vector512<uint>.One;
        var zero = Vector512<uint>.Zero;
        var parent = Vector512.Create(Blake3.Parent);
        for (var level = 0; level < 4; level++)
        {
            m[0] = Avx512F.PermuteVar16x32(h0, even);
            m[1] = Avx512F.PermuteVar16x32(h1, even);
            m[2] = Avx512F.PermuteVar16x32(h2, even);
            m[3] = Avx512F.PermuteVar16x32(h3, even);
            m[4] = Avx512F.PermuteVar16x32(h4, even);
            m[5] = Avx512F.PermuteVar16x32(h5, even);
            m[6] = Avx512F.PermuteVar16x32(h6, even);
            m[7] = Avx512F.PermuteVar16x32(h7, even);
            m[8] = Avx512F.PermuteVar16x32(h0, odd);
            m[9] = Avx512F.PermuteVar16x32(h1, odd);
            m[10] = Avx512F.PermuteVar16x32(h2, odd);
            m[11] = Avx512F.PermuteVar16x32(h3, odd);
            m[12] = Avx512F.PermuteVar16x32(h4, odd);
            m[13] = Avx512F.PermuteVar16x32(h5, odd);
            m[14] = Avx512F.PermuteVar16x32(h6, odd);
            m[15] = Avx512F.PermuteVar16x32(h7, odd);
            h0 = Vector512.Create(iv[0]);
            h1 = Vector512.Create(iv[1]);
            h2 = Vector512.Create(iv[2]);
            h3 = Vector512.Create(iv[3]);
            h4 = Vector512.Create(iv[4]);
            h5 = Vector512.Create(iv[5]);
            h6 = Vector512.Create(iv[6]);
            h7 = Vector512.Create(iv[7]);
            Compress(ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7, m, zero, zero, blockLength, parent);
        }

        cv[0] = h0.ToScalar();
        cv[1] = h1.ToScalar();
        cv[2] = h2.ToScalar();
        cv[3] = h3.ToScalar();
        cv[4] = h4.ToScalar();
        cv[5] = h5.ToScalar();
        cv[6] = h6.ToScalar();
        cv[7] = h7.ToScalar();
    }

    /// <summary>
    /// Message word j of block <paramref name="offset"/>/16 of every chunk, in lane = chunk: row k of the 16 × 16
    /// matrix is chunk k's block, and its transpose gives the sixteen message vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadTransposed(ReadOnlySpan<uint> words, int offset, Span<Vector512<uint>> m)
    {
        const int stride = Blake3.ChunkBytes / sizeof(uint);
        ref var start = ref MemoryMarshal.GetReference(words);
        var r0 = Vector512.LoadUnsafe(ref start, (nuint)offset);
        var r1 = Vector512.LoadUnsafe(ref start, (nuint)(offset + stride));
        var r2 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (2 * stride)));
        var r3 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (3 * stride)));
        var r4 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (4 * stride)));
        var r5 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (5 * stride)));
        var r6 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (6 * stride)));
        var r7 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (7 * stride)));
        var r8 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (8 * stride)));
        var r9 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (9 * stride)));
        var r10 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (10 * stride)));
        var r11 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (11 * stride)));
        var r12 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (12 * stride)));
        var r13 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (13 * stride)));
        var r14 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (14 * stride)));
        var r15 = Vector512.LoadUnsafe(ref start, (nuint)(offset + (15 * stride)));

        // 32-bit interleave within each 128-bit lane.
        var t0 = Avx512F.UnpackLow(r0, r1);
        var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3);
        var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5);
        var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7);
        var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9);
        var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11);
        var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13);
        var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15);
        var t15 = Avx512F.UnpackHigh(r14, r15);

        // 64-bit interleave: each 128-bit lane now holds one word of four rows.
        r0 = Low64(t0, t2);
        r1 = High64(t0, t2);
        r2 = Low64(t1, t3);
        r3 = High64(t1, t3);
        r4 = Low64(t4, t6);
        r5 = High64(t4, t6);
        r6 = Low64(t5, t7);
        r7 = High64(t5, t7);
        r8 = Low64(t8, t10);
        r9 = High64(t8, t10);
        r10 = Low64(t9, t11);
        r11 = High64(t9, t11);
        r12 = Low64(t12, t14);
        r13 = High64(t12, t14);
        r14 = Low64(t13, t15);
        r15 = High64(t13, t15);

        // 128-bit lanes: even lanes of two vectors (0x88), odd lanes (0xDD).
        t0 = Avx512F.Shuffle4x128(r0, r4, 0x88);
        t1 = Avx512F.Shuffle4x128(r1, r5, 0x88);
        t2 = Avx512F.Shuffle4x128(r2, r6, 0x88);
        t3 = Avx512F.Shuffle4x128(r3, r7, 0x88);
        t4 = Avx512F.Shuffle4x128(r0, r4, 0xDD);
        t5 = Avx512F.Shuffle4x128(r1, r5, 0xDD);
        t6 = Avx512F.Shuffle4x128(r2, r6, 0xDD);
        t7 = Avx512F.Shuffle4x128(r3, r7, 0xDD);
        t8 = Avx512F.Shuffle4x128(r8, r12, 0x88);
        t9 = Avx512F.Shuffle4x128(r9, r13, 0x88);
        t10 = Avx512F.Shuffle4x128(r10, r14, 0x88);
        t11 = Avx512F.Shuffle4x128(r11, r15, 0x88);
        t12 = Avx512F.Shuffle4x128(r8, r12, 0xDD);
        t13 = Avx512F.Shuffle4x128(r9, r13, 0xDD);
        t14 = Avx512F.Shuffle4x128(r10, r14, 0xDD);
        t15 = Avx512F.Shuffle4x128(r11, r15, 0xDD);

        m[0] = Avx512F.Shuffle4x128(t0, t8, 0x88);
        m[1] = Avx512F.Shuffle4x128(t1, t9, 0x88);
        m[2] = Avx512F.Shuffle4x128(t2, t10, 0x88);
        m[3] = Avx512F.Shuffle4x128(t3, t11, 0x88);
        m[4] = Avx512F.Shuffle4x128(t4, t12, 0x88);
        m[5] = Avx512F.Shuffle4x128(t5, t13, 0x88);
        m[6] = Avx512F.Shuffle4x128(t6, t14, 0x88);
        m[7] = Avx512F.Shuffle4x128(t7, t15, 0x88);
        m[8] = Avx512F.Shuffle4x128(t0, t8, 0xDD);
        m[9] = Avx512F.Shuffle4x128(t1, t9, 0xDD);
        m[10] = Avx512F.Shuffle4x128(t2, t10, 0xDD);
        m[11] = Avx512F.Shuffle4x128(t3, t11, 0xDD);
        m[12] = Avx512F.Shuffle4x128(t4, t12, 0xDD);
        m[13] = Avx512F.Shuffle4x128(t5, t13, 0xDD);
        m[14] = Avx512F.Shuffle4x128(t6, t14, 0xDD);
        m[15] = Avx512F.Shuffle4x128(t7, t15, 0xDD);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Low64(Vector512<uint> a, Vector512<uint> b) => Avx512F.UnpackLow(a.AsUInt64(), b.AsUInt64()).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> High64(Vector512<uint> a, Vector512<uint> b) => Avx512F.UnpackHigh(a.AsUInt64(), b.AsUInt64()).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compress(
        ref Vector512<uint> h0, ref Vector512<uint> h1, ref Vector512<uint> h2, ref Vector512<uint> h3,
        ref Vector512<uint> h4, ref Vector512<uint> h5, ref Vector512<uint> h6, ref Vector512<uint> h7,
        ReadOnlySpan<Vector512<uint>> m, Vector512<uint> low, Vector512<uint> high, Vector512<uint> blockLength, Vector512<uint> flags)
    {
        var iv = Blake3.IV;
        Vector512<uint> v0 = h0, v1 = h1, v2 = h2, v3 = h3, v4 = h4, v5 = h5, v6 = h6, v7 = h7;
        Vector512<uint> v8 = Vector512.Create(iv[0]), v9 = Vector512.Create(iv[1]), v10 = Vector512.Create(iv[2]), v11 = Vector512.Create(iv[3]);
        Vector512<uint> v12 = low, v13 = high, v14 = blockLength, v15 = flags;
        // The seven rounds unrolled, each reading the message words in its own order (BLAKE3's permutation applied
        // round by round), so that the sixteen state vectors stay in registers.
        // Round 1.
        G(ref v0, ref v4, ref v8, ref v12, m[0], m[1]);
        G(ref v1, ref v5, ref v9, ref v13, m[2], m[3]);
        G(ref v2, ref v6, ref v10, ref v14, m[4], m[5]);
        G(ref v3, ref v7, ref v11, ref v15, m[6], m[7]);
        G(ref v0, ref v5, ref v10, ref v15, m[8], m[9]);
        G(ref v1, ref v6, ref v11, ref v12, m[10], m[11]);
        G(ref v2, ref v7, ref v8, ref v13, m[12], m[13]);
        G(ref v3, ref v4, ref v9, ref v14, m[14], m[15]);
        // Round 2.
        G(ref v0, ref v4, ref v8, ref v12, m[2], m[6]);
        G(ref v1, ref v5, ref v9, ref v13, m[3], m[10]);
        G(ref v2, ref v6, ref v10, ref v14, m[7], m[0]);
        G(ref v3, ref v7, ref v11, ref v15, m[4], m[13]);
        G(ref v0, ref v5, ref v10, ref v15, m[1], m[11]);
        G(ref v1, ref v6, ref v11, ref v12, m[12], m[5]);
        G(ref v2, ref v7, ref v8, ref v13, m[9], m[14]);
        G(ref v3, ref v4, ref v9, ref v14, m[15], m[8]);
        // Round 3.
        G(ref v0, ref v4, ref v8, ref v12, m[3], m[4]);
        G(ref v1, ref v5, ref v9, ref v13, m[10], m[12]);
        G(ref v2, ref v6, ref v10, ref v14, m[13], m[2]);
        G(ref v3, ref v7, ref v11, ref v15, m[7], m[14]);
        G(ref v0, ref v5, ref v10, ref v15, m[6], m[5]);
        G(ref v1, ref v6, ref v11, ref v12, m[9], m[0]);
        G(ref v2, ref v7, ref v8, ref v13, m[11], m[15]);
        G(ref v3, ref v4, ref v9, ref v14, m[8], m[1]);
        // Round 4.
        G(ref v0, ref v4, ref v8, ref v12, m[10], m[7]);
        G(ref v1, ref v5, ref v9, ref v13, m[12], m[9]);
        G(ref v2, ref v6, ref v10, ref v14, m[14], m[3]);
        G(ref v3, ref v7, ref v11, ref v15, m[13], m[15]);
        G(ref v0, ref v5, ref v10, ref v15, m[4], m[0]);
        G(ref v1, ref v6, ref v11, ref v12, m[11], m[2]);
        G(ref v2, ref v7, ref v8, ref v13, m[5], m[8]);
        G(ref v3, ref v4, ref v9, ref v14, m[1], m[6]);
        // Round 5.
        G(ref v0, ref v4, ref v8, ref v12, m[12], m[13]);
        G(ref v1, ref v5, ref v9, ref v13, m[9], m[11]);
        G(ref v2, ref v6, ref v10, ref v14, m[15], m[10]);
        G(ref v3, ref v7, ref v11, ref v15, m[14], m[8]);
        G(ref v0, ref v5, ref v10, ref v15, m[7], m[2]);
        G(ref v1, ref v6, ref v11, ref v12, m[5], m[3]);
        G(ref v2, ref v7, ref v8, ref v13, m[0], m[1]);
        G(ref v3, ref v4, ref v9, ref v14, m[6], m[4]);
        // Round 6.
        G(ref v0, ref v4, ref v8, ref v12, m[9], m[14]);
        G(ref v1, ref v5, ref v9, ref v13, m[11], m[5]);
        G(ref v2, ref v6, ref v10, ref v14, m[8], m[12]);
        G(ref v3, ref v7, ref v11, ref v15, m[15], m[1]);
        G(ref v0, ref v5, ref v10, ref v15, m[13], m[3]);
        G(ref v1, ref v6, ref v11, ref v12, m[0], m[10]);
        G(ref v2, ref v7, ref v8, ref v13, m[2], m[6]);
        G(ref v3, ref v4, ref v9, ref v14, m[4], m[7]);
        // Round 7.
        G(ref v0, ref v4, ref v8, ref v12, m[11], m[15]);
        G(ref v1, ref v5, ref v9, ref v13, m[5], m[0]);
        G(ref v2, ref v6, ref v10, ref v14, m[1], m[9]);
        G(ref v3, ref v7, ref v11, ref v15, m[8], m[6]);
        G(ref v0, ref v5, ref v10, ref v15, m[14], m[10]);
        G(ref v1, ref v6, ref v11, ref v12, m[2], m[12]);
        G(ref v2, ref v7, ref v8, ref v13, m[3], m[4]);
        G(ref v3, ref v4, ref v9, ref v14, m[7], m[13]);

        h0 = v0 ^ v8;
        h1 = v1 ^ v9;
        h2 = v2 ^ v10;
        h3 = v3 ^ v11;
        h4 = v4 ^ v12;
        h5 = v5 ^ v13;
        h6 = v6 ^ v14;
        h7 = v7 ^ v15;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(ref Vector512<uint> a, ref Vector512<uint> b, ref Vector512<uint> c, ref Vector512<uint> d, Vector512<uint> x, Vector512<uint> y)
    {
        a = a + b + x;
        d = Avx512F.RotateRight(d ^ a, 16);
        c += d;
        b = Avx512F.RotateRight(b ^ c, 12);
        a = a + b + y;
        d = Avx512F.RotateRight(d ^ a, 8);
        c += d;
        b = Avx512F.RotateRight(b ^ c, 7);
    }
}
