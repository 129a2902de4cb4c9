namespace SwarmLearning.Tensors;

/// <summary>A tensor held in memory: its description and its values in f32 (computation is always in f32).</summary>
public sealed class NamedTensor
{
    /// <summary>Wraps <paramref name="values"/> without copying; its length must equal the shape's element count.</summary>
    public NamedTensor(string name, TensorDType dtype, TensorShape shape, float[] values)
        : this(new TensorInfo(name, dtype, shape), values)
    {
    }

    /// <summary>Wraps <paramref name="values"/> without copying; its length must equal the element count.</summary>
    public NamedTensor(TensorInfo info, float[] values)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(values);
        if (values.LongLength != info.ElementCount)
        {
            throw new ArgumentException(
                $"tensor '{info.Name}' has shape {info.Shape} ({info.ElementCount} elements) but {values.LongLength} values were given",
                nameof(values));
        }

        Info = info;
        Values = values;
    }

    /// <summary>Name, dtype and shape.</summary>
    public TensorInfo Info { get; }

    /// <summary>The tensor's name.</summary>
    public string Name => Info.Name;

    /// <summary>The values, row-major, in f32.</summary>
    public float[] Values { get; }

    /// <summary>Creates a zero-filled tensor.</summary>
    public static NamedTensor Zeros(string name, TensorDType dtype, TensorShape shape) =>
        new(name, dtype, shape, new float[checked((int)shape.ElementCount)]);
}
