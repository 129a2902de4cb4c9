using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// A node's model as the safetensors bytes its ML program posts: <c>P</c> f32 parameters in tensors of at most 4M
/// elements (<c>layers.K.weight</c>), uniform in ±0.05 and seeded per node, so every node's model, and so its hash,
/// differs. The bytes are generated while they are sent, never held: 16 models of 50M parameters would take 3.2 GB of
/// the memory the SL processes are measured in.
/// </summary>
internal sealed class ModelBytes
{
    private const long MaxTensorElements = 4_000_000;
    private const int ChunkFloats = 1 << 18;

    private readonly byte[] _prefix;
    private readonly long _parameters;
    private readonly int _node;
    private long _round;

    private ModelBytes(byte[] prefix, long parameters, int node)
    {
        _prefix = prefix;
        _parameters = parameters;
        _node = node;
    }

    /// <summary>The file's size: 8-byte header length, JSON header padded to 8 bytes, data.</summary>
    public long Length => _prefix.LongLength + (_parameters * 4);

    /// <summary>The file size of a model of <paramref name="parameters"/> f32 values (the same for every node).</summary>
    public static long SizeOf(long parameters) => Create(parameters, 0).Length;

    /// <summary>A model of <paramref name="parameters"/> values seeded by <paramref name="node"/>.</summary>
    public static ModelBytes Create(long parameters, int node)
    {
        var (header, padded) = Header(parameters);
        var prefix = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        header.CopyTo(prefix, 8);
        prefix.AsSpan(8 + header.Length).Fill((byte)' ');
        return new ModelBytes(prefix, parameters, node);
    }

    /// <summary>
    /// Makes this model differ from the one posted in earlier rounds (its first value): the store is content-addressed,
    /// and a leader that already holds a hash would not fetch it again.
    /// </summary>
    public void MarkRound(long round) => _round = round;

    /// <summary>Writes the model to <paramref name="stream"/>, generating its values chunk by chunk.</summary>
    public async Task WriteToAsync(Stream stream, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_prefix, cancellationToken).ConfigureAwait(false);
        var chunk = new byte[ChunkFloats * 4];
        var state = (uint)(0x9E3779B9 ^ (_node * 0x85EBCA6B)) | 1;
        for (long done = 0; done < _parameters; done += ChunkFloats)
        {
            var count = (int)Math.Min(ChunkFloats, _parameters - done);
            state = Fill(MemoryMarshal.Cast<byte, float>(chunk.AsSpan(0, count * 4)), state);
            if (done == 0)
            {
                BinaryPrimitives.WriteSingleLittleEndian(chunk, (float)((_node * 1e-3) + (_round * 1e-6)));
            }

            await stream.WriteAsync(chunk.AsMemory(0, count * 4), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>xorshift32: fast, and finite values by construction.</summary>
    private static uint Fill(Span<float> values, uint state)
    {
        for (var i = 0; i < values.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            values[i] = (((state >> 8) * (1f / (1 << 24))) - 0.5f) * 0.1f;
        }

        return state;
    }

    /// <summary>The JSON header and its length padded to 8 bytes.</summary>
    private static (byte[] Header, int Padded) Header(long parameters)
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
        return (header, (header.Length + 7) / 8 * 8);
    }
}
