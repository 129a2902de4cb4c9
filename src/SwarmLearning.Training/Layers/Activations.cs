using System.Numerics;
using System.Numerics.Tensors;
using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Layers;

/// <summary>y = max(x, 0), element-wise.</summary>
public sealed class ReLU : Layer
{
    private float[]? _output;
    private float[]? _inputGradient;

    /// <inheritdoc/>
    public override string Describe() => "ReLU";

    private protected override SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random) => input;

    internal override float[] Forward(float[] input, int batch, bool training)
    {
        var n = batch * InputShape.FeatureCount;
        var output = Ensure(ref _output, n);
        TensorPrimitives.Max(input.AsSpan(0, n), 0f, output.AsSpan(0, n));
        return output;
    }

    internal override float[]? Backward(float[] outputGradient, int batch, bool needInputGradient)
    {
        if (!needInputGradient)
        {
            return null;
        }

        var n = batch * InputShape.FeatureCount;
        var gradient = Ensure(ref _inputGradient, n);
        ReadOnlySpan<float> y = _output.AsSpan(0, n), dy = outputGradient.AsSpan(0, n);
        var dx = gradient.AsSpan(0, n);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                var positive = Vector.GreaterThan(new Vector<float>(y[i..]), Vector<float>.Zero);
                Vector.ConditionalSelect(positive, new Vector<float>(dy[i..]), Vector<float>.Zero).CopyTo(dx[i..]);
            }
        }

        for (; i < n; i++)
        {
            dx[i] = y[i] > 0f ? dy[i] : 0f;
        }

        return gradient;
    }
}

/// <summary>
/// Inverted dropout: while training, each value is zeroed with probability <see cref="Rate"/> and the rest scaled
/// by 1 / (1 − rate); at evaluation the layer passes its input through. Masks come from the network's seed.
/// </summary>
public sealed class Dropout : Layer
{
    private Xoshiro256StarStar? _random;
    private float[]? _mask;
    private float[]? _output;
    private float[]? _inputGradient;

    /// <summary>A dropout layer that drops a fraction <paramref name="rate"/> in [0, 1) of its inputs.</summary>
    public Dropout(float rate)
    {
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must be in [0, 1).");
        }

        Rate = rate;
    }

    /// <summary>The fraction of inputs dropped while training.</summary>
    public float Rate { get; }

    /// <inheritdoc/>
    public override string Describe() => FormattableString.Invariant($"Dropout({Rate:0.##})");

    private protected override SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random)
    {
        _random = new Xoshiro256StarStar(random.NextUInt64());
        return input;
    }

    internal override float[] Forward(float[] input, int batch, bool training)
    {
        if (!training || Rate == 0f)
        {
            _mask = null;
            return input;
        }

        var n = batch * InputShape.FeatureCount;
        var mask = Ensure(ref _mask, n);
        var scale = 1f / (1f - Rate);
        var random = _random!;
        for (var i = 0; i < n; i++)
        {
            // Branch-free: a ternary here is a jump the CPU mispredicts at the dropout rate.
            mask[i] = scale * System.Runtime.CompilerServices.Unsafe.BitCast<bool, byte>(random.NextSingle() >= Rate);
        }

        var output = Ensure(ref _output, n);
        TensorPrimitives.Multiply(input.AsSpan(0, n), mask.AsSpan(0, n), output.AsSpan(0, n));
        return output;
    }

    internal override float[]? Backward(float[] outputGradient, int batch, bool needInputGradient)
    {
        if (!needInputGradient || _mask is null)
        {
            return needInputGradient ? outputGradient : null;
        }

        var n = batch * InputShape.FeatureCount;
        var gradient = Ensure(ref _inputGradient, n);
        TensorPrimitives.Multiply(outputGradient.AsSpan(0, n), _mask.AsSpan(0, n), gradient.AsSpan(0, n));
        return gradient;
    }
}

/// <summary>Views each sample as one flat vector (C × H × W → C·H·W); the values do not move.</summary>
public sealed class Flatten : Layer
{
    /// <inheritdoc/>
    public override string Describe() => "Flatten";

    private protected override SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random) => SampleShape.Tabular(input.FeatureCount);

    internal override float[] Forward(float[] input, int batch, bool training) => input;

    internal override float[]? Backward(float[] outputGradient, int batch, bool needInputGradient) => needInputGradient ? outputGradient : null;
}
