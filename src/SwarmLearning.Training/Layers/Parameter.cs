using SwarmLearning.Tensors;

namespace SwarmLearning.Training.Layers;

/// <summary>
/// A trainable tensor: its name in the model file (PyTorch's convention, e.g. <c>fc1.weight</c>), shape, values and
/// the gradient of the last backward pass. Values and gradient are plain arrays the optimizers update in place.
/// </summary>
public sealed class Parameter
{
    internal Parameter(string name, TensorShape shape)
    {
        Name = name;
        Shape = shape;
        Values = new float[checked((int)shape.ElementCount)];
        Gradient = new float[Values.Length];
    }

    /// <summary>The tensor's name in the model file.</summary>
    public string Name { get; }

    /// <summary>The tensor's shape (PyTorch's layout: dense weights out × in, convolution weights out × in × kh × kw).</summary>
    public TensorShape Shape { get; }

    /// <summary>The current values.</summary>
    public float[] Values { get; }

    /// <summary>d(loss)/d(value) from the last backward pass.</summary>
    public float[] Gradient { get; }
}
