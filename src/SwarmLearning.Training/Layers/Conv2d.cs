using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SwarmLearning.Tensors;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Kernels;

namespace SwarmLearning.Training.Layers;

/// <summary>
/// A 2-D convolution (PyTorch's Conv2d: cross-correlation, zero padding, <c>weight</c> out × in × kh × kw,
/// default initialisation uniform in ±1/√(in·kh·kw)).
/// </summary>
/// <remarks>
/// It runs as one matrix multiply per batch: the input is unfolded (im2col) into a matrix with one row per
/// (input channel, kernel row, kernel column) and one column per (sample, output pixel), and the weights multiply it
/// in a single large, well-blocked product. The backward pass is two more products and the inverse fold (col2im).
/// The unfolded batch is kept for the backward pass; evaluation unfolds at most <see cref="EvaluationChunk"/>
/// samples at a time, so large evaluation batches need no more memory than training.
/// </remarks>
public sealed class Conv2d : Layer
{
    private const int EvaluationChunk = 64;

    private Parameter? _weight;
    private Parameter? _bias;
    private float[]? _columns;
    private float[]? _product;
    private float[]? _output;
    private float[]? _columnGradient;
    private float[]? _inputGradient;

    /// <summary>A convolution with <paramref name="outChannels"/> filters of <paramref name="kernelSize"/>².</summary>
    public Conv2d(int outChannels, int kernelSize, int stride = 1, int padding = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
    }

    /// <summary>Number of filters (output channels).</summary>
    public int OutChannels { get; }

    /// <summary>Height and width of each filter.</summary>
    public int KernelSize { get; }

    /// <summary>Step between filter positions.</summary>
    public int Stride { get; }

    /// <summary>Zeros added on every side of the input.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _weight is null ? [] : [_weight, _bias!];

    internal override string NamePrefix => "conv";

    private int PatchSize => InputShape.Channels * KernelSize * KernelSize;

    private int OutputPixels => OutputShape.Height * OutputShape.Width;

    /// <inheritdoc/>
    public override string Describe() => $"Conv2d({InputShape.Channels} → {OutChannels}, {KernelSize}×{KernelSize}, stride {Stride}, padding {Padding})";

    private protected override SampleShape OnBuild(SampleShape input, Xoshiro256StarStar random)
    {
        var height = ((input.Height + (2 * Padding) - KernelSize) / Stride) + 1;
        var width = ((input.Width + (2 * Padding) - KernelSize) / Stride) + 1;
        if (!input.IsImage || input.Height + (2 * Padding) < KernelSize || input.Width + (2 * Padding) < KernelSize)
        {
            throw new SwarmException($"Layer {Name} (convolution, {KernelSize}×{KernelSize} kernel) needs image input at least that large but gets {input}.");
        }

        _weight = new Parameter(Name + ".weight", new TensorShape(OutChannels, input.Channels, KernelSize, KernelSize));
        _bias = new Parameter(Name + ".bias", new TensorShape(OutChannels));
        var bound = 1f / MathF.Sqrt(input.Channels * KernelSize * KernelSize);
        Initializers.Uniform(_weight.Values, bound, random);
        Initializers.Uniform(_bias.Values, bound, random);
        return new SampleShape(OutChannels, height, width);
    }

    internal override float[] Forward(float[] input, int batch, bool training)
    {
        var output = Ensure(ref _output, batch * OutputShape.FeatureCount);
        var chunk = training ? batch : Math.Min(batch, EvaluationChunk);
        for (var start = 0; start < batch; start += chunk)
        {
            ForwardChunk(input, start, Math.Min(chunk, batch - start), output);
        }

        return output;
    }

