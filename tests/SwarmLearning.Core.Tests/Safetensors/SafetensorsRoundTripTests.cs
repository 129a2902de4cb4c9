using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>Values written by <see cref="SafetensorsWriter"/> come back from <see cref="SafetensorsFile"/> as written.</summary>
public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public SafetensorsRoundTripTests() => _path = _dir.File("model.safetensors");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void F32_values_come_back_bit_for_bit()
    {
        float[] values = [0f, -0f, 1f, -1.5f, float.Epsilon, -float.Epsilon, 1e-40f, float.MaxValue, float.MinValue, MathF.PI, 1f / 3f, 16_777_217f];

        var model = RoundTrip(new NamedTensor("w", TensorDType.F32, new TensorShape(3, 4), values));

        AssertSameBits(values, model["w"].Values);
        Assert.Equal(new TensorShape(3, 4), model["w"].Info.Shape);
        Assert.Equal(TensorDType.F32, model["w"].Info.DType);
    }

    [Fact]
    public void F16_values_that_f16_represents_come_back_exactly()
    {
        // Zero of both signs, normal values, the largest finite f16, the smallest normal and subnormal, odd mantissas.
        float[] values = [0f, -0f, 1f, -2.5f, 65504f, -65504f, 6.1035156e-5f, 5.9604645e-8f, -5.9604645e-8f, 0.333251953125f, 1.0009765625f, 2048f, 1023.5f];

        var model = RoundTrip(new NamedTensor("h", TensorDType.F16, new TensorShape(values.Length), values));

        AssertSameBits(values, model["h"].Values);
        Assert.Equal(TensorDType.F16, model["h"].Info.DType);
    }

    [Fact]
    public void BF16_values_that_bf16_represents_come_back_exactly()
    {
        // Values whose low 16 bits are zero: bf16 holds them exactly, including subnormals and the largest finite bf16.
        uint[] bits = [0x0000_0000, 0x8000_0000, 0x3F80_0000, 0xC060_0000, 0x7F7F_0000, 0xFF7F_0000, 0x0001_0000, 0x0080_0000, 0x3EAB_0000, 0x4B80_0000];
        var values = bits.Select(BitConverter.UInt32BitsToSingle).ToArray();

        var model = RoundTrip(new NamedTensor("b", TensorDType.BF16, new TensorShape(2, 5), values));

        AssertSameBits(values, model["b"].Values);
        Assert.Equal(TensorDType.BF16, model["b"].Info.DType);
    }

    [Theory]
    [InlineData(0x3F80_8000u, 0x3F80_0000u)] // 1 + 2^-8: exactly half-way between 1 (even) and the next bf16: stays 1
    [InlineData(0x3F81_8000u, 0x3F82_0000u)] // half-way between 0x3F81 (odd) and 0x3F82 (even): rounds up to even
    [InlineData(0xBF81_8000u, 0xBF82_0000u)] // the same tie, negative
    [InlineData(0x3F80_8001u, 0x3F81_0000u)] // just above half-way: rounds up
    [InlineData(0x3F81_7FFFu, 0x3F81_0000u)] // just below half-way: rounds down
    [InlineData(0x0000_8000u, 0x0000_0000u)] // subnormal tie to even zero
    [InlineData(0x0001_8000u, 0x0002_0000u)] // subnormal tie to even
    [InlineData(0x7F7F_7FFFu, 0x7F7F_0000u)] // just below the overflow threshold: the largest finite bf16
    public void BF16_narrowing_rounds_to_nearest_with_ties_to_even(uint input, uint expected)
    {
        var model = RoundTrip(new NamedTensor("b", TensorDType.BF16, TensorShape.Scalar, [BitConverter.UInt32BitsToSingle(input)]));

        Assert.Equal(expected, BitConverter.SingleToUInt32Bits(model["b"].Values[0]));
    }

    [Fact]
    public void F16_narrowing_rounds_to_nearest_with_ties_to_even()
    {
        // 1 + 2^-11 is half-way between 1 and 1 + 2^-10: ties to 1. 1 + 3*2^-11 ties to 1 + 2^-9.
        float[] values = [1f + MathF.Pow(2, -11), 1f + (3 * MathF.Pow(2, -11)), 65519f];

        var model = RoundTrip(new NamedTensor("h", TensorDType.F16, new TensorShape(3), values));

        Assert.Equal([1f, 1f + MathF.Pow(2, -9), 65504f], model["h"].Values);
    }

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Scalar_round_trips(TensorDType dtype)
    {
        var model = RoundTrip(new NamedTensor("s", dtype, TensorShape.Scalar, [-3.5f]));

        var s = model["s"];
        Assert.Equal(0, s.Info.Shape.Rank);
        Assert.Equal(1, s.Info.ElementCount);
        Assert.Equal([-3.5f], s.Values);
    }

    [Fact]
    public void Empty_tensors_round_trip_between_other_tensors()
    {
        var model = RoundTrip(
            new NamedTensor("empty-first", TensorDType.F32, new TensorShape(0), []),
            new NamedTensor("a", TensorDType.F16, new TensorShape(2), [1f, 2f]),
            new NamedTensor("empty-middle", TensorDType.BF16, new TensorShape(3, 0, 2), []),
            new NamedTensor("b", TensorDType.F32, new TensorShape(1), [3f]),
            new NamedTensor("empty-last", TensorDType.F16, new TensorShape(0, 7), []));

        Assert.Equal(["empty-first", "a", "empty-middle", "b", "empty-last"], model.Tensors.Select(t => t.Name));
        Assert.Empty(model["empty-first"].Values);
        Assert.Empty(model["empty-middle"].Values);
        Assert.Equal(new TensorShape(3, 0, 2), model["empty-middle"].Info.Shape);
        Assert.Empty(model["empty-last"].Values);
        Assert.Equal([1f, 2f], model["a"].Values);
        Assert.Equal([3f], model["b"].Values);
    }

    [Fact]
    public void Model_of_only_empty_tensors_has_an_empty_data_section()
    {
        var written = SafetensorsWriter.Write(_path, new TensorModel([NamedTensor.Zeros("e", TensorDType.F32, new TensorShape(0, 4))]));

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(8 + file.HeaderLength, written.Length);
        Assert.Equal(0, file.ParameterCount);
        file.VerifyValues();
        file.ReadF32(0, 0, Span<float>.Empty);
        Assert.Empty(file.LoadModel()["e"].Values);
    }

    [Fact]
    public void Model_without_tensors_round_trips()
    {
        var model = RoundTrip();

        Assert.Empty(model.Tensors);
        Assert.Empty(model.Metadata);
    }

    [Fact]
    public void Several_tensors_of_mixed_dtypes_keep_order_names_shapes_and_values()
    {
        var random = new Random(7);
        NamedTensor[] tensors =
        [
            new("layer.0.weight", TensorDType.F32, new TensorShape(16, 8), Values(random, 128, TensorDType.F32)),
            new("layer.0.bias", TensorDType.F16, new TensorShape(16), Values(random, 16, TensorDType.F16)),
            new("layer.1.weight", TensorDType.BF16, new TensorShape(4, 2, 16), Values(random, 128, TensorDType.BF16)),
            new("layer.1.bias", TensorDType.F32, TensorShape.Scalar, [0.25f]),
        ];

        var model = RoundTrip(tensors);

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(tensors.Select(t => t.Info), file.Tensors);
        Assert.Equal(128 + 16 + 128 + 1, file.ParameterCount);
        for (var i = 0; i < tensors.Length; i++)
        {
            Assert.Equal(i, file.IndexOf(tensors[i].Name));
            Assert.Equal(tensors[i].Values, model[tensors[i].Name].Values);
        }

        Assert.Equal(-1, file.IndexOf("layer.2.weight"));
        Assert.Equal(_path, model.Name);
    }

    [Fact]
    public void Metadata_round_trips_including_characters_json_escapes()
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["round"] = "12",
            ["quote\"and\\backslash"] = "line\nbreak\ttab",
            ["unicode"] = "Grüße, 模型, 🚀",
            ["empty"] = string.Empty,
            ["control"] = "\u0001\u001f",
        };

        var model = RoundTrip(metadata, new NamedTensor("w", TensorDType.F32, new TensorShape(1), [1f]));

        Assert.Equal(metadata.OrderBy(p => p.Key, StringComparer.Ordinal), model.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(metadata.Count, file.Metadata.Count);
        Assert.Equal("Grüße, 模型, 🚀", file.Metadata["unicode"]);
    }

    [Fact]
    public void Tensor_names_with_unusual_characters_round_trip()
    {
        string[] names = ["a\"b", "back\\slash", "🚀.weight", "sp ace", "__metadata", "x"];

        var model = RoundTrip([.. names.Select((n, i) => new NamedTensor(n, TensorDType.F32, TensorShape.Scalar, [i]))]);

        Assert.Equal(names, model.Tensors.Select(t => t.Name));
        Assert.Equal([2f], model["🚀.weight"].Values);
    }

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void ReadF32_of_any_sub_range_matches_the_whole_tensor(TensorDType dtype)
    {
        var random = new Random(11);
        var values = Values(random, 1000, dtype);
        RoundTrip(
            new NamedTensor("before", TensorDType.F16, new TensorShape(3), [1f, 2f, 3f]),
            new NamedTensor("w", dtype, new TensorShape(10, 100), values));
        using var file = SafetensorsFile.Open(_path);

        (long Offset, int Length)[] ranges = [(0, 0), (0, 1), (999, 1), (1000, 0), (0, 1000), (1, 999), (3, 7), (500, 17), (997, 3)];
        var randomRanges = Enumerable.Range(0, 200).Select(_ =>
        {
            var offset = random.Next(0, 1001);
            return ((long)offset, random.Next(0, 1001 - offset));
        });
        foreach (var (offset, length) in ranges.Concat(randomRanges))
        {
            var destination = new float[length];
            file.ReadF32(1, offset, destination);
            Assert.Equal(values.AsSpan((int)offset, length).ToArray(), destination);
        }
    }

    [Theory]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    [InlineData(TensorDType.F32)]
    public void ReadF32_of_a_range_larger_than_the_staging_buffer_matches(TensorDType dtype)
    {
        // 16-bit values are converted through a 1 MiB staging buffer: 524288 elements per pass.
        var random = new Random(3);
        var values = Values(random, 1_200_001, dtype);
        RoundTrip(new NamedTensor("big", dtype, new TensorShape(values.Length), values));
        using var file = SafetensorsFile.Open(_path);

        var destination = new float[700_000];
        file.ReadF32(0, 400_001, destination);

        Assert.True(values.AsSpan(400_001, 700_000).SequenceEqual(destination));
        Assert.Equal(values, file.LoadModel()["big"].Values);
    }

    [Fact]
    public void ReadF32_outside_the_tensor_is_an_argument_error()
    {
        RoundTrip(
            new NamedTensor("a", TensorDType.F32, new TensorShape(4), [1f, 2f, 3f, 4f]),
            new NamedTensor("w", TensorDType.F32, new TensorShape(4), [5f, 6f, 7f, 8f]));
        using var file = SafetensorsFile.Open(_path);

        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadF32(1, -1, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadF32(1, 0, new float[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadF32(1, 4, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadF32(1, 5, Span<float>.Empty));

        // Offsets so large that offset + length wraps around must not read a neighbouring tensor's bytes.
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadF32(1, long.MaxValue, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.ReadF32(1, long.MaxValue - 1, new float[4]));
    }

    [Fact]
    public void Reading_from_several_threads_at_once_gives_the_same_values()
    {
        var random = new Random(5);
        NamedTensor[] tensors =
        [
            new("f32", TensorDType.F32, new TensorShape(50_000), Values(random, 50_000, TensorDType.F32)),
            new("f16", TensorDType.F16, new TensorShape(50_000), Values(random, 50_000, TensorDType.F16)),
            new("bf16", TensorDType.BF16, new TensorShape(50_000), Values(random, 50_000, TensorDType.BF16)),
        ];
        RoundTrip(tensors);
        using var file = SafetensorsFile.Open(_path);

        var mismatches = 0;
        var reads = 0;
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var local = new Random(1000 + worker);
            for (var i = 0; i < 200; i++)
            {
                var t = local.Next(tensors.Length);
                var offset = local.Next(0, 50_000);
                var destination = new float[local.Next(0, Math.Min(4096, 50_000 - offset) + 1)];
                file.ReadF32(t, offset, destination);
                if (!tensors[t].Values.AsSpan(offset, destination.Length).SequenceEqual(destination))
                {
                    Interlocked.Increment(ref mismatches);
                }

                Interlocked.Increment(ref reads);
            }
        });

        Assert.Equal(16 * 200, reads);
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void Loading_on_several_threads_at_once_gives_identical_models()
    {
        var random = new Random(6);
        var values = Values(random, 300_000, TensorDType.BF16);
        RoundTrip(new NamedTensor("w", TensorDType.BF16, new TensorShape(values.Length), values));
        using var file = SafetensorsFile.Open(_path);

        var loaded = new float[8][];
        Parallel.For(0, loaded.Length, i =>
        {
            file.VerifyValues();
            loaded[i] = file.LoadModel()["w"].Values;
        });

        Assert.All(loaded, l => Assert.Equal(values, l));
    }

    /// <summary>Random values exactly representable in <paramref name="dtype"/>, so a round trip must be exact.</summary>
    internal static float[] Values(Random random, int count, TensorDType dtype)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var v = (float)((random.NextDouble() * 200) - 100);
            values[i] = dtype switch
            {
                TensorDType.F16 => (float)(Half)v,
                TensorDType.BF16 => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(v) & 0xFFFF_0000u),
                _ => v,
            };
        }

        return values;
    }

    private static void AssertSameBits(float[] expected, float[] actual) =>
        Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), actual.Select(BitConverter.SingleToUInt32Bits));

    private TensorModel RoundTrip(params NamedTensor[] tensors) => RoundTrip(null, tensors);

    private TensorModel RoundTrip(IReadOnlyDictionary<string, string>? metadata, params NamedTensor[] tensors)
    {
        SafetensorsWriter.Write(_path, new TensorModel(tensors, metadata));
        using var file = SafetensorsFile.Open(_path);
        file.VerifyValues();
        return file.LoadModel();
    }
}
