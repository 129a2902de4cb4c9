using SwarmLearning.Training.Data;

namespace SwarmLearning.Training.Tests;

public sealed class DataDirectoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_layout_is_recognised_and_loaded()
    {
        var idx = _temp.File("idx");
        var csv = _temp.File("csv");
        SyntheticData.WriteIdx(idx, train: 8, test: 3, classes: 2);
        SyntheticData.WriteCsv(csv, train: 8, test: 3, classes: ["x", "y"]);

        Assert.Equal(DataLayout.Idx, DataDirectory.Detect(idx));
        Assert.Equal(DataLayout.Csv, DataDirectory.Detect(csv));
        Assert.Equal(new SampleShape(1, 4, 3), DataDirectory.Load(idx).Train.Shape);
        Assert.Equal(SampleShape.Tabular(2), DataDirectory.Load(csv).Train.Shape);
    }

    [Fact]
    public void A_missing_directory_is_named_with_what_a_data_directory_holds()
    {
        var missing = _temp.File("nowhere");
        var e = Assert.Throws<DataFormatException>(() => DataDirectory.Load(missing));
        Assert.StartsWith(missing + ": the data directory does not exist", e.Message, StringComparison.Ordinal);
        Assert.Contains("train-images-idx3-ubyte[.gz]", e.Message, StringComparison.Ordinal);
        Assert.Contains("train.csv", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_without_data_lists_what_was_looked_for()
    {
        var empty = _temp.File("empty");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "no data here");
        var e = Assert.Throws<DataFormatException>(() => DataDirectory.Load(empty));
        Assert.Contains("holds no data: looked for IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) or CSV files (train.csv, test.csv)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_given_as_the_directory_is_refused()
    {
        var file = _temp.File("train.csv");
        File.WriteAllText(file, "label,x\na,1\n");
        var e = Assert.Throws<DataFormatException>(() => DataDirectory.Load(file));
        Assert.Contains("this is a file, not a data directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Half_a_CSV_directory_names_the_missing_file()
    {
        var dir = _temp.File("half");
        SyntheticData.WriteCsv(dir, train: 4, test: 2, classes: ["x", "y"]);
        File.Delete(Path.Combine(dir, "test.csv"));
        var e = Assert.Throws<DataFormatException>(() => DataDirectory.Load(dir));
        Assert.Contains("missing test.csv", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Both_layouts_in_one_directory_are_refused()
    {
        var dir = _temp.File("both");
        SyntheticData.WriteIdx(dir, train: 4, test: 2, classes: 2);
        SyntheticData.WriteCsv(dir, train: 4, test: 2, classes: ["x", "y"]);
        var e = Assert.Throws<DataFormatException>(() => DataDirectory.Detect(dir));
        Assert.Contains("both IDX and CSV", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_alias_stands_for_the_Debian_directory_and_its_hint_names_the_package()
    {
        Assert.Equal(FashionMnist.DebianDirectory, DataDirectory.ResolvePath("fashion-mnist"));
        Assert.Equal("./fashion-mnist", DataDirectory.ResolvePath("./fashion-mnist"));
        Assert.True(FashionMnist.IsDebianDirectory(FashionMnist.DebianDirectory + "/"));
        Assert.Equal("install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data <dir>", FashionMnist.InstallHint);
    }

    [Fact]
    public void Messages_about_the_Debian_directory_carry_the_install_hint()
    {
        Assert.Contains(FashionMnist.InstallHint, DataDirectory.MissingDirectoryMessage(FashionMnist.DebianDirectory), StringComparison.Ordinal);
        Assert.Contains(FashionMnist.InstallHint, DataDirectory.MissingFilesHint(FashionMnist.DebianDirectory), StringComparison.Ordinal);
        Assert.DoesNotContain("apt-get", DataDirectory.MissingFilesHint(_temp.Path), StringComparison.Ordinal);
    }
}