    private void ForwardChunk(float[] input, int first, int count, float[] output)
    {
        var columnCount = count * OutputPixels;
        var columns = Ensure(ref _columns, PatchSize * columnCount);
        var product = Ensure(ref _product, OutChannels * columnCount);
        Unfold(input, first, count, columns);
        Gemm.Multiply(
            Matrix.Dense(_weight!.Values, OutChannels, PatchSize), Matrix.Dense(columns, PatchSize, columnCount), Matrix.Dense(product, OutChannels, columnCount));

        // The product is channel-major over the whole chunk; the output is sample-major (NCHW). Add the bias on the way.
        var pixels = OutputPixels;
        var bias = _bias!.Values;
        Parallelism.For(0, count, b =>
        {
            for (var c = 0; c < OutChannels; c++)
            {
                TensorPrimitives.Add(
                    product.AsSpan((c * columnCount) + (b * pixels), pixels), bias[c], output.AsSpan(((first + b) * OutputShape.FeatureCount) + (c * pixels), pixels));
            }
        });
    }

    internal override float[]? Backward(float[] outputGradient, int batch, bool needInputGradient)
    {
        var pixels = OutputPixels;
        var columnCount = batch * pixels;
        var dy = Ensure(ref _product, OutChannels * columnCount);
        Parallelism.For(0, batch, b =>
        {
            for (var c = 0; c < OutChannels; c++)
            {
                outputGradient.AsSpan((b * OutputShape.FeatureCount) + (c * pixels), pixels).CopyTo(dy.AsSpan((c * columnCount) + (b * pixels), pixels));
            }
        });

        var dyMatrix = Matrix.Dense(dy, OutChannels, columnCount);
        Gemm.Multiply(dyMatrix, Matrix.Dense(_columns!, PatchSize, columnCount).T, Matrix.Dense(_weight!.Gradient, OutChannels, PatchSize));
        for (var c = 0; c < OutChannels; c++)
        {
            _bias!.Gradient[c] = TensorPrimitives.Sum(dy.AsSpan(c * columnCount, columnCount));
        }

        if (!needInputGradient)
        {
            return null;
        }

        var columnGradient = Ensure(ref _columnGradient, PatchSize * columnCount);
        Gemm.Multiply(Matrix.Dense(_weight.Values, OutChannels, PatchSize).T, dyMatrix, Matrix.Dense(columnGradient, PatchSize, columnCount));
        var inputGradient = Ensure(ref _inputGradient, batch * InputShape.FeatureCount);
        Fold(columnGradient, batch, inputGradient);
        return inputGradient;
    }

