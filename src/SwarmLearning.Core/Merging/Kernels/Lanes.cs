using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SwarmLearning.Merging.Kernels;

/// <summary>
/// The handful of lane-wise operations the merge kernels need, over one vector width. Each kernel is written once
/// as a generic method over <c>TLanes</c>; the JIT specialises it per width (struct type arguments), so the calls
/// inline to single instructions. <see cref="ScalarLanes"/> is the one-lane case: it handles the tail of every
/// span with exactly the same arithmetic, so all widths give bit-identical results.
/// Masks are vectors whose lanes are all-ones (true) or all-zeros (false).
/// </summary>
internal interface ILanes<TVec>
    where TVec : unmanaged
{
    static abstract int Count { get; }

    static abstract TVec Zero { get; }

    static abstract TVec Load(ref readonly float source, nuint offset);

    static abstract void Store(TVec value, ref float destination, nuint offset);

    static abstract TVec Broadcast(float value);

    static abstract TVec Add(TVec a, TVec b);

    static abstract TVec Subtract(TVec a, TVec b);

    static abstract TVec Multiply(TVec a, TVec b);

    /// <summary>a × b + c with two roundings (no fused multiply-add), so every width rounds alike.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    /// <summary>
    /// a × b + c, fused (one rounding) where the hardware has FMA and with two roundings otherwise: for kernels that
    /// want speed over bit-identical results across widths (the training GEMM). Emulating a fused operation in
    /// software would cost more than the whole kernel.
    /// </summary>
    static abstract TVec FastMultiplyAdd(TVec a, TVec b, TVec c);

    static abstract TVec Divide(TVec a, TVec b);

    static abstract TVec Min(TVec a, TVec b);

    static abstract TVec Max(TVec a, TVec b);

    static abstract TVec GreaterThan(TVec a, TVec b);

    static abstract TVec Equal(TVec a, TVec b);

    static abstract TVec Select(TVec mask, TVec ifTrue, TVec ifFalse);

    static abstract TVec AllBitsSet { get; }

    static abstract TVec And(TVec a, TVec b);

    static abstract TVec Or(TVec a, TVec b);

    /// <summary>a AND NOT b.</summary>
    static abstract TVec AndNot(TVec a, TVec b);
}

internal readonly struct Lanes512 : ILanes<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref readonly float source, nuint offset) => Vector512.LoadUnsafe(in source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => (a * b) + c;

    // AVX-512F carries its own fused multiply-add, so no separate FMA check is needed at this width.
    public static Vector512<float> FastMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(Vector512.LessThan(a, b), a, b);

    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(Vector512.GreaterThan(a, b), a, b);

    public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);

    public static Vector512<float> Equal(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);

    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> ifTrue, Vector512<float> ifFalse) => Vector512.ConditionalSelect(mask, ifTrue, ifFalse);

    public static Vector512<float> AllBitsSet => Vector512<float>.AllBitsSet;

    public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;

    public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;

    public static Vector512<float> AndNot(Vector512<float> a, Vector512<float> b) => Vector512.AndNot(a, b);
}

internal readonly struct Lanes256 : ILanes<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref readonly float source, nuint offset) => Vector256.LoadUnsafe(in source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => (a * b) + c;

    public static Vector256<float> FastMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? Vector256.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b), a, b);

    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), a, b);

    public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);

    public static Vector256<float> Equal(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);

    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> ifTrue, Vector256<float> ifFalse) => Vector256.ConditionalSelect(mask, ifTrue, ifFalse);

    public static Vector256<float> AllBitsSet => Vector256<float>.AllBitsSet;

    public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;

    public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;

    public static Vector256<float> AndNot(Vector256<float> a, Vector256<float> b) => Vector256.AndNot(a, b);
}

internal readonly struct Lanes128 : ILanes<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref readonly float source, nuint offset) => Vector128.LoadUnsafe(in source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);

    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => (a * b) + c;

    public static Vector128<float> FastMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(Vector128.LessThan(a, b), a, b);

    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(Vector128.GreaterThan(a, b), a, b);

    public static Vector128<float> GreaterThan(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);

    public static Vector128<float> Equal(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);

    public static Vector128<float> Select(Vector128<float> mask, Vector128<float> ifTrue, Vector128<float> ifFalse) => Vector128.ConditionalSelect(mask, ifTrue, ifFalse);

    public static Vector128<float> AllBitsSet => Vector128<float>.AllBitsSet;

    public static Vector128<float> And(Vector128<float> a, Vector128<float> b) => a & b;

    public static Vector128<float> Or(Vector128<float> a, Vector128<float> b) => a | b;

    public static Vector128<float> AndNot(Vector128<float> a, Vector128<float> b) => Vector128.AndNot(a, b);
}

/// <summary>One lane: the scalar reference and the tail handler of every kernel.</summary>
internal readonly struct ScalarLanes : ILanes<float>
{
    private static readonly float True = BitConverter.Int32BitsToSingle(-1);

    public static int Count => 1;

    public static float Zero => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref readonly float source, nuint offset) => Unsafe.Add(ref Unsafe.AsRef(in source), offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, ref float destination, nuint offset) => Unsafe.Add(ref destination, offset) = value;

    public static float Broadcast(float value) => value;

    public static float Add(float a, float b) => a + b;

    public static float Subtract(float a, float b) => a - b;

    public static float Multiply(float a, float b) => a * b;

    public static float MultiplyAdd(float a, float b, float c) => (a * b) + c;

    public static float FastMultiplyAdd(float a, float b, float c) => (a * b) + c;

    public static float Divide(float a, float b) => a / b;

    public static float Min(float a, float b) => a < b ? a : b;

    public static float Max(float a, float b) => a > b ? a : b;

    public static float GreaterThan(float a, float b) => a > b ? True : 0f;

    public static float Equal(float a, float b) => a == b ? True : 0f;

    public static float Select(float mask, float ifTrue, float ifFalse) => BitConverter.SingleToInt32Bits(mask) != 0 ? ifTrue : ifFalse;

    public static float AllBitsSet => True;

    public static float And(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & BitConverter.SingleToInt32Bits(b));

    public static float Or(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) | BitConverter.SingleToInt32Bits(b));

    public static float AndNot(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & ~BitConverter.SingleToInt32Bits(b));
}

/// <summary>Which vector width a kernel runs at. <see cref="Auto"/> picks the widest the hardware accelerates.</summary>
internal enum KernelWidth
{
    Auto,
    Scalar,
    V128,
    V256,
    V512,
}

internal static class KernelWidths
{
    /// <summary>The widest width the hardware (and the DOTNET_Enable* settings) accelerates.</summary>
    public static KernelWidth Best =>
        Vector512.IsHardwareAccelerated ? KernelWidth.V512
        : Vector256.IsHardwareAccelerated ? KernelWidth.V256
        : Vector128.IsHardwareAccelerated ? KernelWidth.V128
        : KernelWidth.Scalar;

    public static KernelWidth Resolve(KernelWidth width) => width == KernelWidth.Auto ? Best : width;
}
