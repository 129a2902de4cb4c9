using System.Collections.Immutable;

namespace SwarmLearning.Tensors;

/// <summary>
/// The dimensions of a tensor: rank 0 (a scalar, one element) and up. Dimensions may be zero (an empty tensor).
/// Equality is by value.
/// </summary>
public readonly struct TensorShape : IEquatable<TensorShape>
{
    private readonly ImmutableArray<long> _dimensions;

    /// <summary>Creates a shape; every dimension must be non-negative and the element count must fit in a long.</summary>
    public TensorShape(params ReadOnlySpan<long> dimensions)
    {
        foreach (var d in dimensions)
        {
            if (d < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(dimensions), $"dimension {d} is negative");
            }
        }

        if (!TryCountElements(dimensions, out _))
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), "the element count overflows a 64-bit integer");
        }

        _dimensions = [.. dimensions];
    }

    /// <summary>The scalar shape (rank 0).</summary>
    public static TensorShape Scalar => new([]);

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<long> Dimensions => _dimensions.IsDefault ? [] : _dimensions.AsSpan();

    /// <summary>Number of dimensions; 0 for a scalar.</summary>
    public int Rank => Dimensions.Length;

    /// <summary>Number of elements: the product of the dimensions (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            TryCountElements(Dimensions, out var count);
            return count;
        }
    }

    /// <summary>Multiplies dimensions with overflow detection.</summary>
    public static bool TryCountElements(ReadOnlySpan<long> dimensions, out long count)
    {
        count = 1;
        foreach (var d in dimensions)
        {
            if (d < 0)
            {
                return false;
            }

            if (d != 0 && count > long.MaxValue / d)
            {
                return false;
            }

            count *= d;
        }

        return true;
    }

    /// <inheritdoc/>
    public bool Equals(TensorShape other) => Dimensions.SequenceEqual(other.Dimensions);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TensorShape other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var d in Dimensions)
        {
            hash.Add(d);
        }

        return hash.ToHashCode();
    }

    /// <summary>Formats as "[256, 784]"; a scalar is "[]".</summary>
    public override string ToString() => "[" + string.Join(", ", Dimensions.ToArray()) + "]";

    /// <summary>Value equality.</summary>
    public static bool operator ==(TensorShape left, TensorShape right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(TensorShape left, TensorShape right) => !left.Equals(right);
}
