using SwarmLearning.Training.Data;
using SwarmLearning.Training.Data.Idx;

namespace SwarmLearning.Training.Tests;

public sealed class IdxDatasetTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Images_become_samples_scaled_to_unit_range_with_their_labels(bool gzip)
    {
        var dir = _temp.File("images");
        SyntheticData.WriteIdx(dir, train: 20, test: 6, classes: 4, height: 4, width: 3, gzip);
        var data = IdxDataset.Load(dir);

        Assert.Equal(20, data.Train.Count);
        Assert.Equal(6, data.Test.Count);
        Assert.Equal(new SampleShape(1, 4, 3), data.Train.Shape);
        Assert.Equal(4, data.Train.ClassCount);
        Assert.Equal(["0", "1", "2", "3"], data.Train.ClassNames);
        var source = SyntheticData.Images(20, 4, 4, 3, salt: 0);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(SyntheticData.Label(i, 4, 0), data.Train.Labels[i]);
            Assert.Equal(source.Record(i).ToArray().Select(b => b / 255f), data.Train.Sample(i).ToArray());
        }

        Assert.Equal(SyntheticData.Label(5, 4, 1), data.Test.Labels[5]);
    }

    [Fact]
    public void Image_and_label_counts_must_agree()
    {
        var dir = _temp.File("mismatch");
        SyntheticData.WriteIdx(dir, train: 10, test: 4, classes: 3);
        var labels = Path.Combine(dir, IdxDataset.TrainLabelsFile + ".gz");
        IdxWriter.Write(labels, SyntheticData.Labels(9, 3, 0));

        var e = Assert.Throws<DataFormatException>(() => IdxDataset.Load(dir));
        Assert.Contains(labels, e.Message, StringComparison.Ordinal);
        Assert.Contains("holds 9 labels", e.Message, StringComparison.Ordinal);
        Assert.Contains("10 samples", e.Message, StringComparison.Ordinal);
        Assert.Contains(IdxDataset.TrainImagesFile, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_label_file_of_images_is_refused()
    {
        var dir = _temp.File("labels-as-images");
        SyntheticData.WriteIdx(dir, train: 10, test: 4, classes: 3);
        IdxWriter.Write(Path.Combine(dir, IdxDataset.TestLabelsFile + ".gz"), SyntheticData.Images(4, 3, 2, 2, salt: 1));
        var e = Assert.Throws<DataFormatException>(() => IdxDataset.Load(dir));
        Assert.Contains("a label file holds one dimension of integers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_images_of_another_shape_are_refused()
    {
        var dir = _temp.File("shapes");
        SyntheticData.WriteIdx(dir, train: 10, test: 4, classes: 3, height: 4, width: 3);
        IdxWriter.Write(Path.Combine(dir, IdxDataset.TestImagesFile + ".gz"), SyntheticData.Images(4, 3, 5, 3, salt: 1));
        var e = Assert.Throws<DataFormatException>(() => IdxDataset.Load(dir));
        Assert.Contains("1×5×3", e.Message, StringComparison.Ordinal);
        Assert.Contains("1×4×3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named_with_the_expected_files()
    {
        var dir = _temp.File("partial");
        SyntheticData.WriteIdx(dir, train: 10, test: 4, classes: 3);
        File.Delete(Path.Combine(dir, IdxDataset.TestLabelsFile + ".gz"));
        var e = Assert.Throws<DataFormatException>(() => IdxDataset.Load(dir));
        Assert.Contains($"missing {IdxDataset.TestLabelsFile}[.gz]", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{IdxDataset.TrainImagesFile}[.gz]", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ten_classes_of_28_by_28_in_a_fashion_directory_get_the_Fashion_MNIST_names()
    {
        var named = _temp.File("my-fashion-copy");
        var plain = _temp.File("digits");
        SyntheticData.WriteIdx(named, train: 30, test: 10, classes: 10, height: 28, width: 28);
        SyntheticData.WriteIdx(plain, train: 30, test: 10, classes: 10, height: 28, width: 28);
        Assert.Equal(FashionMnist.ClassNames, IdxDataset.Load(named).Train.ClassNames);
        Assert.Equal("9", IdxDataset.Load(plain).Train.ClassNames[9]);
    }

    [Fact]
    public void Dataset_json_fixes_the_classes_and_their_names()
    {
        var dir = _temp.File("manifest");
        SyntheticData.WriteIdx(dir, train: 12, test: 4, classes: 3);
        new DatasetManifest { Name = "tiny", ClassNames = ["a", "b", "c", "d"] }.WriteTo(dir);
        var data = IdxDataset.Load(dir);
        Assert.Equal(4, data.Train.ClassCount);
        Assert.Equal("d", data.Test.ClassNames[3]);

        new DatasetManifest { ClassNames = ["a", "b"] }.WriteTo(dir);
        var e = Assert.Throws<DataFormatException>(() => IdxDataset.Load(dir));
        Assert.Contains("is 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("names 2 classes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_dataset_json_is_refused_with_its_place()
    {
        var dir = _temp.File("bad-manifest");
        SyntheticData.WriteIdx(dir, train: 12, test: 4, classes: 3);
        File.WriteAllText(Path.Combine(dir, DatasetManifest.FileName), "{\n  \"classnames\": [\"a\"]\n}");
        var e = Assert.Throws<DataFormatException>(() => IdxDataset.Load(dir));
        Assert.Contains(DatasetManifest.FileName, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }
}
