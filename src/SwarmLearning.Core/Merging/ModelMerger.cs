using System.Diagnostics;
using SwarmLearning.Merging.Engine;
using SwarmLearning.Merging.Kernels;
using SwarmLearning.Merging.Robust;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging;

/// <summary>
/// Merges models: <c>mean</c>, <c>coordmedian</c>, <c>geomedian</c>, <c>trimmedmean</c> and <c>krum</c>, with the
/// semantics of <c>docs/merge-methods.md</c>. Inputs are read by blocks, so memory stays bounded whatever the
/// model size and the number of inputs; work is spread over all cores.
/// </summary>
public static class ModelMerger
{
    /// <summary>Validates inputs and options and fixes the output's tensors, before any value is read.</summary>
    /// <exception cref="MergeException">The inputs cannot be merged as asked.</exception>
    public static MergePlan Plan(IReadOnlyList<MergeInput> inputs, MergeOptions options) => MergePlan.Create(inputs, options);

    /// <summary>Merges into an in-memory model.</summary>
    public static (TensorModel Model, MergeResult Result) Merge(IReadOnlyList<MergeInput> inputs, MergeOptions options, CancellationToken cancellationToken = default)
    {
        var plan = Plan(inputs, options);
        var builder = new TensorModelBuilder(plan.OutputTensors);
        var result = Execute(plan, builder, null, cancellationToken);
        return (builder.Build(name: $"{options.Method.ToName()} of {inputs.Count} models"), result);
    }

    /// <summary>
    /// Merges into a safetensors file, which appears only if the merge succeeds; with <paramref name="overwrite"/>
    /// false an existing file is never replaced.
    /// </summary>
    public static (ModelFileInfo File, MergeResult Result) MergeToFile(
        IReadOnlyList<MergeInput> inputs,
        MergeOptions options,
        string outputPath,
        IReadOnlyDictionary<string, string>? metadata = null,
        IProgress<MergeProgress>? progress = null,
        bool overwrite = true,
        CancellationToken cancellationToken = default)
    {
        var plan = Plan(inputs, options);
        using var writer = SafetensorsWriter.Create(outputPath, plan.OutputTensors, metadata);
        var result = Execute(plan, writer, progress, cancellationToken);
        return (writer.Complete(overwrite), result);
    }

    /// <summary>Runs a planned merge, appending the output to <paramref name="sink"/> tensor by tensor.</summary>
    public static MergeResult Execute(MergePlan plan, IModelSink sink, IProgress<MergeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(sink);
        var clock = Stopwatch.StartNew();
        BlockRunner Runner(BlockLayout layout) => new(plan, layout, progress, cancellationToken);
        var options = plan.Options;
        var n = plan.Sources.Length;
        var width = options.KernelWidth;
        // The order statistics run in f32; scaling by a power of two first keeps any finite total in range and
        // integer weights exact (the exact-half tie test depends on it).
        var scale = Math.ScaleB(1.0, -Math.ILogB(plan.Weights.Max()));
        var weights = plan.Weights.Select(w => (float)(w * scale)).ToArray();
        var result = new MergeResult
        {
            Method = options.Method,
            Tensors = plan.OutputTensors,
            InputCount = plan.Inputs.Count,
            Participants = plan.Participants,
            MergedElements = plan.MergedElements,
            Elapsed = TimeSpan.Zero,
        };

        switch (options.Method)
        {
            case MergeMethod.Mean:
                Combine(Runner(BlockLayout.Streaming), plan, sink, Normalize(plan.Weights), width);
                break;

            case MergeMethod.CoordMedian:
                Runner(BlockLayout.CacheResident).Produce(sink, "merge", (block, tensor, start, output) =>
                {
                    block.LoadMatrix(tensor, start, output.Length);
                    block.EnsureFinite(tensor, start);
                    OrderStatistics.Median(block.Matrix, block.Stride, n, weights, output, block.Scratch, width);
                    EnsureNoOverflow(plan, tensor, start, output);
                });
                break;

            case MergeMethod.TrimmedMean:
                // In decimal, so that β = 0.29 with n = 100 trims 29 as a user expects (0.29 × 100 is 28.999… in binary).
                var trim = TrimCount(options.TrimFraction, n);
                result = result with { TrimmedPerSide = trim };
                Runner(BlockLayout.CacheResident).Produce(sink, "merge", (block, tensor, start, output) =>
                {
                    block.LoadMatrix(tensor, start, output.Length);
                    block.EnsureFinite(tensor, start);
                    OrderStatistics.TrimmedMean(block.Matrix, block.Stride, n, weights, trim, output, block.Scratch, width);
                    EnsureNoOverflow(plan, tensor, start, output);
                });
                break;

            case MergeMethod.GeoMedian:
                var solution = Weiszfeld.Solve(SquaredDistances(Runner(BlockLayout.CacheResident)), plan.Weights, options.GeoMedianMaxIterations, options.GeoMedianTolerance);
                result = result with { GeoMedian = solution };
                Combine(Runner(BlockLayout.Streaming), plan, sink, [.. solution.Coefficients.Select(c => (float)c)], width);
                break;

            case MergeMethod.Krum:
                var f = MergePlan.ByzantineFor(options, n);
                var selection = Krum.Select(SquaredDistances(Runner(BlockLayout.CacheResident)), n, f, options.KrumSelect);
                var chosen = new double[n];
                foreach (var i in selection.Selected)
                {
                    chosen[i] = plan.Weights[i];
                }

                result = result with { Krum = selection, ByzantineCount = f };
                Combine(Runner(BlockLayout.Streaming), plan, sink, Normalize(chosen), width);
                break;

            default:
                throw new MergeException($"unknown merge method {options.Method}");
        }

        return result with { Elapsed = clock.Elapsed };
    }

