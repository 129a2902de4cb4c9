using SwarmLearning.Merging;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Merging;

/// <summary>Inputs at the edges of what f32 and the weights can hold: refused clearly or merged right, never a crash.</summary>
public sealed class ExtremeInputTests
{
    private static MergeInput Input(string name, float value, double weight) =>
        new(TestModels.FromFlat([value], TestModels.Vector(1), name), weight);

    [Fact]
    public void Weights_whose_total_overflows_are_refused()
    {
        var e = Assert.Throws<MergeException>(() => ModelMerger.Merge([Input("a", 1, 1e308), Input("b", 2, 1e308)], new MergeOptions()));
        Assert.Contains("total overflows", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1e39)]
    [InlineData(1e-39)]
    public void Huge_or_tiny_weights_keep_the_weighted_median_exact(double scale)
    {
        // Weights 1:1:1 scaled far outside f32's range still give the plain median; 2:1:1 still hits exactly half.
        var equal = ModelMerger.Merge([Input("a", 1, scale), Input("b", 2, scale), Input("c", 3, scale)], new MergeOptions { Method = MergeMethod.CoordMedian }).Model;
        Assert.Equal(2f, equal["w"].Values[0]);
        var half = ModelMerger.Merge([Input("a", 1, 2 * scale), Input("b", 2, scale), Input("c", 3, scale)], new MergeOptions { Method = MergeMethod.CoordMedian }).Model;
        Assert.Equal(1.5f, half["w"].Values[0]);
    }

    [Fact]
    public void A_heavy_weight_beyond_f32_wins_the_median()
    {
        var model = ModelMerger.Merge([Input("a", 1, 1e39), Input("b", 2, 1), Input("c", 3, 1)], new MergeOptions { Method = MergeMethod.CoordMedian }).Model;
        Assert.Equal(1f, model["w"].Values[0]);
    }

    [Fact]
    public void Trimmed_mean_overflow_is_refused_naming_the_tensor()
    {
        var e = Assert.Throws<MergeException>(() => ModelMerger.Merge(
            [Input("a", -3e38f, 1), Input("b", 3e38f, 1)],
            new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = 0 }));
        Assert.Contains("'w'", e.Message, StringComparison.Ordinal);
        Assert.Contains("overflows", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.4999999999999999, 2, 0)]
    [InlineData(0.4999999999999999, 4, 1)]
    [InlineData(0.4999999999999999, 7, 3)]
    public void Trim_count_always_leaves_a_value(double beta, int n, int expected) =>
        Assert.Equal(expected, ModelMerger.TrimCount(beta, n));

    [Fact]
    public void Trim_fraction_just_under_half_merges()
    {
        var model = ModelMerger.Merge([Input("a", 1, 1), Input("b", 3, 1)], new MergeOptions { Method = MergeMethod.TrimmedMean, TrimFraction = 0.4999999999999999 }).Model;
        Assert.Equal(2f, model["w"].Values[0]);
    }

    [Fact]
    public void A_merge_that_may_not_overwrite_keeps_an_existing_file()
    {
        using var directory = new TempDirectory();
        var path = directory.File("out.safetensors");
        File.WriteAllText(path, "precious");
        var e = Assert.Throws<SwarmException>(() =>
            ModelMerger.MergeToFile([Input("a", 1, 1), Input("b", 3, 1)], new MergeOptions(), path, overwrite: false));
        Assert.Contains("exists", e.Message, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(path));
        Assert.Equal(["out.safetensors"], directory.Entries());

        var (file, _) = ModelMerger.MergeToFile([Input("a", 1, 1), Input("b", 3, 1)], new MergeOptions(), path, overwrite: true);
        using var merged = SafetensorsFile.Open(file.Path);
        Assert.Equal(TensorDType.F32, merged.Tensors[0].DType);
    }
}
