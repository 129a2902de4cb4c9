namespace SwarmLearning.Tensors;

/// <summary>What a model says about one of its tensors: name, element type and shape, without the values.</summary>
public sealed record TensorInfo
{
    /// <summary>Describes a tensor.</summary>
    public TensorInfo(string name, TensorDType dtype, TensorShape shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        DType = dtype;
        Shape = shape;
        ElementCount = shape.ElementCount;
        if (ElementCount > long.MaxValue / dtype.SizeInBytes())
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"tensor '{name}' is too large to address");
        }
    }

    /// <summary>The tensor's name, unique within a model (for PyTorch, the <c>state_dict</c> key).</summary>
    public string Name { get; }

    /// <summary>How the values are stored.</summary>
    public TensorDType DType { get; }

    /// <summary>The dimensions.</summary>
    public TensorShape Shape { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>Bytes the values take in storage.</summary>
    public long ByteLength => ElementCount * DType.SizeInBytes();
}
