using System.Runtime.CompilerServices;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Storage;

/// <summary>
/// Tensor arrays handed out and taken back by a leader merging while it fetches: the arrays of a submission already
/// added to the merge hold the next submission's values, and a session keeps what its last lead gave back for its next
/// one, so a lead touches about as much memory as it has models in flight, and only the first lead touches it fresh
/// (fresh memory is slow to touch on some machines, see docs/performance.md). An SL node's exchange does the same for the
/// merged models it fetches and keeps: the arrays of one the store has let go of hold the next one's values. Only arrays
/// this instance handed out are ever taken back; any other model's arrays (one the store holds, the node's own) are left
/// alone. It remembers what it handed out weakly: an array nobody returns (a fetch that failed halfway) is collected
/// like any other.
/// </summary>
internal sealed class RecycledArrays
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private readonly ConditionalWeakTable<float[], object?> _out = [];
    private long _freeBytes;

    /// <summary>An array of exactly <paramref name="length"/> elements, recycled when one is free; its values are undefined.</summary>
    public float[] Rent(int length)
    {
        lock (_lock)
        {
            float[] array;
            if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                array = stack.Pop();
                _freeBytes -= (long)length * sizeof(float);
            }
            else
            {
                array = GC.AllocateUninitializedArray<float>(length);
                Allocated++;
            }

            _out.AddOrUpdate(array, null);
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
        foreach (var tensor in model.NamedTensors)
        {
            Return(tensor.Values);
        }
    }

    /// <summary>Takes back <paramref name="array"/> if this instance handed it out; the caller must not use it afterwards.</summary>
    public void Return(float[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        lock (_lock)
        {
            if (_out.Remove(array))
            {
                if (!_free.TryGetValue(array.Length, out var stack))
                {
                    _free[array.Length] = stack = new Stack<float[]>();
                }

                stack.Push(array);
                _freeBytes += (long)array.Length * sizeof(float);
            }
        }
    }

    /// <summary>
    /// Stops taking back the arrays handed out and not yet returned (a merge that stopped halfway leaves some in models
    /// nobody returns): they become ordinary garbage, and a late <see cref="Return(float[])"/> of one is ignored.
    /// </summary>
    public void Forget()
    {
        lock (_lock)
        {
            _out.Clear();
        }
    }

    /// <summary>Lets go of every free array (and forgets those handed out), so that the memory can be collected.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _out.Clear();
            _free.Clear();
            _freeBytes = 0;
        }
    }

    /// <summary>Lets go of free arrays until those kept for reuse take at most <paramref name="bytes"/>.</summary>
    public void TrimTo(long bytes)
    {
        lock (_lock)
        {
            foreach (var stack in _free.Values)
            {
                while (_freeBytes > bytes && stack.TryPop(out var array))
                {
                    _freeBytes -= (long)array.Length * sizeof(float);
                }
            }
        }
    }

    /// <summary>How many arrays <see cref="Rent"/> has allocated because none was free (for tests).</summary>
    internal int Allocated { get; private set; }

    /// <summary>The bytes of the arrays held for reuse.</summary>
    public long FreeBytes
    {
        get
        {
            lock (_lock)
            {
                return _freeBytes;
            }
        }
    }
}
