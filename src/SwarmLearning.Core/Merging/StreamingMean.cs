using SwarmLearning.Merging.Kernels;
using SwarmLearning.Tensors;

namespace SwarmLearning.Merging;

/// <summary>
/// <c>mean</c> taken one model at a time, so that a caller receiving models one after another need not hold them all:
/// the result is bit for bit what <see cref="ModelMerger.Merge"/> gives for the same models and weights in the same
/// order. It holds the reference model (the input of largest weight), the output and one group sum; each other input
/// can be let go once added.
/// </summary>
/// <remarks>
/// The merge engine evaluates a convex combination in centred form, out = x_r − Σ cᵢ (x_r − xᵢ), adding the inputs
/// four at a time in input order and the remainder one by one (<c>WeightedSum</c>). The same operations happen here in
/// the same order, element by element, with the four inputs of a group folded into a group sum one after another; so
/// the models must be added in <see cref="Order"/>, after the <see cref="Reference"/>.
/// </remarks>
public sealed class StreamingMean
{
    private readonly float[] _coefficients; // per input; 0 for an input that does not count
    private readonly KernelWidth _width;
    private readonly int _groupedCount; // how many of Order fall in full groups of four
    private TensorModel? _reference;
    private float[][]? _output;
    private float[][]? _sum;
    private int _next;

    /// <summary>A mean of inputs with these <paramref name="weights"/> (finite, non-negative, not all zero).</summary>
    /// <exception cref="MergeException">The weights cannot be merged with.</exception>
    public StreamingMean(IReadOnlyList<double> weights)
        : this(weights, KernelWidth.Auto)
    {
    }

