using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Storage;

/// <summary>
/// Tensor arrays handed out and taken back within one task (a leader merging while it fetches): the arrays of a
/// submission already added to the merge hold the next submission's values, so a round touches about as much memory as
/// it has models in flight instead of one fresh array per submission (fresh memory is slow to touch on some machines,
/// see docs/performance.md). Only arrays this instance handed out are ever taken back; any other model's arrays
/// (one the store holds, the node's own) are left alone.
/// </summary>
internal sealed class RecycledArrays
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private readonly HashSet<float[]> _out = new(ReferenceEqualityComparer.Instance);

    /// <summary>An array of exactly <paramref name="length"/> elements, recycled when one is free; its values are undefined.</summary>
    public float[] Rent(int length)
    {
        lock (_lock)
        {
            var array = _free.TryGetValue(length, out var stack) && stack.Count > 0 ? stack.Pop() : GC.AllocateUninitializedArray<float>(length);
            _out.Add(array);
            return array;
        }
    }

    /// <summary>
    /// Takes back the arrays of <paramref name="model"/> that this instance handed out. The caller must not use the
    /// model afterwards.
    /// </summary>
    public void Return(TensorModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (_lock)
        {
            foreach (var tensor in model.NamedTensors)
            {
                if (_out.Remove(tensor.Values))
                {
                    if (!_free.TryGetValue(tensor.Values.Length, out var stack))
                    {
                        _free[tensor.Values.Length] = stack = new Stack<float[]>();
                    }

                    stack.Push(tensor.Values);
                }
            }
        }
    }
}
