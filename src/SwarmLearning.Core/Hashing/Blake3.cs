using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SwarmLearning.Hashing;

/// <summary>
/// BLAKE3 (O'Connor, Aumasson, Neves, Wilcox-O'Hearn, 2020), unkeyed, 32-byte output: a cryptographic hash whose input
/// is a tree of 1 KiB chunks, so that many chunks are compressed side by side. With AVX-512 this hashes sixteen chunks
/// at once, and the fifteen parents above them; with 256-bit vectors (AVX2), eight (<see cref="Blake3Lanes"/>);
/// otherwise one at a time. Incremental, like
/// <see cref="System.Security.Cryptography.IncrementalHash"/>: <see cref="AppendData"/> any number of times, in pieces
/// of any size, then <see cref="GetHashAndReset"/>. Not thread-safe.
/// </summary>
public sealed class Blake3
{
    /// <summary>The digest's length in bytes.</summary>
    public const int HashSizeInBytes = 32;

    internal const int ChunkBytes = 1024;
    internal const int BlockBytes = 64;

    internal const uint ChunkStart = 1;
    internal const uint ChunkEnd = 2;
    internal const uint Parent = 4;
    internal const uint Root = 8;

    /// <summary>The message words each of the seven rounds reads, in order: BLAKE3's permutation applied round by round.</summary>
    internal static ReadOnlySpan<byte> Schedule =>
    [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8,
        3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1,
        10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6,
        12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4,
        9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7,
        11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13,
    ];

    /// <summary>BLAKE3's IV: SHA-256's.</summary>
    internal static ReadOnlySpan<uint> IV => [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19];

    // The chaining values of completed subtrees, at most one per level (a 2^54-chunk input has 54 levels).
    private readonly uint[] _stack = new uint[54 * 8];
    private int _stackDepth;

    // The chunk being filled.
    private readonly uint[] _chunkCv = new uint[8];
    private readonly byte[] _block = new byte[BlockBytes];
    private int _blockLength;
    private int _blocksCompressed;
    private ulong _chunkCounter;

    // Input gathered until it makes a whole subtree of as many chunks as there are lanes (the lanes' paths only).
    private readonly byte[] _staged = new byte[Blake3Lanes.MaxLanes * ChunkBytes];
    private int _stagedLength;

    /// <summary>An empty hash.</summary>
    public Blake3() => Reset();

    /// <summary>How many chunks <see cref="AppendData"/> compresses at once on this machine: 16 (AVX-512), 8 (AVX2) or 1.</summary>
    public static int LaneCount => Blake3Lanes.Supported(Blake3Lanes.MaxLanes);

    /// <summary>For tests and benchmarks: at most this many chunks at once (16, 8 or 1), even where more are supported.</summary>
    internal int MaxLanes { get; init; } = Blake3Lanes.MaxLanes;

    /// <summary>The BLAKE3 hash of <paramref name="data"/>.</summary>
    public static byte[] HashData(ReadOnlySpan<byte> data)
    {
        var hash = new Blake3();
        hash.AppendData(data);
        return hash.GetHashAndReset();
    }

    /// <summary>Appends <paramref name="data"/> to what is hashed.</summary>
    public void AppendData(ReadOnlySpan<byte> data) => Append(data, Blake3Lanes.Supported(MaxLanes));

