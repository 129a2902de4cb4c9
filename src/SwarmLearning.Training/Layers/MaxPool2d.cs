using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Layers;

/// <summary>
/// Max pooling over <see cref="Size"/> × <see cref="Size"/> windows moved by <see cref="Stride"/> (PyTorch's
/// MaxPool2d, floor mode, no padding). The gradient flows to the first maximum of each window.
/// </summary>
public sealed class MaxPool2d : Layer
{
    private float[]? _output;
    private int[]? _argmax;
    private float[]? _inputGradient;

    /// <summary>Max pooling with a square window; the stride defaults to the window size.</summary>
    public MaxPool2d(int size, int? stride = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Size = size;
        Stride = stride ?? size;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Stride, nameof(stride));
    }

    /// <summary>The window's height and width.</summary>
    public int Size { get; }

    /// <summary>Step between windows.</summary>
    public int Stride { get; }

    /// <inheritdoc/>
    public override string Describe() => $"MaxPool2d({Size}×{Size}, stride {Stride})";

    private protected override SampleShape OnBuild(SampleShape input, Prng random)
    {
        if (!input.IsImage || input.Height < Size || input.Width < Size)
        {
            throw new SwarmException($"Max pooling with a {Size}×{Size} window needs image input at least that large but gets {input}.");
        }

        return new SampleShape(input.Channels, ((input.Height - Size) / Stride) + 1, ((input.Width - Size) / Stride) + 1);
    }

    internal override float[] Forward(float[] input, int batch, bool training)
    {
        var planes = batch * InputShape.Channels;
        var (inH, inW, outH, outW) = (InputShape.Height, InputShape.Width, OutputShape.Height, OutputShape.Width);
        var output = Ensure(ref _output, planes * outH * outW);
        if (_argmax is null || _argmax.Length < planes * outH * outW)
        {
            _argmax = new int[planes * outH * outW];
        }

        var argmax = _argmax;
        Parallel.For(0, planes, p =>
        {
            var inBase = p * inH * inW;
            var outBase = p * outH * outW;
            for (var oy = 0; oy < outH; oy++)
            {
                for (var ox = 0; ox < outW; ox++)
                {
                    var first = inBase + (oy * Stride * inW) + (ox * Stride);
                    var best = first;
                    var max = input[first];
                    for (var i = 0; i < Size; i++)
                    {
                        for (var j = 0; j < Size; j++)
                        {
                            var at = first + (i * inW) + j;
                            if (input[at] > max || float.IsNaN(input[at]))
                            {
                                max = input[at];
                                best = at;
                            }
                        }
                    }

                    output[outBase + (oy * outW) + ox] = max;
                    argmax[outBase + (oy * outW) + ox] = best;
                }
            }
        });
        return output;
    }

    internal override float[]? Backward(float[] outputGradient, int batch, bool needInputGradient)
    {
        if (!needInputGradient)
        {
            return null;
        }

        var planes = batch * InputShape.Channels;
        var inSize = InputShape.Height * InputShape.Width;
        var outSize = OutputShape.Height * OutputShape.Width;
        var gradient = Ensure(ref _inputGradient, planes * inSize);
        var argmax = _argmax!;
        Parallel.For(0, planes, p =>
        {
            gradient.AsSpan(p * inSize, inSize).Clear();
            for (var i = p * outSize; i < (p + 1) * outSize; i++)
            {
                gradient[argmax[i]] += outputGradient[i];
            }
        });
        return gradient;
    }
}
