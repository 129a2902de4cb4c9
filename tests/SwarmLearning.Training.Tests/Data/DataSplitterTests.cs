using SwarmLearning.Training.Data;
using SwarmLearning.Training.Data.Idx;
using SwarmLearning.Training.Data.Partitioning;

namespace SwarmLearning.Training.Tests;

public sealed class DataSplitterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void IDX_nodes_hold_exact_record_subsets_and_the_whole_test_set()
    {
        var source = _temp.File("source");
        SyntheticData.WriteIdx(source, train: 120, test: 15, classes: 5, height: 3, width: 2);
        var output = _temp.File("out");
        var options = new PartitionOptions { Method = PartitionMethod.Dirichlet, Alpha = 0.3, Seed = 9 };

        var result = DataSplitter.Split(source, output, 3, options);

        Assert.Equal(DataLayout.Idx, result.Layout);
        Assert.Equal(["node-1", "node-2", "node-3"], Directory.GetDirectories(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var sourceImages = IdxReader.Read(Path.Combine(source, IdxDataset.TrainImagesFile + ".gz"));
        var sourceLabels = IdxReader.Read(Path.Combine(source, IdxDataset.TrainLabelsFile + ".gz"));
        for (var k = 0; k < 3; k++)
        {
            var node = result.NodeDirectories[k];
            var indices = result.Partition.Nodes[k];

            var images = SyntheticData.Decompressed(Path.Combine(node, IdxDataset.TrainImagesFile + ".gz"));
            var labels = SyntheticData.Decompressed(Path.Combine(node, IdxDataset.TrainLabelsFile + ".gz"));
            Assert.Equal([0, 0, 8, 3, 0, 0, 0, (byte)indices.Length, 0, 0, 0, 3, 0, 0, 0, 2, .. indices.SelectMany(i => sourceImages.Record(i).ToArray())], images);
            Assert.Equal([0, 0, 8, 1, 0, 0, 0, (byte)indices.Length, .. indices.SelectMany(i => sourceLabels.Record(i).ToArray())], labels);
            foreach (var test in new[] { IdxDataset.TestImagesFile, IdxDataset.TestLabelsFile })
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(source, test + ".gz")), File.ReadAllBytes(Path.Combine(node, test + ".gz")));
            }

            var loaded = DataDirectory.Load(node);
            Assert.Equal(result.Partition.Histograms[k], loaded.Train.ClassHistogram());
            Assert.Equal(5, loaded.Train.ClassCount);
            Assert.Equal(15, loaded.Test.Count);

            var manifest = PartitionManifest.ReadFrom(node)!;
            Assert.Equal(Path.GetFullPath(source), manifest.Source);
            Assert.Equal(DataLayout.Idx, manifest.Layout);
            Assert.Equal("dirichlet", manifest.Method);
            Assert.Equal(0.3, manifest.Parameters.Alpha);
            Assert.Null(manifest.Parameters.FavouredClasses);
            Assert.Equal(9UL, manifest.Seed);
            Assert.Equal((k + 1, 3), (manifest.Node, manifest.Nodes));
            Assert.Equal(indices.Length, manifest.Samples);
            Assert.Equal(result.Partition.Histograms[k], manifest.ClassHistogram);
            Assert.Equal(15, manifest.TestSamples);
        }
    }

    [Fact]
    public void CSV_nodes_keep_the_header_and_the_original_row_text()
    {
        var source = _temp.File("source");
        Directory.CreateDirectory(source);
        var rows = Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? $"\"{i}.0\",\"b, \"\"quoted\"\"\",{i}e0" : $"{i},{(i % 3 == 1 ? "a" : "c")},  {i}").ToList();
        File.WriteAllText(Path.Combine(source, "train.csv"), "x,kind,y\r\n" + string.Join("\r\n", rows) + "\r\n");
        File.WriteAllText(Path.Combine(source, "test.csv"), "x,kind,y\r\n1,a,2\r\n3,c,4\r\n5,\"b, \"\"quoted\"\"\",6\r\n");
        var output = _temp.File("out");

        var result = DataSplitter.Split(source, output, 4, new PartitionOptions { Method = PartitionMethod.Biased }, labelColumn: "kind");

        Assert.Equal(["a", "b, \"quoted\"", "c"], result.ClassNames);
        for (var k = 0; k < 4; k++)
        {
            var node = result.NodeDirectories[k];
            var expected = "x,kind,y\r\n" + string.Concat(result.Partition.Nodes[k].Select(i => rows[i] + "\r\n"));
            Assert.Equal(expected, File.ReadAllText(Path.Combine(node, "train.csv")));
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, "test.csv")), File.ReadAllBytes(Path.Combine(node, "test.csv")));

            // dataset.json carries the label column and the classes, so a node lacking a class numbers the rest alike.
            var loaded = DataDirectory.Load(node);
            Assert.Equal(result.ClassNames, loaded.Train.ClassNames);
            Assert.Equal(result.Partition.Histograms[k], loaded.Train.ClassHistogram());
            Assert.Equal(PartitionOptions.BiasFactor, PartitionManifest.ReadFrom(node)!.Parameters.BiasFactor);
            Assert.Equal(result.Partition.FavouredClasses![k], PartitionManifest.ReadFrom(node)!.Parameters.FavouredClasses);
        }
    }

    [Fact]
    public void Existing_node_directories_are_kept_unless_forced()
    {
        var source = _temp.File("source");
        SyntheticData.WriteIdx(source, train: 30, test: 5, classes: 3);
        var output = _temp.File("out");
        DataSplitter.Split(source, output, 4, new PartitionOptions { Seed = 1 });
        var before = File.ReadAllBytes(Path.Combine(output, "node-2", IdxDataset.TrainImagesFile + ".gz"));

        var e = Assert.Throws<SwarmException>(() => DataSplitter.Split(source, output, 2, new PartitionOptions { Seed = 2 }));
        Assert.Contains(Path.Combine(output, "node-1"), e.Message, StringComparison.Ordinal);
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(output, "node-2", IdxDataset.TrainImagesFile + ".gz")));

        DataSplitter.Split(source, output, 2, new PartitionOptions { Seed = 2 }, force: true);
        Assert.Equal(["node-1", "node-2"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(2, PartitionManifest.ReadFrom(Path.Combine(output, "node-2"))!.Nodes);
    }

    [Fact]
    public void More_nodes_than_training_samples_is_refused_before_anything_is_written()
    {
        var source = _temp.File("source");
        SyntheticData.WriteIdx(source, train: 5, test: 2, classes: 2);
        var output = _temp.File("out");
        var e = Assert.Throws<SwarmException>(() => DataSplitter.Split(source, output, 6, new PartitionOptions()));
        Assert.Contains("cannot split 5 training samples among 6 nodes", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_split_that_fails_midway_leaves_only_complete_node_directories()
    {
        var source = _temp.File("source");
        SyntheticData.WriteIdx(source, train: 60, test: 5, classes: 3);
        var output = _temp.File("out");
        var testImages = Path.Combine(source, IdxDataset.TestImagesFile + ".gz");

        // Once the first node is written, the test set disappears, so the nodes still being written fail.
        var progress = new DeleteOnFirstReport(testImages);
        var e = Assert.Throws<SwarmException>(() => DataSplitter.Split(source, output, 8, new PartitionOptions(), progress: progress));
        Assert.Contains("cannot write the node directory", e.Message, StringComparison.Ordinal);

        var left = Directory.GetFileSystemEntries(output).Select(Path.GetFileName).ToList();
        Assert.All(left, name => Assert.StartsWith("node-", name, StringComparison.Ordinal));
        Assert.InRange(left.Count, 1, 7);
        Assert.All(left, name => Assert.NotNull(PartitionManifest.ReadFrom(Path.Combine(output, name!))));
    }

    [Fact]
    public void Cancelling_before_the_first_node_writes_nothing()
    {
        var source = _temp.File("source");
        SyntheticData.WriteIdx(source, train: 30, test: 5, classes: 3);
        var output = _temp.File("out");
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => DataSplitter.Split(source, output, 3, new PartitionOptions(), cancellationToken: cancel.Token));
        Assert.Empty(Directory.GetFileSystemEntries(output));
    }

    private sealed class DeleteOnFirstReport(string path) : IProgress<int>
    {
        public void Report(int value) => File.Delete(path);
    }
}