    /// <summary>
    /// Takes <paramref name="data"/> step by step, <paramref name="lanes"/> chunks at once where it can. A chunk, or a
    /// subtree of <paramref name="lanes"/> chunks, is compressed only once more input follows it: the input's last chunk
    /// is the output node (or the root), compressed differently.
    /// </summary>
    private void Append(ReadOnlySpan<byte> data, int lanes)
    {
        Span<uint> cv = stackalloc uint[8];
        while (!data.IsEmpty)
        {
            var filled = (_blocksCompressed * BlockBytes) + _blockLength;
            if (filled == ChunkBytes)
            {
                CompleteChunk();
                continue;
            }

            var subtreeBytes = lanes * ChunkBytes;
            if (lanes > 1 && filled == 0 && _chunkCounter % (ulong)lanes == 0)
            {
                // At a subtree boundary: the input gathers in _staged, and a whole subtree goes through the lanes
                // from there. Small pieces (a TLS record is 16 KiB at most) need it; for large ones the copy pays for
                // itself: copied in order, then read across the lanes from the cache, 256 MB hash at 5.0–5.3 GB/s;
                // with the lanes reading sixteen streams 1 KiB apart straight from memory, at 3.4 GB/s.
                if (_stagedLength == subtreeBytes)
                {
                    CompressSubtree(_staged.AsSpan(0, subtreeBytes), cv);
                    _stagedLength = 0;
                }
                else
                {
                    var staged = Math.Min(subtreeBytes - _stagedLength, data.Length);
                    data[..staged].CopyTo(_staged.AsSpan(_stagedLength));
                    _stagedLength += staged;
                    data = data[staged..];
                }

                continue;
            }

            if (filled == 0 && data.Length > ChunkBytes)
            {
                CompressChunk(data[..ChunkBytes], cv);
                Push(cv, ++_chunkCounter);
                data = data[ChunkBytes..];
                continue;
            }

            // Into the chunk being filled, block by block; a full block is compressed only once more input follows
            // (the chunk's last block is compressed with ChunkEnd, by CompleteChunk or the output).
            if (_blockLength == BlockBytes)
            {
                CompressInPlace(_chunkCv, Words(_block), _chunkCounter, BlockBytes, _blocksCompressed == 0 ? ChunkStart : 0);
                _blocksCompressed++;
                _blockLength = 0;
            }

            var take = Math.Min(BlockBytes - _blockLength, data.Length);
            data[..take].CopyTo(_block.AsSpan(_blockLength));
            _blockLength += take;
            data = data[take..];
        }
    }

    /// <summary>Compresses the chunks of <paramref name="subtree"/> (16 or 8) in lanes and pushes their subtree's chaining value.</summary>
    private void CompressSubtree(ReadOnlySpan<byte> subtree, Span<uint> cv)
    {
        var lanes = subtree.Length / ChunkBytes;
        Blake3Lanes.CompressSubtree(subtree, _chunkCounter, cv);
        _chunkCounter += (ulong)lanes;
        Push(cv, _chunkCounter / (ulong)lanes);
    }

