using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Tensors;

public sealed class TensorShapeTests
{
    [Fact]
    public void Scalar_has_rank_zero_and_one_element()
    {
        var scalar = TensorShape.Scalar;
        Assert.Equal(0, scalar.Rank);
        Assert.Equal(1, scalar.ElementCount);
        Assert.Equal("[]", scalar.ToString());
    }

    [Fact]
    public void Zero_dimension_makes_an_empty_tensor()
    {
        Assert.Equal(0, new TensorShape(3, 0, 5).ElementCount);
    }

    [Fact]
    public void Element_count_overflow_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorShape(1L << 40, 1L << 40));
        Assert.False(TensorShape.TryCountElements([1L << 40, 1L << 40], out _));
    }

    [Fact]
    public void Shapes_compare_by_value()
    {
        Assert.Equal(new TensorShape(2, 3), new TensorShape(2, 3));
        Assert.NotEqual(new TensorShape(2, 3), new TensorShape(3, 2));
        Assert.Equal(new TensorShape(2, 3).GetHashCode(), new TensorShape(2, 3).GetHashCode());
    }
}
