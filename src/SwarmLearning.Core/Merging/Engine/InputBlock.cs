using SwarmLearning.Merging.Kernels;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging.Engine;

/// <summary>
/// One worker's view of a block of coordinates across all participating models, with the worker's scratch space.
/// <see cref="LoadViews"/> hands out in-memory values without copying (files are read into the block's rows);
/// <see cref="LoadMatrix"/> always fills the contiguous row matrix the order-statistic kernels walk.
/// Allocated once per worker, reused for every block: nothing is allocated per block.
/// </summary>
internal sealed class InputBlock
{
    private readonly MergePlan _plan;
    private readonly int _rows;
    private float[]? _matrix;
    private readonly ReadOnlyMemory<float>[] _views;
    private readonly float[] _scratch;

    public InputBlock(MergePlan plan, int blockElements)
    {
        _plan = plan;
        var n = plan.Sources.Length;
        Stride = blockElements;
        _rows = n;
        _views = new ReadOnlyMemory<float>[n];
        _scratch = new float[OrderStatistics.ScratchLength(n)];
    }

    /// <summary>Distance between consecutive rows of <see cref="Matrix"/>.</summary>
    public int Stride { get; }

    /// <summary>Row i holds the block of participant i after <see cref="LoadMatrix"/>.</summary>
    public ReadOnlySpan<float> Matrix => RowStorage;

    /// <summary>Participant i's values after <see cref="LoadViews"/> or <see cref="LoadMatrix"/>.</summary>
    public ReadOnlySpan<ReadOnlyMemory<float>> Views => _views;

    /// <summary>
    /// The rows, allocated on first use: a merge whose inputs are all in memory and whose kernel reads them in place
    /// never needs them.
    /// </summary>
    private float[] RowStorage => _matrix ??= GC.AllocateUninitializedArray<float>(_rows * Stride);

    /// <summary>Kernel scratch space.</summary>
    public Span<float> Scratch => _scratch;

    public void LoadViews(int tensor, long start, int length)
    {
        for (var p = 0; p < _views.Length; p++)
        {
            var source = _plan.Sources[p];
            var index = _plan.SourceTensor(tensor, p);
            if (source.TryGetF32(index, out var values))
            {
                _views[p] = values.Slice((int)start, length);
            }
            else
            {
                var row = RowStorage.AsMemory(p * Stride, length);
                source.ReadF32(index, start, row.Span);
                _views[p] = row;
            }
        }
    }

    public void LoadMatrix(int tensor, long start, int length)
    {
        for (var p = 0; p < _views.Length; p++)
        {
            var source = _plan.Sources[p];
            var index = _plan.SourceTensor(tensor, p);
            var row = RowStorage.AsMemory(p * Stride, length);
            if (source.TryGetF32(index, out var values))
            {
                values.Span.Slice((int)start, length).CopyTo(row.Span);
            }
            else
            {
                source.ReadF32(index, start, row.Span);
            }

            _views[p] = row;
        }
    }

    /// <summary>Refuses a block in which any participant holds a NaN or infinity, naming the model and element.</summary>
    public void EnsureFinite(int tensor, long start)
    {
        for (var p = 0; p < _views.Length; p++)
        {
            var row = _views[p].Span;
            if (!FloatConversions.AllFinite(row))
            {
                var i = FloatConversions.IndexOfNonFinite(row);
                throw new MergeException(
                    $"{_plan.Sources[p].Name}: tensor '{_plan.OutputTensors[tensor].Name}': element {start + i} is {FloatConversions.DescribeNonFinite(row[i])}; models must hold finite values");
            }
        }
    }
}