    /// <summary>The hash of everything appended since the last reset; then starts again, empty.</summary>
    public byte[] GetHashAndReset()
    {
        // Staged bytes are the input's end: its last chunk is among them.
        if (_stagedLength > 0)
        {
            var staged = _stagedLength;
            _stagedLength = 0;
            Append(_staged.AsSpan(0, staged), lanes: 1);
        }

        var result = new byte[HashSizeInBytes];
        Span<byte> block = stackalloc byte[BlockBytes];
        block.Clear();
        _block.AsSpan(0, _blockLength).CopyTo(block);

        // The output node: the last chunk's last block, then the parents up the stack; the top one is the root.
        Span<uint> cv = stackalloc uint[8];
        Span<uint> words = stackalloc uint[16];
        _chunkCv.CopyTo(cv);
        Words(block).CopyTo(words);
        var counter = _chunkCounter;
        var length = (uint)_blockLength;
        var flags = ChunkEnd | (_blocksCompressed == 0 ? ChunkStart : 0);
        for (var depth = _stackDepth - 1; depth >= 0; depth--)
        {
            CompressInPlace(cv, words, counter, length, flags);
            _stack.AsSpan(depth * 8, 8).CopyTo(words);
            cv.CopyTo(words[8..]);
            IV.CopyTo(cv);
            (counter, length, flags) = (0, BlockBytes, Parent);
        }

        CompressInPlace(cv, words, counter, length, flags | Root);
        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(i * 4), cv[i]);
        }

        Reset();
        return result;
    }

    private void Reset()
    {
        _stackDepth = 0;
        _stagedLength = 0;
        _chunkCounter = 0;
        StartChunk();
    }

    private void StartChunk()
    {
        IV.CopyTo(_chunkCv);
        _blockLength = 0;
        _blocksCompressed = 0;
    }

    /// <summary>Compresses the filled chunk's last block with ChunkEnd and pushes its chaining value.</summary>
    private void CompleteChunk()
    {
        CompressInPlace(_chunkCv, Words(_block), _chunkCounter, BlockBytes, ChunkEnd | (_blocksCompressed == 0 ? ChunkStart : 0));
        Push(_chunkCv, ++_chunkCounter);
        StartChunk();
    }

    /// <summary>The chaining value of a whole chunk (surely not the input's last) with this hash's chunk counter.</summary>
    private void CompressChunk(ReadOnlySpan<byte> chunk, Span<uint> cv)
    {
        IV.CopyTo(cv);
        for (var b = 0; b < ChunkBytes / BlockBytes; b++)
        {
            var flags = (b == 0 ? ChunkStart : 0) | (b == (ChunkBytes / BlockBytes) - 1 ? ChunkEnd : 0);
            CompressInPlace(cv, Words(chunk.Slice(b * BlockBytes, BlockBytes)), _chunkCounter, BlockBytes, flags);
        }
    }

    /// <summary>
    /// Pushes the chaining value of a completed subtree (a chunk, or the lanes' 16 or 8), merging completed subtrees: after
    /// <paramref name="subtrees"/> subtrees of its size, as many merges as the count has trailing zero bits (the stack
    /// holds only subtrees at least as large).
    /// </summary>
    private void Push(ReadOnlySpan<uint> subtreeCv, ulong subtrees)
    {
        Span<uint> cv = stackalloc uint[8];
        Span<uint> words = stackalloc uint[16];
        subtreeCv.CopyTo(cv);
        while ((subtrees & 1) == 0)
        {
            _stackDepth--;
            _stack.AsSpan(_stackDepth * 8, 8).CopyTo(words);
            cv.CopyTo(words[8..]);
            IV.CopyTo(cv);
            CompressInPlace(cv, words, 0, BlockBytes, Parent);
            subtrees >>= 1;
        }

        cv.CopyTo(_stack.AsSpan(_stackDepth * 8, 8));
        _stackDepth++;
    }

    /// <summary>A 64-byte block as sixteen little-endian words.</summary>
    private static ReadOnlySpan<uint> Words(ReadOnlySpan<byte> block)
    {
        if (BitConverter.IsLittleEndian)
        {
            return MemoryMarshal.Cast<byte, uint>(block);
        }

        var words = new uint[16];
        for (var i = 0; i < 16; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        }

        return words;
    }

    /// <summary>BLAKE3's compression function; the new chaining value (the output's first eight words) replaces <paramref name="cv"/>.</summary>
    internal static void CompressInPlace(Span<uint> cv, ReadOnlySpan<uint> m, ulong counter, uint blockLength, uint flags)
    {
        uint v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3], v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7];
        uint v8 = IV[0], v9 = IV[1], v10 = IV[2], v11 = IV[3];
        uint v12 = (uint)counter, v13 = (uint)(counter >> 32), v14 = blockLength, v15 = flags;
        uint m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5], m6 = m[6], m7 = m[7];
        uint m8 = m[8], m9 = m[9], m10 = m[10], m11 = m[11], m12 = m[12], m13 = m[13], m14 = m[14], m15 = m[15];
        for (var round = 0; round < 7; round++)
        {
            G(ref v0, ref v4, ref v8, ref v12, m0, m1);
            G(ref v1, ref v5, ref v9, ref v13, m2, m3);
            G(ref v2, ref v6, ref v10, ref v14, m4, m5);
            G(ref v3, ref v7, ref v11, ref v15, m6, m7);
            G(ref v0, ref v5, ref v10, ref v15, m8, m9);
            G(ref v1, ref v6, ref v11, ref v12, m10, m11);
            G(ref v2, ref v7, ref v8, ref v13, m12, m13);
            G(ref v3, ref v4, ref v9, ref v14, m14, m15);

            // The message permutation: 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8.
            (m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15) =
                (m2, m6, m3, m10, m7, m0, m4, m13, m1, m11, m12, m5, m9, m14, m15, m8);
        }

        cv[0] = v0 ^ v8;
        cv[1] = v1 ^ v9;
        cv[2] = v2 ^ v10;
        cv[3] = v3 ^ v11;
        cv[4] = v4 ^ v12;
        cv[5] = v5 ^ v13;
        cv[6] = v6 ^ v14;
        cv[7] = v7 ^ v15;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(ref uint a, ref uint b, ref uint c, ref uint d, uint x, uint y)
    {
        a = a + b + x;
        d = uint.RotateRight(d ^ a, 16);
        c += d;
        b = uint.RotateRight(b ^ c, 12);
        a = a + b + y;
        d = uint.RotateRight(d ^ a, 8);
        c += d;
        b = uint.RotateRight(b ^ c, 7);
    }
}
