using System.Globalization;
using System.Text.Json;
using SwarmLearning.Training.Data.Idx;

namespace SwarmLearning.Cli.Tests;

public sealed class DataCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    /// <summary>An IDX data directory of 4×4 images: 60 training samples in 3 classes (20 each), 9 test samples.</summary>
    private string IdxData()
    {
        var dir = Path.Combine(_harness.Directory, "idx");
        Directory.CreateDirectory(dir);
        static (IdxArray Images, IdxArray Labels) Set(int count) =>
            (new IdxArray(IdxElementType.U8, [count, 4, 4], [.. Enumerable.Range(0, count * 16).Select(i => (byte)i)], "images"),
             new IdxArray(IdxElementType.U8, [count], [.. Enumerable.Range(0, count).Select(i => (byte)(i % 3))], "labels"));
        var (trainImages, trainLabels) = Set(60);
        var (testImages, testLabels) = Set(9);
        IdxWriter.Write(Path.Combine(dir, IdxDataset.TrainImagesFile + ".gz"), trainImages);
        IdxWriter.Write(Path.Combine(dir, IdxDataset.TrainLabelsFile + ".gz"), trainLabels);
        IdxWriter.Write(Path.Combine(dir, IdxDataset.TestImagesFile + ".gz"), testImages);
        IdxWriter.Write(Path.Combine(dir, IdxDataset.TestLabelsFile + ".gz"), testLabels);
        return dir;
    }

    [Fact]
    public async Task Split_prints_each_nodes_class_histogram_and_the_total()
    {
        var data = IdxData();
        var output = Path.Combine(_harness.Directory, "nodes");
        var (code, text, error) = await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "3", "--method", "iid", "--out", output);

        Assert.True(code == 0, error);
        var lines = text.Split('\n').Select(l => l.TrimEnd()).ToList();
        var header = lines.FindIndex(l => l.StartsWith("node ", StringComparison.Ordinal));
        Assert.True(header >= 0, text);
        Assert.Equal(["node", "0", "1", "2", "total"], lines[header].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var rows = lines.Skip(header + 1).Take(4).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["node-1", "node-2", "node-3", "total"], rows.Select(r => r[0]));
        Assert.All(rows.Take(3), r => Assert.Equal("20", r[4]));
        Assert.Equal(["total", "20", "20", "20", "60"], rows[3]);
        Assert.Contains("test set: 9 samples, copied whole to every node", text, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "node-3", "partition.json")));
    }

    [Fact]
    public async Task Split_json_gives_every_node_its_histogram()
    {
        var data = IdxData();
        var output = Path.Combine(_harness.Directory, "nodes");
        var (code, text, error) = await CliHarness.RunAsync("data", "split", "--data", data, "-n", "4", "-m", "biased", "--seed", "7", "-o", output, "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal("biased", root.GetProperty("method").GetString());
        Assert.Equal(7UL, root.GetProperty("seed").GetUInt64());
        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(4, nodes.Count);
        Assert.Equal(60, nodes.Sum(n => n.GetProperty("samples").GetInt32()));
        Assert.All(nodes, n => Assert.Equal(n.GetProperty("samples").GetInt32(), n.GetProperty("histogram").EnumerateArray().Sum(h => h.GetInt32())));
        Assert.All(nodes, n => Assert.Equal(2, n.GetProperty("favouredClasses").GetArrayLength()));
        Assert.Equal([20, 20, 20], root.GetProperty("total").EnumerateArray().Select(t => t.GetInt32()));
    }

    [Fact]
    public async Task Split_of_a_CSV_directory_keeps_the_layout()
    {
        var data = Path.Combine(_harness.Directory, "csv");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "train.csv"), "f,label\n" + string.Concat(Enumerable.Range(0, 30).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i},{(i % 2 == 0 ? "even" : "odd")}\n"))));
        await File.WriteAllTextAsync(Path.Combine(data, "test.csv"), "f,label\n1,odd\n2,even\n");
        var output = Path.Combine(_harness.Directory, "nodes");

        var (code, text, error) = await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "2", "--method", "dirichlet", "--alpha", "0.2", "--out", output);
        Assert.True(code == 0, error);
        Assert.Contains("dirichlet, α = 0.2, seed 42", text, StringComparison.Ordinal);
        Assert.Contains("classes: 0 even, 1 odd", text, StringComparison.Ordinal);
        Assert.StartsWith("f,label\n", await File.ReadAllTextAsync(Path.Combine(output, "node-1", "train.csv")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--nodes", "0", "--nodes must be at least 1")]
    [InlineData("--method", "random", "unknown partition method 'random'")]
    [InlineData("--alpha", "-1", "--alpha must be a positive number")]
    public async Task Bad_arguments_are_usage_errors(string option, string value, string expected)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal) { ["--nodes"] = "2", ["--method"] = "dirichlet", ["--alpha"] = "0.5" };
        args[option] = value;
        var (code, _, error) = await CliHarness.RunAsync(["data", "split", "--data", "x", "--out", "y", .. args.SelectMany(a => new[] { a.Key, a.Value })]);
        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alpha_with_another_method_is_a_usage_error()
    {
        var (code, _, error) = await CliHarness.RunAsync("data", "split", "--data", "x", "--out", "y", "--nodes", "2", "--method", "iid", "--alpha", "0.3");
        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains("--alpha applies to --method dirichlet only", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Problems_with_the_data_are_one_line_failures()
    {
        var missing = Path.Combine(_harness.Directory, "absent");
        var (code, _, error) = await CliHarness.RunAsync("data", "split", "--data", missing, "--nodes", "2", "--method", "iid", "--out", Path.Combine(_harness.Directory, "o"));
        Assert.Equal(SwarmCli.Failure, code);
        Assert.StartsWith($"error: {missing}: the data directory does not exist", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));

        var data = IdxData();
        (code, _, error) = await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "61", "--method", "iid", "--out", Path.Combine(_harness.Directory, "o"));
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("cannot split 60 training samples among 61 nodes", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Split_refuses_to_overwrite_without_force()
    {
        var data = IdxData();
        var output = Path.Combine(_harness.Directory, "nodes");
        Assert.Equal(0, (await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "2", "--method", "iid", "--out", output)).Code);
        var (code, _, error) = await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "2", "--method", "iid", "--out", output);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("pass --force", error, StringComparison.Ordinal);
        Assert.Equal(0, (await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "2", "--method", "iid", "--out", output, "--force")).Code);
    }

    [Fact]
    public async Task Inspect_shows_shape_classes_histograms_and_the_partition()
    {
        var data = IdxData();
        var output = Path.Combine(_harness.Directory, "nodes");
        Assert.Equal(0, (await CliHarness.RunAsync("data", "split", "--data", data, "--nodes", "2", "--method", "iid", "--out", output)).Code);

        var (code, text, error) = await CliHarness.RunAsync("data", "inspect", "--data", Path.Combine(output, "node-2"));
        Assert.True(code == 0, error);
        Assert.Contains("samples    30 train, 9 test", text, StringComparison.Ordinal);
        Assert.Contains("shape      1×4×4 (16 features)", text, StringComparison.Ordinal);
        Assert.Contains("partition  node 2 of 2 (iid, seed 42)", text, StringComparison.Ordinal);
        var testRow = text.Split('\n').Single(l => l.StartsWith("test ", StringComparison.Ordinal));
        Assert.Equal(["test", "3", "3", "3", "9"], testRow.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        (code, text, _) = await CliHarness.RunAsync("data", "inspect", "--data", data, "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(text);
        Assert.Equal([20, 20, 20], json.RootElement.GetProperty("train").GetProperty("histogram").EnumerateArray().Select(h => h.GetInt32()));
        Assert.Equal(16, json.RootElement.GetProperty("features").GetInt32());
    }
}