    internal StreamingMean(IReadOnlyList<double> weights, KernelWidth width)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count == 0)
        {
            throw new MergeException("no models to merge: give at least one");
        }

        if (weights.Any(w => !double.IsFinite(w) || w < 0))
        {
            throw new MergeException("every weight must be a finite non-negative number");
        }

        // As MergePlan and ModelMerger do: the participants are the inputs of positive weight, and their coefficients
        // are their weights over the participants' total, rounded to f32.
        int[] participants = [.. Enumerable.Range(0, weights.Count).Where(i => weights[i] > 0)];
        if (participants.Length == 0)
        {
            throw new MergeException("all weights are zero: at least one model must have a positive weight");
        }

        var total = participants.Select(i => weights[i]).Sum();
        if (!double.IsFinite(total))
        {
            throw new MergeException("the weights' total overflows; use smaller weights (only their ratios matter)");
        }

        float[] coefficients = [.. participants.Select(i => (float)(weights[i] / total))];
        var reference = WeightedSum.ReferenceIndex(coefficients);
        _coefficients = new float[weights.Count];
        for (var k = 0; k < participants.Length; k++)
        {
            _coefficients[participants[k]] = coefficients[k];
        }

        _width = width;
        Reference = participants[reference];
        Order = [.. Enumerable.Range(0, participants.Length).Where(k => k != reference && coefficients[k] != 0f).Select(k => participants[k])];
        _groupedCount = Order.Count / 4 * 4;
    }

    /// <summary>
    /// Supplies the group sum's arrays (scratch the mean writes before reading, of exactly the length asked), for a caller
    /// that recycles them; null allocates fresh ones. After <see cref="Result"/> the caller may take them back from
    /// <see cref="Scratch"/>.
    /// </summary>
    public Func<int, float[]>? ScratchAllocator { get; init; }

    /// <summary>
    /// The group sum's arrays (empty when fewer than five inputs count): scratch, no part of the result; a caller that
    /// supplied them through <see cref="ScratchAllocator"/> may reuse them once <see cref="Result"/> has been taken.
    /// </summary>
    public IReadOnlyList<float[]> Scratch => _sum ?? [];

    /// <summary>The input to add first: the one of largest weight (the first one on ties).</summary>
    public int Reference { get; }

    /// <summary>The other inputs that count, in the order <see cref="Add"/> takes them; inputs of weight zero are not here.</summary>
    public IReadOnlyList<int> Order { get; }

    /// <summary>True once the reference and every input of <see cref="Order"/> have been added.</summary>
    public bool IsComplete => _reference is not null && _next == Order.Count;

    /// <summary>
    /// Adds input <paramref name="input"/>: <see cref="Reference"/> first, then <see cref="Order"/> in order. Its
    /// tensors must have the reference's names, dtypes and shapes, in the same order. The reference is kept until
    /// <see cref="Result"/>; any other model is not used after this returns.
    /// </summary>
    /// <exception cref="MergeException">The model's tensors differ from the reference's.</exception>
    /// <exception cref="InvalidOperationException">The input is not the one expected next.</exception>
    public void Add(int input, TensorModel model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_reference is null)
        {
            if (input != Reference)
            {
                throw new InvalidOperationException($"input {Reference} (the reference) must be added first, not input {input}");
            }

            _reference = model;
            _output = [.. model.NamedTensors.Select(t => t.Values.AsSpan().ToArray())];
            return;
        }

        if (_next >= Order.Count || Order[_next] != input)
        {
            throw new InvalidOperationException(_next >= Order.Count ? $"every input has been added; input {input} is not expected" : $"input {Order[_next]} comes next, not input {input}");
        }

        RequireLayout(model);
        var c = _coefficients[input];
        var position = _next;
        for (var t = 0; t < _output!.Length; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var x = model.NamedTensors[t].Values;
            var r = _reference.NamedTensors[t].Values;
            if (position < _groupedCount)
            {
                _sum ??= [.. _output.Select(o => NewScratch(o.Length))];
                WeightedSum.AccumulateGroup(x, c, r, _sum[t], start: position % 4 == 0, _width);
                if (position % 4 == 3)
                {
                    WeightedSum.SubtractSum(_sum[t], _output[t], _width);
                }
            }
            else
            {
                WeightedSum.SubtractSingle(x, c, r, _output[t], _width);
            }
        }

        _next++;
    }

    /// <summary>The merged model, once every input has been added.</summary>
    /// <exception cref="MergeException">A merged value overflows f32.</exception>
    public TensorModel Result(string name = "merged model")
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException(_reference is null ? "no input has been added" : $"{Order.Count - _next} input(s) are still to be added");
        }

        var tensors = _reference!.NamedTensors;
        for (var t = 0; t < tensors.Count; t++)
        {
            if (!FloatConversions.AllFinite(_output![t]))
            {
                var i = FloatConversions.IndexOfNonFinite(_output[t]);
                throw new MergeException($"tensor '{tensors[t].Name}': the merged value of element {i} overflows f32; the inputs hold values too large to merge");
            }
        }

        return new TensorModel(tensors.Select((t, k) => new NamedTensor(t.Info, _output![k])), name: name);
    }

    private float[] NewScratch(int length)
    {
        var array = ScratchAllocator?.Invoke(length) ?? GC.AllocateUninitializedArray<float>(length);
        return array.Length == length ? array : throw new InvalidOperationException($"the scratch allocator gave {array.Length} elements where {length} were asked");
    }

    private void RequireLayout(TensorModel model)
    {
        var expected = _reference!.NamedTensors;
        var actual = model.NamedTensors;
        if (actual.Count != expected.Count)
        {
            throw new MergeException($"{model.Name}: has {actual.Count} tensors, but {_reference.Name} has {expected.Count}; all models must have the same tensors");
        }

        for (var t = 0; t < expected.Count; t++)
        {
            if (actual[t].Info != expected[t].Info)
            {
                throw new MergeException($"{model.Name}: tensor {t} is '{actual[t].Name}' {actual[t].Info.DType.ToSafetensorsName()} {actual[t].Info.Shape}, but {_reference.Name} has '{expected[t].Name}' {expected[t].Info.DType.ToSafetensorsName()} {expected[t].Info.Shape}");
            }
        }
    }
}
