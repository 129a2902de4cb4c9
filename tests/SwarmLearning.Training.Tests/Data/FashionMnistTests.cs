using System.Numerics.Tensors;
using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Tests;

/// <summary>The real dataset, as the Debian package dataset-fashion-mnist installs it (scripts/setup.sh does).</summary>
public sealed class FashionMnistTests
{
    [Fact]
    public void The_Debian_Fashion_MNIST_loads_whole_and_balanced()
    {
        Assert.True(Directory.Exists(FashionMnist.DebianDirectory), $"{FashionMnist.DebianDirectory} is missing: run scripts/setup.sh (it installs {FashionMnist.DebianPackage})");
        var data = DataDirectory.Load(FashionMnist.Alias);

        Assert.Equal(60_000, data.Train.Count);
        Assert.Equal(10_000, data.Test.Count);
        Assert.Equal(new SampleShape(1, 28, 28), data.Train.Shape);
        Assert.Equal(10, data.Train.ClassCount);
        Assert.Equal("Ankle boot", data.Test.ClassNames[9]);
        Assert.All(data.Train.ClassHistogram(), n => Assert.Equal(6000, n));
        Assert.All(data.Test.ClassHistogram(), n => Assert.Equal(1000, n));
        foreach (var set in new[] { data.Train, data.Test })
        {
            Assert.Equal(0f, TensorPrimitives.Min<float>(set.Features));
            Assert.Equal(1f, TensorPrimitives.Max<float>(set.Features));
        }
    }
}
