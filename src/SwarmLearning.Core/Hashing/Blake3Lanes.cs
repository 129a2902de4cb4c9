using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SwarmLearning.Hashing;

/// <summary>
/// BLAKE3's compression of whole chunks side by side, one chunk per 32-bit lane, and of the parents above them: the
/// same arithmetic as <see cref="Blake3.CompressInPlace"/>, a lane's worth of times per instruction. Written once over
/// <see cref="IBlake3Lanes{TVec}"/>; the JIT specialises it per width (struct type arguments): sixteen lanes with
/// AVX-512 (<see cref="Lanes16"/>), eight with AVX2 (<see cref="Lanes8"/>).
/// </summary>
internal static class Blake3Lanes
{
    /// <summary>The most chunks a call takes (AVX-512).</summary>
    public const int MaxLanes = 16;

    /// <summary>How many chunks at once this machine supports, up to <paramref name="most"/>: 16, 8 or 1.</summary>
    public static int Supported(int most) =>
        most >= 16 && Lanes16.IsSupported ? 16 : most >= 8 && Lanes8.IsSupported ? 8 : 1;

    /// <summary>
    /// The chaining value of the subtree of the 1 KiB chunks of <paramref name="input"/> (16 or 8 of them, as
    /// <see cref="Supported"/> allows), whose first chunk has counter <paramref name="counter"/> (a multiple of their
    /// number: the chunks are a whole subtree of BLAKE3's tree), written to <paramref name="cv"/>.
    /// </summary>
    public static void CompressSubtree(ReadOnlySpan<byte> input, ulong counter, Span<uint> cv)
    {
        switch (input.Length / Blake3.ChunkBytes)
        {
            case 16:
                CompressSubtree<Lanes16, Vector512<uint>>(input, counter, cv);
                break;
            case 8:
                CompressSubtree<Lanes8, Vector256<uint>>(input, counter, cv);
                break;
            default:
                throw new ArgumentException("a subtree of 16 or 8 whole chunks is needed", nameof(input));
        }
    }

    private static void CompressSubtree<TLanes, TVec>(ReadOnlySpan<byte> input, ulong counter, Span<uint> cv)
        where TLanes : IBlake3Lanes<TVec>
        where TVec : unmanaged
    {
        if (input.Length != TLanes.Count * Blake3.ChunkBytes || cv.Length < 8 || counter % (ulong)TLanes.Count != 0 || !BitConverter.IsLittleEndian)
        {
            throw new ArgumentException("whole chunks, starting at a multiple of their number, and room for a chaining value are needed", nameof(input));
        }

        var words = MemoryMarshal.Cast<byte, uint>(input);
        Span<TVec> h = stackalloc TVec[8];
        Span<TVec> m = stackalloc TVec[16];
        Initial<TLanes, TVec>(h);
        var low = TLanes.Add(TLanes.Broadcast((uint)counter), TLanes.LaneIndex); // no carry: counter is a multiple of Count
        var high = TLanes.Broadcast((uint)(counter >> 32));
        var blockLength = TLanes.Broadcast(Blake3.BlockBytes);
        const int blocks = Blake3.ChunkBytes / Blake3.BlockBytes;
        for (var b = 0; b < blocks; b++)
        {
            TLanes.LoadMessage(words, b * 16, m);
            var flags = TLanes.Broadcast((b == 0 ? Blake3.ChunkStart : 0) | (b == blocks - 1 ? Blake3.ChunkEnd : 0));
            Compress<TLanes, TVec>(h, m, low, high, blockLength, flags);
        }

        // Parents, level by level: lane p of the next level is the parent of lanes 2p and 2p + 1; its message is the
        // left chaining value, then the right one. The upper lanes carry copies nobody reads.
        var zero = TLanes.Broadcast(0);
        var parent = TLanes.Broadcast(Blake3.Parent);
        for (var width = TLanes.Count; width > 1; width /= 2)
        {
            for (var i = 0; i < 8; i++)
            {
                m[i] = TLanes.EvenLanes(h[i]);
                m[8 + i] = TLanes.OddLanes(h[i]);
            }

            Initial<TLanes, TVec>(h);
            Compress<TLanes, TVec>(h, m, zero, zero, blockLength, parent);
        }

        for (var i = 0; i < 8; i++)
        {
            cv[i] = TLanes.First(h[i]);
        }
    }