    /// <summary>im2col: row (c, ki, kj), column (b, oy, ox) holds input[first + b, c, oy·s − p + ki, ox·s − p + kj], or 0 outside.</summary>
    private void Unfold(float[] input, int first, int count, float[] columns)
    {
        var columnCount = count * OutputPixels;
        Parallelism.For(0, count, b =>
        {
            var sample = input.AsSpan((first + b) * InputShape.FeatureCount, InputShape.FeatureCount);
            for (var c = 0; c < InputShape.Channels; c++)
            {
                var plane = sample.Slice(c * InputShape.Height * InputShape.Width, InputShape.Height * InputShape.Width);
                for (var ki = 0; ki < KernelSize; ki++)
                {
                    for (var kj = 0; kj < KernelSize; kj++)
                    {
                        var row = (((c * KernelSize) + ki) * KernelSize) + kj;
                        var destination = columns.AsSpan((row * columnCount) + (b * OutputPixels), OutputPixels);
                        var (ox0, ox1, ix0) = ColumnRange(kj);
                        var inside = ox1 - ox0;
                        ref var plane0 = ref MemoryMarshal.GetReference(plane);
                        for (var oy = 0; oy < OutputShape.Height; oy++)
                        {
                            // Rows are short (a few dozen values), so this loop is all per-row overhead unless it
                            // works on references: no slices, no bounds checks, one block copy per row.
                            var line = destination.Slice(oy * OutputShape.Width, OutputShape.Width);
                            var iy = (oy * Stride) - Padding + ki;
                            if (iy < 0 || iy >= InputShape.Height)
                            {
                                line.Clear();
                                continue;
                            }

                            ref var target = ref MemoryMarshal.GetReference(line);
                            for (var ox = 0; ox < ox0; ox++)
                            {
                                Unsafe.Add(ref target, ox) = 0f;
                            }

                            for (var ox = ox1; ox < line.Length; ox++)
                            {
                                Unsafe.Add(ref target, ox) = 0f;
                            }

                            if (inside == 0)
                            {
                                continue;
                            }

                            ref var source = ref Unsafe.Add(ref plane0, (iy * InputShape.Width) + ix0);
                            if (Stride == 1)
                            {
                                Unsafe.CopyBlockUnaligned(
                                    ref Unsafe.As<float, byte>(ref Unsafe.Add(ref target, ox0)), ref Unsafe.As<float, byte>(ref source), (uint)(inside * sizeof(float)));
                            }
                            else
                            {
                                for (var i = 0; i < inside; i++)
                                {
                                    Unsafe.Add(ref target, ox0 + i) = Unsafe.Add(ref source, i * Stride);
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>col2im: adds every column entry back onto the input position it was unfolded from.</summary>
    private void Fold(float[] columnGradient, int batch, float[] inputGradient)
    {
        var columnCount = batch * OutputPixels;
        Parallelism.For(0, batch, b =>
        {
            var sample = inputGradient.AsSpan(b * InputShape.FeatureCount, InputShape.FeatureCount);
            sample.Clear();
            for (var c = 0; c < InputShape.Channels; c++)
            {
                var plane = sample.Slice(c * InputShape.Height * InputShape.Width, InputShape.Height * InputShape.Width);
                for (var ki = 0; ki < KernelSize; ki++)
                {
                    for (var kj = 0; kj < KernelSize; kj++)
                    {
                        var row = (((c * KernelSize) + ki) * KernelSize) + kj;
                        var source = columnGradient.AsSpan((row * columnCount) + (b * OutputPixels), OutputPixels);
                        var (ox0, ox1, ix0) = ColumnRange(kj);
                        for (var oy = 0; oy < OutputShape.Height; oy++)
                        {
                            var iy = (oy * Stride) - Padding + ki;
                            if (iy < 0 || iy >= InputShape.Height || ox1 == ox0)
                            {
                                continue;
                            }

                            ref var line = ref Unsafe.Add(ref MemoryMarshal.GetReference(source), (oy * OutputShape.Width) + ox0);
                            ref var target = ref Unsafe.Add(ref MemoryMarshal.GetReference(plane), (iy * InputShape.Width) + ix0);
                            AddRow(ref target, ref line, ox1 - ox0, Stride);
                        }
                    }
                }
            }
        });
    }

    /// <summary>target[i·stride] += source[i] for i in [0, n): a short row, so vectors of 8 and a scalar tail on references.</summary>
    private static void AddRow(ref float target, ref float source, int n, int stride)
    {
        var i = 0;
        if (stride == 1 && Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                (Vector256.LoadUnsafe(ref target, (nuint)i) + Vector256.LoadUnsafe(ref source, (nuint)i)).StoreUnsafe(ref target, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref target, i * stride) += Unsafe.Add(ref source, i);
        }
    }

    /// <summary>
    /// For kernel column kj: the output columns [ox0, ox1) whose input column ix = ox·s − p + kj lies inside the
    /// image, and ix0, the input column of ox0. The rest of each output row reads padding.
    /// </summary>
    private (int First, int End, int FirstInput) ColumnRange(int kj)
    {
        // ix ≥ 0 ⇔ ox ≥ ceil((p − kj) / s); ix ≤ W − 1 ⇔ ox ≤ floor((W − 1 + p − kj) / s).
        var ox0 = Math.Max(0, CeilDiv(Padding - kj, Stride));
        var ox1 = Math.Max(ox0, Math.Min(OutputShape.Width, FloorDiv(InputShape.Width - 1 + Padding - kj, Stride) + 1));
        return (ox0, ox1, (ox0 * Stride) - Padding + kj);
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
