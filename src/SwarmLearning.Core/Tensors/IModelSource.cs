namespace SwarmLearning.Tensors;

/// <summary>
/// A model whose tensors can be read by ranges, converted to f32: a safetensors file read from disk, or a model
/// held in memory. Implementations are safe to read from several threads at once.
/// </summary>
public interface IModelSource
{
    /// <summary>Where the model comes from (a file path, a node name), for error messages.</summary>
    string Name { get; }

    /// <summary>The tensors, in the model's own order.</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The index of the tensor with this name in <see cref="Tensors"/>, or -1.</summary>
    int IndexOf(string tensorName);

    /// <summary>
    /// Reads <paramref name="destination"/>.Length elements of a tensor starting at element
    /// <paramref name="elementOffset"/>, converted to f32.
    /// </summary>
    void ReadF32(int tensorIndex, long elementOffset, Span<float> destination);

    /// <summary>Gives the tensor's f32 values without copying, when the source holds them in memory.</summary>
    bool TryGetF32(int tensorIndex, out ReadOnlyMemory<float> values);
}

/// <summary>
/// Receives a model's values tensor by tensor, in the order of <see cref="Tensors"/>: a safetensors file being
/// written, or a model being built in memory.
/// </summary>
public interface IModelSink
{
    /// <summary>The tensors this sink expects, in the order their values must arrive.</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Appends the next values: they continue the current tensor and roll over into the next ones.</summary>
    void Append(ReadOnlySpan<float> values);
}

/// <summary>
/// A sink that holds its tensors in memory and lets a producer compute values in place instead of appending
/// copies: <see cref="Destination"/> gives tensor storage, <see cref="Advance"/> then counts values as appended.
/// </summary>
internal interface IInPlaceModelSink : IModelSink
{
    /// <summary>The storage of tensor <paramref name="tensorIndex"/>.</summary>
    Memory<float> Destination(int tensorIndex);

    /// <summary>Marks the next <paramref name="count"/> values as written in place.</summary>
    void Advance(long count);
}
