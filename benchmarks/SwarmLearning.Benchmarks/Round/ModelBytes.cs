using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// A node's model as the safetensors bytes its ML program posts: <c>P</c> f32 parameters in tensors of at most 4M
/// elements (<c>layers.K.weight</c>), seeded per node so every node's model, and so its SHA-256, differs. Built in
/// memory (no temporary file) because 16 models of 50M parameters are 3.2 GB.
/// </summary>
internal sealed class ModelBytes
{
    private const long MaxTensorElements = 4_000_000;

    private readonly int _dataStart;

    private ModelBytes(byte[] bytes, int dataStart)
    {
        Bytes = bytes;
        _dataStart = dataStart;
    }

    /// <summary>The whole file: 8-byte header length, JSON header padded to 8 bytes, data.</summary>
    public byte[] Bytes { get; }

    /// <summary>The file size of a model of <paramref name="parameters"/> f32 values (the same for every node).</summary>
    public static long SizeOf(long parameters)
    {
        var (_, padded, data) = Header(parameters);
        return 8 + padded + data;
    }

    /// <summary>A model of <paramref name="parameters"/> values, uniform in ±0.05, seeded by <paramref name="node"/>.</summary>
    public static ModelBytes Create(long parameters, int node)
    {
        var (header, padded, data) = Header(parameters);
        var dataStart = 8 + padded;
        var total = dataStart + data;
        if (total > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(parameters), $"{parameters} parameters make a {total}-byte model; at most {Array.MaxLength} bytes fit in one array");
        }

        var bytes = GC.AllocateUninitializedArray<byte>((int)total);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(dataStart));

        // xorshift: fast enough for 800M values, and finite by construction.
        var state = (uint)(0x9E3779B9 ^ (node * 0x85EBCA6B)) | 1;
        for (var i = 0; i < values.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            values[i] = (((state >> 8) * (1f / (1 << 24))) - 0.5f) * 0.1f;
        }

        return new ModelBytes(bytes, dataStart);
    }

    /// <summary>
    /// Makes this model differ from the one posted in earlier rounds: the store is content-addressed, and a leader that
    /// already holds a hash would not fetch it again.
    /// </summary>
    public void MarkRound(long round, int node)
    {
        var value = (float)((node * 1e-3) + (round * 1e-6));
        BinaryPrimitives.WriteSingleLittleEndian(Bytes.AsSpan(_dataStart, 4), value);
    }

    /// <summary>The JSON header, its length padded to 8 bytes, and the data section's length.</summary>
    private static (byte[] Header, int Padded, long Data) Header(long parameters)
    {
        var tensors = (int)((parameters + MaxTensorElements - 1) / MaxTensorElements);
        var json = new StringBuilder("{");
        long offset = 0;
        for (var t = 0; t < tensors; t++)
        {
            var elements = (parameters / tensors) + (t < parameters % tensors ? 1 : 0);
            json.Append(CultureInfo.InvariantCulture, $"{(t == 0 ? "" : ",")}\"layers.{t}.weight\":{{\"dtype\":\"F32\",\"shape\":[{elements}],\"data_offsets\":[{offset},{offset + (elements * 4)}]}}");
            offset += elements * 4;
        }

        json.Append('}');
        var header = Encoding.UTF8.GetBytes(json.ToString());
        return (header, (header.Length + 7) / 8 * 8, offset);
    }
}
