using System.Runtime.Intrinsics;
using SwarmLearning.Merging;
using SwarmLearning.Merging.Kernels;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>Whole merges at every kernel width give the same bits as the scalar width.</summary>
[Trait("Category", "Kernel")]
public sealed class KernelWidthMergeTests
{
    private static readonly IReadOnlyList<TensorInfo> Layout = [.. TestModels.Layout, new TensorInfo("long", TensorDType.F32, new TensorShape(1000))];

    public static TheoryData<MergeMethod, int> MethodsAndCounts()
    {
        var data = new TheoryData<MergeMethod, int>();
        foreach (var (method, _) in MergeMethods.All)
        {
            data.Add(method, 5);
            data.Add(method, 8);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MethodsAndCounts))]
    public void Every_kernel_width_merges_to_the_same_bits(MergeMethod method, int n)
    {
        var models = TestModels.Cluster(n, n, Layout, noise: 0.3);
        var random = new Random(n);
        foreach (var equalWeights in new[] { true, false })
        {
            var weights = equalWeights ? [.. Enumerable.Repeat(1.0, n)] : TestModels.IntegerWeights(random, n);
            var options = new MergeOptions { Method = method, KrumSelect = 2, TrimFraction = 0.2 };
            var (scalar, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), options with { KernelWidth = KernelWidth.Scalar });

            foreach (var width in new[] { KernelWidth.V128, KernelWidth.V256, KernelWidth.V512, KernelWidth.Auto })
            {
                var (merged, _) = ModelMerger.Merge(TestModels.Inputs(models, weights), options with { KernelWidth = width });

                MergeAssert.BitEqual(scalar, merged, $"{method}, n={n}, {(equalWeights ? "equal" : "integer")} weights, {width} against Scalar");
            }
        }
    }

    [Fact]
    public void Auto_resolves_to_the_widest_width_the_hardware_accelerates()
    {
        var expected = Vector512.IsHardwareAccelerated ? KernelWidth.V512
            : Vector256.IsHardwareAccelerated ? KernelWidth.V256
            : Vector128.IsHardwareAccelerated ? KernelWidth.V128
            : KernelWidth.Scalar;

        Assert.Equal(expected, KernelWidths.Resolve(KernelWidth.Auto));
        Assert.Equal(KernelWidth.V512, KernelWidths.Resolve(KernelWidth.V512));
        Assert.Equal(KernelWidth.Scalar, KernelWidths.Resolve(KernelWidth.Scalar));
    }
}
