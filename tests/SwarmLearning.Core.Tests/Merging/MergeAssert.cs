using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>Comparisons that say which element differs and by how much.</summary>
internal static class MergeAssert
{
    /// <summary>
    /// Every element within <paramref name="tolerance"/> × max(1, |expected|): relative for large values, absolute
    /// near zero.
    /// </summary>
    public static void Close(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var j = 0; j < expected.Count; j++)
        {
            var error = Math.Abs(actual[j] - expected[j]);
            if (!(error <= tolerance * Math.Max(1, Math.Abs(expected[j]))))
            {
                Assert.Fail($"{what}: element {j} is {actual[j]:R}, expected {expected[j]:R} (error {error:E2}, tolerance {tolerance:E1} relative/absolute)");
            }
        }
    }

    /// <summary>The same bits in every element (so −0 differs from +0, and NaN payloads count).</summary>
    public static void BitEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var j = 0; j < expected.Length; j++)
        {
            if (BitConverter.SingleToInt32Bits(expected[j]) != BitConverter.SingleToInt32Bits(actual[j]))
            {
                Assert.Fail($"{what}: element {j} is {actual[j]:R} (0x{BitConverter.SingleToInt32Bits(actual[j]):X8}), expected {expected[j]:R} (0x{BitConverter.SingleToInt32Bits(expected[j]):X8})");
            }
        }
    }

    /// <summary>Same tensor names, dtypes and shapes in the same order, and the same bits in every value.</summary>
    public static void BitEqual(TensorModel expected, TensorModel actual, string what)
    {
        Assert.Equal(expected.Tensors, actual.Tensors);
        for (var t = 0; t < expected.NamedTensors.Count; t++)
        {
            BitEqual(expected.NamedTensors[t].Values, actual.NamedTensors[t].Values, $"{what}, tensor '{expected.NamedTensors[t].Name}'");
        }
    }
}
