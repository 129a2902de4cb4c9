using System.Runtime.InteropServices;
using SwarmLearning.Merging.Kernels;

namespace SwarmLearning.Tests.Merging;

/// <summary>
/// The test script reruns the kernel tests with AVX-512 off (DOTNET_EnableAVX512F=0 and, as .NET 10 names it,
/// DOTNET_EnableAVX512=0), DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0; this checks that each setting
/// really moves the dispatch to a narrower path.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class KernelDispatchTests
{
    [Fact]
    public void Best_width_follows_the_runtime_switches()
    {
        var best = KernelWidths.Best;
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0")
        {
            Assert.Equal(KernelWidth.Scalar, best);
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0" && RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            Assert.True(best is KernelWidth.V128 or KernelWidth.Scalar, $"AVX2 is off but the kernels use {best}");
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
        {
            Assert.NotEqual(KernelWidth.V512, best);
        }
        else
        {
            Assert.NotEqual(KernelWidth.Auto, best);
            Assert.Equal(best, KernelWidths.Resolve(KernelWidth.Auto));
        }
    }
}