    private static void Combine(BlockRunner runner, MergePlan plan, IModelSink sink, float[] coefficients, KernelWidth width)
    {
        var reference = WeightedSum.ReferenceIndex(coefficients);

        runner.Produce(sink, "merge", (block, tensor, start, output) =>
        {
            block.LoadViews(tensor, start, output.Length);
            // A NaN or infinity in any input with a non-zero coefficient makes the sum non-finite, so checking the
            // output (the kernel does, tile by tile in cache) is enough to catch bad inputs; the rare failure path
            // then finds the culprit.
            if (!WeightedSum.Combine(block.Views, coefficients, reference, output, width))
            {
                block.EnsureFinite(tensor, start);
                var i = FloatConversions.IndexOfNonFinite(output);
                throw new MergeException($"tensor '{plan.OutputTensors[tensor].Name}': the merged value of element {start + i} overflows f32; the inputs hold values too large to merge");
            }
        });
    }

    private static double[] SquaredDistances(BlockRunner runner)
    {
        var d = runner.Reduce("distances", (block, tensor, start, length, partial) =>
        {
            block.LoadViews(tensor, start, length);
            block.EnsureFinite(tensor, start);
            PairwiseDistances.Accumulate(block.Views, partial);
        });
        PairwiseDistances.Symmetrize(d, (int)Math.Sqrt(d.Length));
        return d;
    }

    /// <summary>
    /// ⌊β·n⌋ computed on the decimal value of β as the user wrote it, and never so large that no value is left
    /// (β just under 0.5 can round to 0.5 in decimal).
    /// </summary>
    internal static int TrimCount(double fraction, int n) => Math.Min((int)Math.Floor((decimal)fraction * n), (n - 1) / 2);

    /// <summary>Refuses a merged block holding a value that overflowed f32 (the inputs were checked finite).</summary>
    private static void EnsureNoOverflow(MergePlan plan, int tensor, long start, ReadOnlySpan<float> output)
    {
        if (!FloatConversions.AllFinite(output))
        {
            var i = FloatConversions.IndexOfNonFinite(output);
            throw new MergeException($"tensor '{plan.OutputTensors[tensor].Name}': the merged value of element {start + i} overflows f32; the inputs hold values too large to merge");
        }
    }

    private static float[] Normalize(double[] weights)
    {
        var total = weights.Sum();
        return [.. weights.Select(w => (float)(w / total))];
    }
}
