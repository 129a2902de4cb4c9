using System.Buffers.Binary;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>The in-memory encoding is byte for byte what the writer writes, in any read pattern.</summary>
public sealed class SafetensorsEncodingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Three dtypes, empty tensors (first, middle, last) and a tensor longer than one staging run.</summary>
    private static TensorModel Mixed()
    {
        var big = new float[(1 << 17) + 3];
        for (var i = 0; i < big.Length; i++)
        {
            big[i] = ((i % 251) - 125) * 0.25f;
        }

        return new TensorModel(
        [
            new NamedTensor("a.empty", TensorDType.F32, new TensorShape(0), []),
            new NamedTensor("b.f32", TensorDType.F32, new TensorShape(big.Length), big),
            new NamedTensor("c.f16", TensorDType.F16, new TensorShape(big.Length), big),
            new NamedTensor("d.empty", TensorDType.F16, new TensorShape(0, 4), []),
            new NamedTensor("e.bf16", TensorDType.BF16, new TensorShape(3), [1.5f, -3f, 0f]),
            new NamedTensor("f.empty", TensorDType.BF16, new TensorShape(0), []),
        ], new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt", ["epoch"] = "3" });
    }

    private byte[] Written(TensorModel model)
    {
        var path = _dir.File($"{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, model);
        return File.ReadAllBytes(path);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(4096)]
    [InlineData(1 << 20)]
    public void Reading_in_pieces_of_any_size_gives_the_writers_bytes(int piece)
    {
        var model = Mixed();
        var expected = Written(model);

        using var stream = SafetensorsEncoding.OpenRead(model);
        var actual = new byte[stream.Length];
        var at = 0;
        int read;
        while ((read = stream.Read(actual, at, Math.Min(piece, actual.Length - at))) > 0)
        {
            at += read;
        }

        Assert.Equal(expected.Length, at);
        Assert.Equal(expected, actual);
        Assert.Equal(0, stream.Read(new byte[8], 0, 8));
    }

    [Fact]
    public void Measure_gives_the_size_and_hash_of_the_file_the_writer_would_write()
    {
        var model = Mixed();
        var expected = Written(model);

        var encoded = SafetensorsEncoding.Measure(model);

        Assert.Equal(expected.Length, encoded.Length);
        Assert.Equal(ModelHash.Of(expected), encoded.Hash);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(5L)]
    [InlineData(300L)]
    [InlineData(524_300L)] // inside the f32 tensor, not on a value's boundary
    [InlineData(700_001L)] // inside the f16 tensor, past its first staging run
    public void Seeking_then_reading_gives_the_bytes_at_that_position(long position)
    {
        var model = Mixed();
        var expected = Written(model);
        using var stream = SafetensorsEncoding.OpenRead(model);
        Assert.True(position < stream.Length);

        stream.Seek(position, SeekOrigin.Begin);
        var actual = new byte[Math.Min(10_000, expected.Length - position)];
        var at = 0;
        int read;
        while (at < actual.Length && (read = stream.Read(actual, at, actual.Length - at)) > 0)
        {
            at += read;
        }

        Assert.Equal(expected.AsSpan((int)position, actual.Length).ToArray(), actual);
    }

    [Fact]
    public void Measure_refuses_a_non_finite_value_naming_the_tensor_and_element()
    {
        var model = new TensorModel([new NamedTensor("w", TensorDType.F32, new TensorShape(3), [1f, float.NaN, 2f])], name: "sub");

        var e = Assert.Throws<ModelFormatException>(() => SafetensorsEncoding.Measure(model));

        Assert.Contains("'w'", e.Message, StringComparison.Ordinal);
        Assert.Contains("element 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_out_of_range_of_its_16_bit_dtype_fails_the_read_naming_the_tensor()
    {
        var model = new TensorModel([new NamedTensor("h", TensorDType.F16, new TensorShape(2), [1f, 1e6f])], name: "sub");

        var e = Assert.Throws<ModelFormatException>(() => SafetensorsEncoding.Measure(model));

        Assert.Contains("'h'", e.Message, StringComparison.Ordinal);
        Assert.Contains("element 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_writers_header_is_canonical_and_one_with_other_padding_is_not()
    {
        var model = Mixed();
        var bytes = Written(model);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = bytes.AsSpan(8, length).ToArray();

        Assert.True(SafetensorsEncoding.IsCanonicalHeader(header, model));
        Assert.False(SafetensorsEncoding.IsCanonicalHeader([.. header, .. "        "u8.ToArray()], model));
        var other = new TensorModel(model.NamedTensors.Reverse(), model.Metadata);
        Assert.False(SafetensorsEncoding.IsCanonicalHeader(header, other));
    }
}
