using System.Runtime.InteropServices;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Tensors;

/// <summary>f16 and bf16 conversions against scalar references, over every bit pattern and every vector tail.</summary>
public sealed class FloatConversionsTests
{
    public static TheoryData<int> TailLengths => [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000];

    [Fact]
    public void BF16_widening_of_every_bit_pattern_is_the_upper_half_of_an_f32()
    {
        var source = new ushort[65536];
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = (ushort)i;
        }

        var destination = new float[source.Length];
        FloatConversions.BFloat16ToSingle(source, destination);

        for (var i = 0; i < source.Length; i++)
        {
            Assert.Equal((uint)i << 16, BitConverter.SingleToUInt32Bits(destination[i]));
        }
    }

    [Theory]
    [MemberData(nameof(TailLengths))]
    public void BF16_widening_is_correct_for_every_tail_length_and_leaves_the_rest_of_the_destination_alone(int length)
    {
        var random = new Random(length);
        var source = new ushort[length];
        for (var i = 0; i < length; i++)
        {
            source[i] = (ushort)random.Next(0, 65536);
        }

        var destination = new float[length + 3];
        destination.AsSpan().Fill(-7f);
        FloatConversions.BFloat16ToSingle(source, destination);

        for (var i = 0; i < length; i++)
        {
            Assert.Equal((uint)source[i] << 16, BitConverter.SingleToUInt32Bits(destination[i]));
        }

        Assert.Equal([-7f, -7f, -7f], destination[length..]);
    }

    [Fact]
    public void BF16_widening_into_a_short_destination_is_refused()
    {
        Assert.Throws<ArgumentException>(() => FloatConversions.BFloat16ToSingle(new ushort[4], new float[3]));
    }

    [Fact]
    public void BF16_narrowing_into_a_short_destination_is_refused()
    {
        Assert.Throws<ArgumentException>(() => FloatConversions.SingleToBFloat16(new float[4], new ushort[3]));
    }

    [Theory]
    [InlineData(0x3F80_8000u, 0x3F80)] // tie, lower neighbour even: down
    [InlineData(0x3F81_8000u, 0x3F82)] // tie, lower neighbour odd: up to even
    [InlineData(0xBF80_8000u, 0xBF80)] // negative ties behave the same on the magnitude
    [InlineData(0xBF81_8000u, 0xBF82)]
    [InlineData(0x3F80_7FFFu, 0x3F80)] // below half: down
    [InlineData(0x3F80_8001u, 0x3F81)] // above half: up
    [InlineData(0x3FFF_FFFFu, 0x4000)] // carry into the exponent
    [InlineData(0x0000_8000u, 0x0000)] // subnormal tie to even zero
    [InlineData(0x0001_8000u, 0x0002)] // subnormal tie to even
    [InlineData(0x007F_8000u, 0x0080)] // largest subnormal rounds up to the smallest normal
    [InlineData(0x7F7F_7FFFu, 0x7F7F)] // largest finite bf16 from below
    [InlineData(0x8000_0000u, 0x8000)] // negative zero keeps its sign
    public void BF16_narrowing_rounds_to_nearest_even(uint input, int expected)
    {
        var destination = new ushort[1];

        var overflow = FloatConversions.SingleToBFloat16([BitConverter.UInt32BitsToSingle(input)], destination);

        Assert.Equal(-1, overflow);
        Assert.Equal((ushort)expected, destination[0]);
    }

    [Fact]
    public void BF16_narrowing_matches_a_scalar_reference_on_random_finite_values()
    {
        var random = new Random(42);
        var source = new float[100_000];
        for (var i = 0; i < source.Length; i++)
        {
            float v;
            do
            {
                v = BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32));
            }
            while (!float.IsFinite(v) || Math.Abs(v) >= 3.3961776e38f);

            source[i] = v;
        }

        var destination = new ushort[source.Length];
        Assert.Equal(-1, FloatConversions.SingleToBFloat16(source, destination));

        for (var i = 0; i < source.Length; i++)
        {
            Assert.Equal(ReferenceBFloat16(source[i]), destination[i]);
        }
    }

    [Fact]
    public void Every_finite_bf16_survives_widening_then_narrowing()
    {
        var bits = new ushort[65536];
        for (var i = 0; i < bits.Length; i++)
        {
            bits[i] = (ushort)i;
        }

        var finite = bits.Where(b => (b & 0x7F80) != 0x7F80).ToArray();
        var widened = new float[finite.Length];
        FloatConversions.BFloat16ToSingle(finite, widened);
        var narrowed = new ushort[finite.Length];

        Assert.Equal(-1, FloatConversions.SingleToBFloat16(widened, narrowed));
        Assert.Equal(finite, narrowed);
    }

    [Theory]
    [InlineData(0x7F7F_8000u)] // tie whose even neighbour is infinity
    [InlineData(0x7F7F_FFFFu)] // float.MaxValue
    [InlineData(0xFF7F_FFFFu)] // float.MinValue
    public void BF16_narrowing_reports_the_first_value_that_becomes_infinite(uint bits)
    {
        var value = BitConverter.UInt32BitsToSingle(bits);
        float[] source = [1f, 2f, value, value];
        var destination = new ushort[4];

        Assert.Equal(2, FloatConversions.SingleToBFloat16(source, destination));
        Assert.Equal((ushort)((bits & 0x8000_0000u) >> 16 | 0x7F80), destination[2]);
    }

    [Fact]
    public void F16_decoding_of_every_bit_pattern_matches_the_runtime_conversion()
    {
        var source = new ushort[65536];
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = (ushort)i;
        }

        var destination = new float[source.Length];
        FloatConversions.ToSingle(TensorDType.F16, MemoryMarshal.AsBytes(source.AsSpan()), destination);

        for (var i = 0; i < source.Length; i++)
        {
            var expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(destination[i]), $"f16 bits 0x{i:X4} must decode to NaN");
            }
            else
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(destination[i]));
            }
        }
    }

    [Fact]
    public void Every_finite_f16_survives_decoding_then_encoding()
    {
        var finite = Enumerable.Range(0, 65536).Select(i => (ushort)i).Where(b => (b & 0x7C00) != 0x7C00).ToArray();
        var decoded = new float[finite.Length];
        FloatConversions.ToSingle(TensorDType.F16, MemoryMarshal.AsBytes(finite.AsSpan()), decoded);
        var encoded = new byte[finite.Length * 2];

        Assert.Equal(-1, FloatConversions.FromSingle(TensorDType.F16, decoded, encoded));
        Assert.Equal(finite, MemoryMarshal.Cast<byte, ushort>(encoded).ToArray());
    }

    [Theory]
    [InlineData(65_504f, -1)]
    [InlineData(65_519.99f, -1)] // rounds down to the largest finite f16
    [InlineData(65_520f, 1)] // half-way to the next (infinite) step: rounds to infinity
    [InlineData(-70_000f, 1)]
    public void F16_encoding_reports_the_first_value_out_of_range(float value, int expected)
    {
        var destination = new byte[6];

        Assert.Equal(expected, FloatConversions.FromSingle(TensorDType.F16, [1f, value, 2f], destination));
    }

    [Fact]
    public void F16_encoding_rounds_to_nearest_even()
    {
        float[] source = [1f + MathF.Pow(2, -11), 1f + (3 * MathF.Pow(2, -11)), 1f + MathF.Pow(2, -11) + MathF.Pow(2, -20)];
        var destination = new byte[6];

        Assert.Equal(-1, FloatConversions.FromSingle(TensorDType.F16, source, destination));
        Assert.Equal([(ushort)0x3C00, (ushort)0x3C02, (ushort)0x3C01], MemoryMarshal.Cast<byte, ushort>(destination).ToArray());
    }

    [Theory]
    [MemberData(nameof(TailLengths))]
    public void Encoding_then_decoding_is_exact_for_representable_values_of_every_dtype_and_length(int length)
    {
        var random = new Random(length + 100);
        foreach (var dtype in new[] { TensorDType.F32, TensorDType.F16, TensorDType.BF16 })
        {
            var values = new float[length];
            for (var i = 0; i < length; i++)
            {
                var v = (float)((random.NextDouble() - 0.5) * 1000);
                values[i] = dtype switch
                {
                    TensorDType.F16 => (float)(Half)v,
                    TensorDType.BF16 => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(v) & 0xFFFF_0000u),
                    _ => v,
                };
            }

            var bytes = new byte[length * dtype.SizeInBytes()];
            Assert.Equal(-1, FloatConversions.FromSingle(dtype, values, bytes));
            var decoded = new float[length];
            FloatConversions.ToSingle(dtype, bytes, decoded);
            Assert.Equal(values, decoded);
        }
    }

    [Fact]
    public void Unknown_dtype_is_refused_by_both_conversions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FloatConversions.ToSingle((TensorDType)99, new byte[4], new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FloatConversions.FromSingle((TensorDType)99, new float[1], new byte[4]));
    }

    [Fact]
    public void IndexOfNonFinite_finds_the_first_NaN_or_infinity()
    {
        Assert.Equal(-1, FloatConversions.IndexOfNonFinite([]));
        Assert.Equal(-1, FloatConversions.IndexOfNonFinite([0f, float.MaxValue, -float.Epsilon]));
        Assert.Equal(2, FloatConversions.IndexOfNonFinite([0f, 1f, float.NegativeInfinity, float.NaN]));
        Assert.Equal(0, FloatConversions.IndexOfNonFinite([float.NaN]));
    }

    [Fact]
    public void DescribeNonFinite_names_the_kind_of_value()
    {
        Assert.Equal("NaN", FloatConversions.DescribeNonFinite(float.NaN));
        Assert.Equal("+Infinity", FloatConversions.DescribeNonFinite(float.PositiveInfinity));
        Assert.Equal("-Infinity", FloatConversions.DescribeNonFinite(float.NegativeInfinity));
    }

    /// <summary>Round to the nearer of the two bf16 neighbours, computed in double; on a tie take the even one.</summary>
    private static ushort ReferenceBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var down = (ushort)(bits >> 16);
        var up = (ushort)(down + 1);
        var downValue = (double)BitConverter.UInt32BitsToSingle((uint)down << 16);
        var upValue = (double)BitConverter.UInt32BitsToSingle((uint)up << 16);
        var toDown = Math.Abs(value - downValue);
        var toUp = Math.Abs(upValue - value);
        if (toDown < toUp)
        {
            return down;
        }

        if (toUp < toDown)
        {
            return up;
        }

        return (down & 1) == 0 ? down : up;
    }
}
