using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Layers;

/// <summary>
/// One step of a <see cref="Network"/>. A layer maps a batch of samples of <see cref="InputShape"/> to a batch of
/// <see cref="OutputShape"/>, all row-major (images NCHW), and back-propagates gradients through the same map.
/// Layers own their output and input-gradient buffers, which stay valid until the layer's next call.
/// </summary>
public abstract class Layer
{
    private static readonly IReadOnlyList<Parameter> NoParameters = [];

    /// <summary>The layer's name, the prefix of its parameters' names (e.g. <c>conv1</c>); empty for layers without parameters.</summary>
    public string Name { get; internal set; } = "";

    /// <summary>The shape of one input sample (known once the network is built).</summary>
    public SampleShape InputShape { get; private set; }

    /// <summary>The shape of one output sample (known once the network is built).</summary>
    public SampleShape OutputShape { get; private set; }

    /// <summary>The trainable tensors, weights before biases.</summary>
    public virtual IReadOnlyList<Parameter> Parameters => NoParameters;

    /// <summary>The prefix used to name layers of this kind (<c>fc</c>, <c>conv</c>); null when the layer has no parameters.</summary>
    internal virtual string? NamePrefix => null;

    /// <summary>A short description for summaries, e.g. <c>Dense(784 → 256)</c>.</summary>
    public abstract string Describe();

    internal void Build(SampleShape input, Xoshiro256StarStar random)
    {
        InputShape = input;
        OutputShape = OnBuild(input, random);
    }

    /// <summary>Checks the input shape, creates and initialises parameters, and returns the output shape.</summary>
    private protected abstract SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random);

    /// <summary>Computes the output of <paramref name="batch"/> samples. <paramref name="training"/> switches dropout on.</summary>
    internal abstract float[] Forward(float[] input, int batch, bool training);

    /// <summary>
    /// Given d(loss)/d(output) of the last forward batch, sets every parameter's gradient and returns d(loss)/d(input)
    /// (null when <paramref name="needInputGradient"/> is false: the first layer's input gradient is never used).
    /// </summary>
    internal abstract float[]? Backward(float[] outputGradient, int batch, bool needInputGradient);

    /// <summary>Returns <paramref name="buffer"/> if it holds <paramref name="length"/> values, else a new larger array.</summary>
    private protected static float[] Ensure(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<float>(length);
        }

        return buffer;
    }
}
