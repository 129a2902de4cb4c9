using SwarmLearning.Node.Storage;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Storage;

/// <summary>
/// The arrays a leader receives submissions into: handed out, taken back only from whoever it handed them to, and kept
/// for the next lead.
/// </summary>
public sealed class RecycledArraysTests
{
    private static TensorModel Model(params float[][] tensors) =>
        new([.. tensors.Select((v, i) => new NamedTensor($"t{i}", TensorDType.F32, new TensorShape(v.Length), v))], name: "test");

    [Fact]
    public void Returned_arrays_are_handed_handedOutagain_for_the_same_length_and_counted_while_free()
    {
        var arrays = new RecycledArrays();
        var a = arrays.Rent(4);
        var b = arrays.Rent(8);
        Assert.Equal(2, arrays.Allocated);
        arrays.Return(Model(a, b));
        Assert.Equal((4 + 8) * sizeof(float), arrays.FreeBytes);

        Assert.Same(b, arrays.Rent(8));
        Assert.Same(a, arrays.Rent(4));
        Assert.NotSame(a, arrays.Rent(4)); // none free of that length any more: a new one
        Assert.Equal(3, arrays.Allocated);
        Assert.Equal(0, arrays.FreeBytes);
    }

    [Fact]
    public void Arrays_it_did_not_hand_handedOutor_has_forgotten_are_never_taken_back()
    {
        var arrays = new RecycledArrays();
        arrays.Return(new float[4]); // someone else's (a model the store holds, the node's own)
        Assert.Equal(0, arrays.FreeBytes);

        var stray = arrays.Rent(4); // in a model whose merge stopped: nobody returns it in time
        arrays.Forget();
        arrays.Return(stray);
        Assert.Equal(0, arrays.FreeBytes);
        Assert.NotSame(stray, arrays.Rent(4));

        var twice = arrays.Rent(2);
        arrays.Return(twice);
        arrays.Return(twice); // a second return changes nothing: it is free once
        Assert.Equal(2 * sizeof(float), arrays.FreeBytes);
        Assert.Same(twice, arrays.Rent(2));
        Assert.NotSame(twice, arrays.Rent(2));
    }

    [Fact]
    public void An_array_handed_out_and_never_returned_is_not_kept_alive_by_it()
    {
        var arrays = new RecycledArrays();
        var handedOut = RentAndForget(arrays);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(handedOut.IsAlive, "an array a failed fetch dropped must be collectable");
    }

    [Fact]
    public void TrimTo_lets_go_of_free_arrays_until_those_kept_fit_the_bytes()
    {
        var arrays = new RecycledArrays();
        var a = arrays.Rent(4);
        var b = arrays.Rent(4);
        var c = arrays.Rent(8);
        arrays.Return(Model(a, b, c));
        Assert.Equal(16 * sizeof(float), arrays.FreeBytes);

        arrays.TrimTo(16 * sizeof(float));
        Assert.Equal(16 * sizeof(float), arrays.FreeBytes);
        arrays.TrimTo(10 * sizeof(float));
        Assert.True(arrays.FreeBytes <= 10 * sizeof(float), $"{arrays.FreeBytes} bytes kept");
        arrays.TrimTo(0);
        Assert.Equal(0, arrays.FreeBytes);
        var allocated = arrays.Allocated;
        arrays.Rent(4);
        Assert.Equal(allocated + 1, arrays.Allocated);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference RentAndForget(RecycledArrays arrays) => new(arrays.Rent(1024));

    [Fact]
    public void Clear_lets_go_of_everything_it_kept()
    {
        var arrays = new RecycledArrays();
        var a = arrays.Rent(16);
        var handedOut = arrays.Rent(16);
        arrays.Return(a);
        arrays.Clear();
        Assert.Equal(0, arrays.FreeBytes);
        Assert.NotSame(a, arrays.Rent(16));
        arrays.Return(handedOut); // handed out before the clear: forgotten too
        Assert.Equal(0, arrays.FreeBytes);
    }
}
