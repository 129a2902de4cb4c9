using System.Collections.ObjectModel;

namespace SwarmLearning.Tensors;

/// <summary>
/// A model held in memory: named tensors with unique names, plus free-form string metadata (safetensors'
/// <c>__metadata__</c>). As an <see cref="IModelSource"/> it hands out its values without copying.
/// </summary>
public sealed class TensorModel : IModelSource
{
    private readonly NamedTensor[] _tensors;
    private readonly TensorInfo[] _infos;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a model; tensor names must be unique.</summary>
    public TensorModel(IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, string name = "in-memory model")
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _tensors = [.. tensors];
        _infos = [.. _tensors.Select(t => t.Info)];
        _index = new Dictionary<string, int>(_tensors.Length, StringComparer.Ordinal);
        for (var i = 0; i < _tensors.Length; i++)
        {
            if (!_index.TryAdd(_tensors[i].Name, i))
            {
                throw new ArgumentException($"{name}: tensor name '{_tensors[i].Name}' appears twice", nameof(tensors));
            }
        }

        Name = name;
        Metadata = new ReadOnlyDictionary<string, string>(
            new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal));
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Free-form metadata carried with the model.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc/>
    public IReadOnlyList<TensorInfo> Tensors => _infos;

    /// <summary>The tensors with their values.</summary>
    public IReadOnlyList<NamedTensor> NamedTensors => _tensors;

    /// <summary>The tensor with this name.</summary>
    public NamedTensor this[string tensorName] =>
        _index.TryGetValue(tensorName, out var i)
            ? _tensors[i]
            : throw new KeyNotFoundException($"{Name} has no tensor named '{tensorName}'");

    /// <summary>Total number of elements over all tensors.</summary>
    public long ParameterCount => _infos.Sum(t => t.ElementCount);

    /// <inheritdoc/>
    public int IndexOf(string tensorName) => _index.TryGetValue(tensorName, out var i) ? i : -1;

    /// <inheritdoc/>
    public void ReadF32(int tensorIndex, long elementOffset, Span<float> destination) =>
        _tensors[tensorIndex].Values.AsSpan(checked((int)elementOffset), destination.Length).CopyTo(destination);

    /// <inheritdoc/>
    public bool TryGetF32(int tensorIndex, out ReadOnlyMemory<float> values)
    {
        values = _tensors[tensorIndex].Values;
        return true;
    }
}

/// <summary>An <see cref="IModelSink"/> that collects values into a <see cref="TensorModel"/>.</summary>
public sealed class TensorModelBuilder : IInPlaceModelSink
{
    private readonly TensorInfo[] _infos;
    private readonly float[][] _values;
    private int _tensor;
    private long _filled;

    /// <summary>Prepares buffers for the given tensors.</summary>
    public TensorModelBuilder(IEnumerable<TensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _infos = [.. tensors];
        // Uninitialised: every element is written before Build() succeeds, so the GC need not zero them first.
        _values = [.. _infos.Select(t => GC.AllocateUninitializedArray<float>(checked((int)t.ElementCount)))];
        SkipEmptyTensors();
    }

    /// <inheritdoc/>
    public IReadOnlyList<TensorInfo> Tensors => _infos;

    /// <inheritdoc/>
    public void Append(ReadOnlySpan<float> values)
    {
        while (!values.IsEmpty)
        {
            if (_tensor >= _infos.Length)
            {
                throw new InvalidOperationException("more values were appended than the model's tensors hold");
            }

            var target = _values[_tensor].AsSpan(checked((int)_filled));
            var n = Math.Min(target.Length, values.Length);
            values[..n].CopyTo(target);
            values = values[n..];
            _filled += n;
            SkipEmptyTensors();
        }
    }

    /// <inheritdoc/>
    Memory<float> IInPlaceModelSink.Destination(int tensorIndex) => _values[tensorIndex];

    /// <inheritdoc/>
    void IInPlaceModelSink.Advance(long count)
    {
        while (count > 0)
        {
            if (_tensor >= _infos.Length)
            {
                throw new InvalidOperationException("more values were written than the model's tensors hold");
            }

            var n = Math.Min(count, _infos[_tensor].ElementCount - _filled);
            _filled += n;
            count -= n;
            SkipEmptyTensors();
        }
    }

    /// <summary>Returns the model once every tensor is complete.</summary>
    public TensorModel Build(IReadOnlyDictionary<string, string>? metadata = null, string name = "merged model")
    {
        if (_tensor < _infos.Length)
        {
            throw new InvalidOperationException(
                $"tensor '{_infos[_tensor].Name}' received {_filled} of {_infos[_tensor].ElementCount} values");
        }

        return new TensorModel(_infos.Select((info, i) => new NamedTensor(info, _values[i])), metadata, name);
    }

    private void SkipEmptyTensors()
    {
        while (_tensor < _infos.Length && _filled == _infos[_tensor].ElementCount)
        {
            _tensor++;
            _filled = 0;
        }
    }
}
