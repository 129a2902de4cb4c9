using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Numerics.Tensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging.Engine;

/// <summary>Computes one block of output: values of tensor <c>tensor</c> from element <c>start</c> on.</summary>
internal delegate void BlockKernel(InputBlock block, int tensor, long start, Span<float> output);

/// <summary>Adds one block's contribution to <c>partial</c>, the block's own n×n accumulator (zeroed).</summary>
internal delegate void BlockReduction(InputBlock block, int tensor, long start, int length, Span<double> partial);

/// <summary>How large the blocks a core works on are.</summary>
internal enum BlockLayout
{
    /// <summary>
    /// One block of every input (n rows) fits in about 256 KiB, a core's L2 cache: for kernels that visit the rows
    /// many times (sorting networks, pairwise distances).
    /// </summary>
    CacheResident,

    /// <summary>
    /// Large blocks (up to 64 Ki elements, at most 16 MiB of rows per core for file inputs) for kernels that stream
    /// each input once and tile internally; fewer, larger blocks mean less scheduling per byte.
    /// </summary>
    Streaming,
}

/// <summary>
/// Drives a merge pass over the merged tensors: the data are cut into windows (the unit written to the sink, in
/// order) and each window into blocks that the cores process in parallel, each core with its own
/// <see cref="InputBlock"/>. Memory is one window of output plus, per core, one block of every input.
/// </summary>
internal sealed class BlockRunner
{
    private readonly MergePlan _plan;
    private readonly IProgress<MergeProgress>? _progress;
    private readonly ParallelOptions _parallel;
    private readonly ConcurrentBag<InputBlock> _idle = [];
    private readonly int _blockElements;

    /// <summary>Elements per parallel batch when the output is written in place (16 Mi: ~64 MiB of f32 output).</summary>
    private const int InPlaceBatchElements = 1 << 24;

    public BlockRunner(MergePlan plan, BlockLayout layout, IProgress<MergeProgress>? progress, CancellationToken cancellationToken)
    {
        _plan = plan;
        _progress = progress;
        _parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = plan.Options.MaxDegreeOfParallelism,
            CancellationToken = cancellationToken,
        };

        var n = plan.Sources.Length;
        _blockElements = layout == BlockLayout.CacheResident
            ? Math.Clamp(65536 / n / 64 * 64, 1024, 16384)
            : Math.Clamp((1 << 22) / n / 64 * 64, 2048, 65536);
    }

    /// <summary>
    /// Runs <paramref name="kernel"/> over every merged tensor and writes the model to the sink in order. A sink that
    /// holds its tensors in memory is written in place; any other receives each window once it is complete.
    /// </summary>
    public void Produce(IModelSink sink, string phase, BlockKernel kernel)
    {
        var inPlace = sink as IInPlaceModelSink;
        var largest = _plan.OutputTensors.Select(t => t.ElementCount).DefaultIfEmpty(0).Max();
        var window = inPlace is null ? new float[(int)Math.Min(_plan.Options.WindowElements, Math.Max(1, largest))] : [];
        // In place there is no window buffer to bound, so hand the cores bigger batches: fewer barriers per merge.
        var windowElements = inPlace is null ? window.Length : Math.Max(_plan.Options.WindowElements, InPlaceBatchElements);
        var first = _plan.Inputs[0].Model;
        long done = 0;
        for (var t = 0; t < _plan.OutputTensors.Count; t++)
        {
            var count = _plan.OutputTensors[t].ElementCount;
            var destination = inPlace?.Destination(t);
            for (long offset = 0; offset < count; offset += windowElements)
            {
                _parallel.CancellationToken.ThrowIfCancellationRequested();
                var length = (int)Math.Min(windowElements, count - offset);
                var output = destination is { } d ? d.Slice((int)offset, length) : window.AsMemory(0, length);
                if (_plan.Frozen[t])
                {
                    first.ReadF32(_plan.TensorIndex[t][0], offset, output.Span);
                }
                else
                {
                    var tensor = t;
                    var windowStart = offset;
                    ForEachBlock(length, (block, blockOffset, blockLength) =>
                        kernel(block, tensor, windowStart + blockOffset, output.Span.Slice(blockOffset, blockLength)));
                    done += length;
                    _progress?.Report(new MergeProgress(phase, done, _plan.MergedElements));
                }

                if (inPlace is null)
                {
                    sink.Append(output.Span);
                }
                else
                {
                    inPlace.Advance(length);
                }
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="reduction"/> over every merged tensor and returns the n×n sum of its contributions.
    /// Each block accumulates into its own partial and the partials are added in block order, so the sum does not
    /// depend on which core ran which block: the same inputs and options give the same bits on every run and with
    /// any number of threads, and anyone can recompute a merge and check its hash.
    /// </summary>
    public double[] Reduce(string phase, BlockReduction reduction)
    {
        var n = _plan.Sources.Length;
        var cells = n * n;
        var windowElements = _plan.Options.WindowElements;
        var partials = new double[(windowElements + _blockElements - 1) / _blockElements * cells];
        var sum = new double[cells];
        long done = 0;
        for (var t = 0; t < _plan.OutputTensors.Count; t++)
        {
            if (_plan.Frozen[t])
            {
                continue;
            }

            var count = _plan.OutputTensors[t].ElementCount;
            for (long offset = 0; offset < count; offset += windowElements)
            {
                _parallel.CancellationToken.ThrowIfCancellationRequested();
                var length = (int)Math.Min(windowElements, count - offset);
                var blocks = (length + _blockElements - 1) / _blockElements;
                Array.Clear(partials, 0, blocks * cells);
                var tensor = t;
                var windowStart = offset;
                ForEachBlock(length, (block, blockOffset, blockLength) =>
                    reduction(block, tensor, windowStart + blockOffset, blockLength, partials.AsSpan(blockOffset / _blockElements * cells, cells)));
                for (var b = 0; b < blocks; b++)
                {
                    TensorPrimitives.Add(sum, partials.AsSpan(b * cells, cells), sum);
                }

                done += length;
                _progress?.Report(new MergeProgress(phase, done, _plan.MergedElements));
            }
        }

        return sum;
    }

    private void ForEachBlock(int length, Action<InputBlock, int, int> body)
    {
        var blocks = (length + _blockElements - 1) / _blockElements;
        try
        {
            Parallel.For(
                0,
                blocks,
                _parallel,
                Rent,
                (b, _, block) =>
                {
                    var offset = b * _blockElements;
                    body(block, offset, Math.Min(_blockElements, length - offset));
                    return block;
                },
                _idle.Add);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1 && e.InnerExceptions[0] is SwarmException or OperationCanceledException)
        {
            // Report the first user-facing error as it was thrown, not wrapped.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    private InputBlock Rent()
    {
        return _idle.TryTake(out var block) ? block : new InputBlock(_plan, _blockElements);
    }
}
