using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SwarmLearning.Tensors;

/// <summary>
/// Conversions between f32 and the 16-bit storage types. f16 uses <see cref="TensorPrimitives"/>; bf16 is the upper
/// half of an f32, so widening is a 16-bit shift and narrowing rounds to nearest, ties to even.
/// </summary>
internal static class FloatConversions
{
    /// <summary>Decodes little-endian stored values of <paramref name="dtype"/> into f32.</summary>
    public static void ToSingle(TensorDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case TensorDType.BF16:
                BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype");
        }
    }

    /// <summary>
    /// Encodes f32 values as <paramref name="dtype"/>. Returns the index of the first value that does not fit the
    /// target type (it would become infinite), or -1 when all fit.
    /// </summary>
    public static int FromSingle(TensorDType dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                return -1;
            case TensorDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(destination)[..source.Length];
                TensorPrimitives.ConvertToHalf(source, halves);
                return halves.IsEmpty || TensorPrimitives.IsFiniteAll<Half>(halves) ? -1 : IndexOfNonFinite(halves);
            case TensorDType.BF16:
                return SingleToBFloat16(source, MemoryMarshal.Cast<byte, ushort>(destination));
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype");
        }
    }

    /// <summary>bf16 bits to f32: the bits become the upper half of the f32.</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination is too short", nameof(destination));
        }

        var dst = MemoryMarshal.Cast<float, uint>(destination);
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= source.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var v = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)i);
                var (lower, upper) = Vector128.Widen(v);
                (lower << 16).StoreUnsafe(ref MemoryMarshal.GetReference(dst), (nuint)i);
                (upper << 16).StoreUnsafe(ref MemoryMarshal.GetReference(dst), (nuint)(i + Vector128<uint>.Count));
            }
        }

        for (; i < source.Length; i++)
        {
            dst[i] = (uint)source[i] << 16;
        }
    }

    /// <summary>f32 to bf16 with round-to-nearest-even; returns the first index that overflowed to infinity, or -1.</summary>
    public static int SingleToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination is too short", nameof(destination));
        }

        var bits = MemoryMarshal.Cast<float, uint>(source);
        var overflow = -1;
        for (var i = 0; i < bits.Length; i++)
        {
            var b = bits[i];

            // Adding 0x7FFF plus the lowest kept bit rounds half-way cases to the even neighbour.
            var rounded = (ushort)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
            if ((rounded & 0x7F80) == 0x7F80 && overflow < 0)
            {
                overflow = i;
            }

            destination[i] = rounded;
        }

        return overflow;
    }

    /// <summary>
    /// True when no value is NaN or infinite. Empty spans are all finite (<see cref="TensorPrimitives.IsFiniteAll"/>
    /// answers false for them, so every finiteness check goes through here).
    /// </summary>
    public static bool AllFinite(ReadOnlySpan<float> values) => values.IsEmpty || TensorPrimitives.IsFiniteAll(values);

    /// <summary>Index of the first NaN or infinity, or -1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Describes a non-finite value for an error message.</summary>
    public static string DescribeNonFinite(float value) =>
        float.IsNaN(value) ? "NaN" : float.IsPositiveInfinity(value) ? "+Infinity" : "-Infinity";

    private static int IndexOfNonFinite(ReadOnlySpan<Half> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!Half.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
