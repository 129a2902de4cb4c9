using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Tests;

public sealed class DatasetTests
{
    [Fact]
    public void Subset_copies_the_chosen_samples_in_order()
    {
        var data = new Dataset([0, 1, 10, 11, 20, 21], [0, 1, 2], SampleShape.Tabular(2), 3, "mem");
        var subset = data.Subset([2, 0]);
        Assert.Equal([20f, 21, 0, 1], subset.Features);
        Assert.Equal([2, 0], subset.Labels);
        Assert.Equal([1, 0, 1], subset.ClassHistogram());
    }

    [Fact]
    public void A_label_outside_the_classes_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset([0, 1], [0, 3], SampleShape.Tabular(1), 3, "mem"));
        Assert.Contains("label 3", e.Message, StringComparison.Ordinal);
    }
}
