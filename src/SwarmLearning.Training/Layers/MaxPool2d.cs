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

    private protected override SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random)
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
        var channels = InputShape.Channels;
        Parallelism.For(0, batch, b =>
        {
            for (var p = b * channels; p < (b + 1) * channels; p++)
            {
                var plane = input.AsSpan(p * inH * inW, inH * inW);
                var outPlane = output.AsSpan(p * outH * outW, outH * outW);
                var argPlane = argmax.AsSpan(p * outH * outW, outH * outW);
                if (Size == 2 && Stride == 2)
                {
                    Pool2x2(plane, inW, outH, outW, p * inH * inW, outPlane, argPlane);
                }
                else
                {
                    Pool(plane, inW, outH, outW, p * inH * inW, outPlane, argPlane);
                }
            }
        });
        return output;
    }

    /// <summary>
    /// The common 2×2, stride 2 case, unrolled and branch-free: on real activations which element wins is a coin
    /// toss, and mispredicted branches (the JIT keeps ternaries as jumps) cost several times the rest of the work.
    /// Ties go to the first element in row-major order, as in the general path; MathF.Max lets a NaN through.
    /// </summary>
    private static void Pool2x2(ReadOnlySpan<float> plane, int inW, int outH, int outW, int planeOffset, Span<float> output, Span<int> argmax)
    {
        for (var oy = 0; oy < outH; oy++)
        {
            var top = plane.Slice(2 * oy * inW, 2 * outW);
            var bottom = plane.Slice(((2 * oy) + 1) * inW, 2 * outW);
            var outRow = output.Slice(oy * outW, outW);
            var argRow = argmax.Slice(oy * outW, outW);
            var topIndex = planeOffset + (2 * oy * inW);
            for (var ox = 0; ox < outRow.Length; ox++)
            {
                var x = 2 * ox;
                float a = top[x], b = top[x + 1], c = bottom[x], d = bottom[x + 1];
                var upperAt = x + Bit(b > a);
                var lowerAt = inW + x + Bit(d > c);
                var upper = MathF.Max(a, b);
                var lower = MathF.Max(c, d);
                var down = Bit(lower > upper);
                outRow[ox] = MathF.Max(upper, lower);
                argRow[ox] = topIndex + upperAt + (down * (lowerAt - upperAt));
            }
        }
    }

    /// <summary>1 for true, 0 for false, without a branch.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int Bit(bool value) => System.Runtime.CompilerServices.Unsafe.BitCast<bool, byte>(value);

    private void Pool(ReadOnlySpan<float> plane, int inW, int outH, int outW, int planeOffset, Span<float> output, Span<int> argmax)
    {
        for (var oy = 0; oy < outH; oy++)
        {
            for (var ox = 0; ox < outW; ox++)
            {
                var first = (oy * Stride * inW) + (ox * Stride);
                var best = first;
                var max = plane[first];
                for (var i = 0; i < Size; i++)
                {
                    var row = plane.Slice(first + (i * inW), Size);
                    for (var j = 0; j < Size; j++)
                    {
                        if (row[j] > max)
                        {
                            max = row[j];
                            best = first + (i * inW) + j;
                        }
                    }
                }

                output[(oy * outW) + ox] = max;
                argmax[(oy * outW) + ox] = planeOffset + best;
            }
        }
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
        var channels = InputShape.Channels;
        Parallelism.For(0, batch, b =>
        {
            // Windows of one plane only reach into that plane, so each sample's planes are one thread's alone.
            gradient.AsSpan(b * channels * inSize, channels * inSize).Clear();
            for (var i = b * channels * outSize; i < (b + 1) * channels * outSize; i++)
            {
                gradient[argmax[i]] += outputGradient[i];
            }
        });
        return gradient;
    }
}