    private static void Initial<TLanes, TVec>(Span<TVec> h)
        where TLanes : IBlake3Lanes<TVec>
        where TVec : unmanaged
    {
        var iv = Blake3.IV;
        for (var i = 0; i < 8; i++)
        {
            h[i] = TLanes.Broadcast(iv[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compress<TLanes, TVec>(Span<TVec> h, ReadOnlySpan<TVec> m, TVec low, TVec high, TVec blockLength, TVec flags)
        where TLanes : IBlake3Lanes<TVec>
        where TVec : unmanaged
    {
        var iv = Blake3.IV;
        TVec v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3], v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
        TVec v8 = TLanes.Broadcast(iv[0]), v9 = TLanes.Broadcast(iv[1]), v10 = TLanes.Broadcast(iv[2]), v11 = TLanes.Broadcast(iv[3]);
        TVec v12 = low, v13 = high, v14 = blockLength, v15 = flags;
        ReadOnlySpan<byte> schedule = Blake3.Schedule;
        for (var round = 0; round < 7; round++)
        {
            var s = schedule.Slice(round * 16, 16);
            G<TLanes, TVec>(ref v0, ref v4, ref v8, ref v12, m[s[0]], m[s[1]]);
            G<TLanes, TVec>(ref v1, ref v5, ref v9, ref v13, m[s[2]], m[s[3]]);
            G<TLanes, TVec>(ref v2, ref v6, ref v10, ref v14, m[s[4]], m[s[5]]);
            G<TLanes, TVec>(ref v3, ref v7, ref v11, ref v15, m[s[6]], m[s[7]]);
            G<TLanes, TVec>(ref v0, ref v5, ref v10, ref v15, m[s[8]], m[s[9]]);
            G<TLanes, TVec>(ref v1, ref v6, ref v11, ref v12, m[s[10]], m[s[11]]);
            G<TLanes, TVec>(ref v2, ref v7, ref v8, ref v13, m[s[12]], m[s[13]]);
            G<TLanes, TVec>(ref v3, ref v4, ref v9, ref v14, m[s[14]], m[s[15]]);
        }

        h[0] = TLanes.Xor(v0, v8);
        h[1] = TLanes.Xor(v1, v9);
        h[2] = TLanes.Xor(v2, v10);
        h[3] = TLanes.Xor(v3, v11);
        h[4] = TLanes.Xor(v4, v12);
        h[5] = TLanes.Xor(v5, v13);
        h[6] = TLanes.Xor(v6, v14);
        h[7] = TLanes.Xor(v7, v15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G<TLanes, TVec>(ref TVec a, ref TVec b, ref TVec c, ref TVec d, TVec x, TVec y)
        where TLanes : IBlake3Lanes<TVec>
        where TVec : unmanaged
    {
        a = TLanes.Add(TLanes.Add(a, b), x);
        d = TLanes.RotateRight16(TLanes.Xor(d, a));
        c = TLanes.Add(c, d);
        b = TLanes.RotateRight12(TLanes.Xor(b, c));
        a = TLanes.Add(TLanes.Add(a, b), y);
        d = TLanes.RotateRight8(TLanes.Xor(d, a));
        c = TLanes.Add(c, d);
        b = TLanes.RotateRight7(TLanes.Xor(b, c));
    }
}

/// <summary>The lane operations <see cref="Blake3Lanes"/> needs, over one vector width of 32-bit words.</summary>
internal interface IBlake3Lanes<TVec>
    where TVec : unmanaged
{
    static abstract int Count { get; }

    /// <summary>0, 1, 2, … in lane order.</summary>
    static abstract TVec LaneIndex { get; }

    static abstract TVec Broadcast(uint value);

    static abstract TVec Add(TVec a, TVec b);

    static abstract TVec Xor(TVec a, TVec b);

    static abstract TVec RotateRight16(TVec value);

    static abstract TVec RotateRight12(TVec value);

    static abstract TVec RotateRight8(TVec value);

    static abstract TVec RotateRight7(TVec value);

    /// <summary>Lanes 0, 2, 4, … in the lower half (the upper half is left undefined for the caller).</summary>
    static abstract TVec EvenLanes(TVec value);

    /// <summary>Lanes 1, 3, 5, … in the lower half.</summary>
    static abstract TVec OddLanes(TVec value);

    static abstract uint First(TVec value);

    /// <summary>
    /// Message word j of the block at word <paramref name="offset"/> of each of <see cref="Count"/> chunks (1 KiB
    /// apart in <paramref name="words"/>) into lane k = chunk k of <paramref name="m"/>[j].
    /// </summary>
    static abstract void LoadMessage(ReadOnlySpan<uint> words, int offset, Span<TVec> m);
}

/// <summary>Sixteen lanes: AVX-512, with its rotate instruction and a 16 × 16 transpose in registers.</summary>
internal readonly struct Lanes16 : IBlake3Lanes<Vector512<uint>>
{
    public static bool IsSupported => Avx512F.IsSupported;

    public static int Count => 16;

    public static Vector512<uint> LaneIndex => Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Broadcast(uint value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Add(Vector512<uint> a, Vector512<uint> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Xor(Vector512<uint> a, Vector512<uint> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> RotateRight16(Vector512<uint> value) => Avx512F.RotateRight(value, 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> RotateRight12(Vector512<uint> value) => Avx512F.RotateRight(value, 12);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> RotateRight8(Vector512<uint> value) => Avx512F.RotateRight(value, 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> RotateRight7(Vector512<uint> value) => Avx512F.RotateRight(value, 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> EvenLanes(Vector512<uint> value) =>
        Avx512F.PermuteVar16x32(value, Vector512.Create(0u, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> OddLanes(Vector512<uint> value) =>
        Avx512F.PermuteVar16x32(value, Vector512.Create(1u, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint First(Vector512<uint> value) => value.ToScalar();

    /// <summary>Rows k = chunk k's block, transposed: 32-bit, then 64-bit interleaves, then 128-bit lane shuffles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadMessage(ReadOnlySpan<uint> words, int offset, Span<Vector512<uint>> m)
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
}

/// <summary>
/// Eight lanes: AVX2, with an 8 × 8 transpose of the message in registers, and byte shuffles for the rotations by 16
/// and 8 (two shifts and an or for those by 12 and 7: AVX2 has no rotate).
/// </summary>
internal readonly struct Lanes8 : IBlake3Lanes<Vector256<uint>>
{
    public static bool IsSupported => Avx2.IsSupported;

    public static int Count => 8;

    public static Vector256<uint> LaneIndex => Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> Broadcast(uint value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> Add(Vector256<uint> a, Vector256<uint> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> Xor(Vector256<uint> a, Vector256<uint> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> RotateRight16(Vector256<uint> value) =>
        Avx2.Shuffle(value.AsByte(), Vector256.Create((byte)2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> RotateRight12(Vector256<uint> value) => Vector256.ShiftRightLogical(value, 12) | Vector256.ShiftLeft(value, 20);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> RotateRight8(Vector256<uint> value) =>
        Avx2.Shuffle(value.AsByte(), Vector256.Create((byte)1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12)).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> RotateRight7(Vector256<uint> value) => Vector256.ShiftRightLogical(value, 7) | Vector256.ShiftLeft(value, 25);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> EvenLanes(Vector256<uint> value) => Vector256.Shuffle(value, Vector256.Create(0u, 2, 4, 6, 0, 2, 4, 6));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> OddLanes(Vector256<uint> value) => Vector256.Shuffle(value, Vector256.Create(1u, 3, 5, 7, 1, 3, 5, 7));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint First(Vector256<uint> value) => value.ToScalar();

    /// <summary>Rows k = chunk k's half block, transposed in registers: 32-bit, then 64-bit interleaves, then 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadMessage(ReadOnlySpan<uint> words, int offset, Span<Vector256<uint>> m)
    {
        Transpose(words, offset, m[..8]);
        Transpose(words, offset + 8, m[8..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ReadOnlySpan<uint> words, int offset, Span<Vector256<uint>> m)
    {
        const int stride = Blake3.ChunkBytes / sizeof(uint);
        ref var start = ref MemoryMarshal.GetReference(words);
        var r0 = Vector256.LoadUnsafe(ref start, (nuint)offset);
        var r1 = Vector256.LoadUnsafe(ref start, (nuint)(offset + stride));
        var r2 = Vector256.LoadUnsafe(ref start, (nuint)(offset + (2 * stride)));
        var r3 = Vector256.LoadUnsafe(ref start, (nuint)(offset + (3 * stride)));
        var r4 = Vector256.LoadUnsafe(ref start, (nuint)(offset + (4 * stride)));
        var r5 = Vector256.LoadUnsafe(ref start, (nuint)(offset + (5 * stride)));
        var r6 = Vector256.LoadUnsafe(ref start, (nuint)(offset + (6 * stride)));
        var r7 = Vector256.LoadUnsafe(ref start, (nuint)(offset + (7 * stride)));

        // 32-bit interleave within each 128-bit half: words (0, 1, 4, 5) and (2, 3, 6, 7) of two rows.
        var t0 = Avx2.UnpackLow(r0, r1);
        var t1 = Avx2.UnpackHigh(r0, r1);
        var t2 = Avx2.UnpackLow(r2, r3);
        var t3 = Avx2.UnpackHigh(r2, r3);
        var t4 = Avx2.UnpackLow(r4, r5);
        var t5 = Avx2.UnpackHigh(r4, r5);
        var t6 = Avx2.UnpackLow(r6, r7);
        var t7 = Avx2.UnpackHigh(r6, r7);

        // 64-bit interleave: each half holds one word of four rows (words j and j + 4).
        r0 = Low64(t0, t2);
        r1 = High64(t0, t2);
        r2 = Low64(t1, t3);
        r3 = High64(t1, t3);
        r4 = Low64(t4, t6);
        r5 = High64(t4, t6);
        r6 = Low64(t5, t7);
        r7 = High64(t5, t7);

        // Halves: the low ones make words 0–3, the high ones words 4–7.
        m[0] = Avx2.Permute2x128(r0, r4, 0x20);
        m[1] = Avx2.Permute2x128(r1, r5, 0x20);
        m[2] = Avx2.Permute2x128(r2, r6, 0x20);
        m[3] = Avx2.Permute2x128(r3, r7, 0x20);
        m[4] = Avx2.Permute2x128(r0, r4, 0x31);
        m[5] = Avx2.Permute2x128(r1, r5, 0x31);
        m[6] = Avx2.Permute2x128(r2, r6, 0x31);
        m[7] = Avx2.Permute2x128(r3, r7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Low64(Vector256<uint> a, Vector256<uint> b) => Avx2.UnpackLow(a.AsUInt64(), b.AsUInt64()).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> High64(Vector256<uint> a, Vector256<uint> b) => Avx2.UnpackHigh(a.AsUInt64(), b.AsUInt64()).AsUInt32();
}
