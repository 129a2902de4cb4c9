using System.Buffers.Binary;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SwarmLearning.Training.Data.Idx;

/// <summary>
/// An IDX array in memory: element type, dimensions and the data bytes exactly as the file stores them (big-endian).
/// The first dimension counts records (images, labels); a record is one slice along it.
/// </summary>
public sealed class IdxArray
{
    private readonly int[] _dimensions;

    /// <summary>Creates an array over <paramref name="data"/> (not copied) after checking it has the size the dimensions give.</summary>
    /// <param name="elementType">The element type.</param>
    /// <param name="dimensions">One or more dimensions, each at least 1; the first counts records.</param>
    /// <param name="data">The elements in row-major order, big-endian, as an IDX file stores them.</param>
    /// <param name="source">Where the array came from, for messages.</param>
    public IdxArray(IdxElementType elementType, IReadOnlyList<int> dimensions, byte[] data, string source)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(source);
        if (!IdxElementTypes.IsDefined((byte)elementType))
        {
            throw new ArgumentOutOfRangeException(nameof(elementType), elementType, "not an IDX element type");
        }

        if (dimensions.Count is < 1 or > byte.MaxValue || dimensions.Any(d => d < 1))
        {
            throw new ArgumentException("An IDX array has 1 to 255 dimensions, each at least 1.", nameof(dimensions));
        }

        _dimensions = [.. dimensions];
        var recordElements = 1L;
        for (var i = 1; i < _dimensions.Length; i++)
        {
            recordElements *= _dimensions[i];
            if (recordElements > Array.MaxLength)
            {
                throw new ArgumentException("A record of this many elements does not fit in memory.", nameof(dimensions));
            }
        }

        if ((long)_dimensions[0] * recordElements * elementType.SizeInBytes() != data.LongLength)
        {
            throw new ArgumentException($"{data.LongLength} data bytes do not make {string.Join('×', _dimensions)} elements of {elementType.SizeInBytes()} bytes.", nameof(data));
        }

        ElementType = elementType;
        RecordElements = (int)recordElements;
        Data = data;
        Source = source;
    }

    /// <summary>The element type.</summary>
    public IdxElementType ElementType { get; }

    /// <summary>The dimensions; the first counts records.</summary>
    public IReadOnlyList<int> Dimensions => _dimensions;

    /// <summary>Number of records: the first dimension.</summary>
    public int RecordCount => _dimensions[0];

    /// <summary>Elements per record: the product of the dimensions after the first (1 for a one-dimensional array).</summary>
    public int RecordElements { get; }

    /// <summary>Bytes per record.</summary>
    public int RecordBytes => RecordElements * ElementType.SizeInBytes();

    /// <summary>The data bytes as stored in the file: big-endian elements, row-major.</summary>
    public byte[] Data { get; }

    /// <summary>Where the array came from, for messages.</summary>
    public string Source { get; }

    /// <summary>The stored bytes of record <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Record(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RecordCount);
        return Data.AsSpan(index * RecordBytes, RecordBytes);
    }

    /// <summary>Every element converted to f32 as it is (no scaling); <paramref name="destination"/> holds them all.</summary>
    public void ConvertToSingle(Span<float> destination)
    {
        var count = Data.Length / ElementType.SizeInBytes();
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, count, nameof(destination));
        destination = destination[..count];
        switch (ElementType)
        {
            case IdxElementType.U8:
                TensorPrimitives.ConvertTruncating<byte, float>(Data, destination);
                break;
            case IdxElementType.I8:
                TensorPrimitives.ConvertTruncating<sbyte, float>(MemoryMarshal.Cast<byte, sbyte>(Data.AsSpan()), destination);
                break;
            case IdxElementType.I16:
                TensorPrimitives.ConvertTruncating<short, float>(Native<short>(), destination);
                break;
            case IdxElementType.I32:
                TensorPrimitives.ConvertTruncating<int, float>(Native<int>(), destination);
                break;
            case IdxElementType.F32:
                MemoryMarshal.Cast<int, float>(Native<int>().AsSpan()).CopyTo(destination);
                break;
            default:
                TensorPrimitives.ConvertTruncating<double, float>(MemoryMarshal.Cast<long, double>(Native<long>().AsSpan()), destination);
                break;
        }
    }

    /// <summary>Every element of an integer array as int32.</summary>
    /// <exception cref="InvalidOperationException">The elements are floats.</exception>
    public int[] ToInt32()
    {
        var values = new int[Data.Length / ElementType.SizeInBytes()];
        switch (ElementType)
        {
            case IdxElementType.U8:
                TensorPrimitives.ConvertTruncating<byte, int>(Data, values);
                break;
            case IdxElementType.I8:
                TensorPrimitives.ConvertTruncating<sbyte, int>(MemoryMarshal.Cast<byte, sbyte>(Data.AsSpan()), values);
                break;
            case IdxElementType.I16:
                TensorPrimitives.ConvertTruncating<short, int>(Native<short>(), values);
                break;
            case IdxElementType.I32:
                Native<int>().CopyTo(values, 0);
                break;
            default:
                throw new InvalidOperationException($"{Source}: {ElementType.Describe()} elements are not integers");
        }

        return values;
    }

    /// <summary>The data as native-endian values of <typeparamref name="T"/> (a copy).</summary>
    private T[] Native<T>()
        where T : unmanaged, IBinaryInteger<T>
    {
        var values = MemoryMarshal.Cast<byte, T>(Data.AsSpan()).ToArray();
        if (BitConverter.IsLittleEndian)
        {
            switch (values)
            {
                case short[] s:
                    BinaryPrimitives.ReverseEndianness(s, s);
                    break;
                case int[] i:
                    BinaryPrimitives.ReverseEndianness(i, i);
                    break;
                case long[] l:
                    BinaryPrimitives.ReverseEndianness(l, l);
                    break;
                default:
                    throw new NotSupportedException(typeof(T).Name);
            }
        }

        return values;
    }
}
