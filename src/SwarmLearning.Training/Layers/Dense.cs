using System.Numerics.Tensors;
using SwarmLearning.Tensors;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Kernels;

namespace SwarmLearning.Training.Layers;

/// <summary>
/// A fully connected layer, y = x·Wᵀ + b, with PyTorch's layout (<c>weight</c> is outputs × inputs) and PyTorch's
/// default initialisation (weight and bias uniform in ±1/√inputs), so a model moves between the two unchanged.
/// Its input must be flat: put a <see cref="Flatten"/> before it when the input is an image.
/// </summary>
public sealed class Dense : Layer
{
    private Parameter? _weight;
    private Parameter? _bias;
    private float[]? _input;
    private float[]? _output;
    private float[]? _inputGradient;

    /// <summary>A dense layer with <paramref name="outputs"/> units.</summary>
    public Dense(int outputs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputs);
        Outputs = outputs;
    }

    /// <summary>Number of output units.</summary>
    public int Outputs { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _weight is null ? [] : [_weight, _bias!];

    internal override string NamePrefix => "fc";

    /// <inheritdoc/>
    public override string Describe() => $"Dense({InputShape.FeatureCount} → {Outputs})";

    private protected override SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random)
    {
        if (input.Channels != 1 || input.Height != 1)
        {
            throw new SwarmException($"Layer {Name} (dense) needs flat input but gets {input}; add a Flatten layer before it.");
        }

        var inputs = input.Width;
        _weight = new Parameter(Name + ".weight", new TensorShape(Outputs, inputs));
        _bias = new Parameter(Name + ".bias", new TensorShape(Outputs));
        var bound = 1f / MathF.Sqrt(inputs);
        Initializers.Uniform(_weight.Values, bound, random);
        Initializers.Uniform(_bias.Values, bound, random);
        return SampleShape.Tabular(Outputs);
    }

    internal override float[] Forward(float[] input, int batch, bool training)
    {
        var inputs = InputShape.Width;
        var output = Ensure(ref _output, batch * Outputs);
        var bias = _bias!.Values;
        for (var b = 0; b < batch; b++)
        {
            bias.CopyTo(output, b * Outputs);
        }

        Gemm.Multiply(Matrix.Dense(input, batch, inputs), Matrix.Dense(_weight!.Values, Outputs, inputs).T, Matrix.Dense(output, batch, Outputs), accumulate: true);
        _input = input;
        return output;
    }

    internal override float[]? Backward(float[] outputGradient, int batch, bool needInputGradient)
    {
        var inputs = InputShape.Width;
        var dy = Matrix.Dense(outputGradient, batch, Outputs);
        Gemm.Multiply(dy.T, Matrix.Dense(_input!, batch, inputs), Matrix.Dense(_weight!.Gradient, Outputs, inputs));
        var biasGradient = _bias!.Gradient.AsSpan();
        biasGradient.Clear();
        for (var b = 0; b < batch; b++)
        {
            TensorPrimitives.Add(biasGradient, outputGradient.AsSpan(b * Outputs, Outputs), biasGradient);
        }

        if (!needInputGradient)
        {
            return null;
        }

        var inputGradient = Ensure(ref _inputGradient, batch * inputs);
        Gemm.Multiply(dy, Matrix.Dense(_weight.Values, Outputs, inputs), Matrix.Dense(inputGradient, batch, inputs));
        return inputGradient;
    }
}
