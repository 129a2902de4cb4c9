using System.Globalization;
using System.Text.Json;
using System.Text;
using SwarmLearning.Cli;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Models;

namespace SwarmLearning.Client.Tests;

/// <summary><c>swarm train --swarm</c> against the fake SL node. The CLI reads SWARM_LOOPBACK, so these run alone.</summary>
[Collection(EnvironmentTestGroup.Name)]
public sealed class TrainSwarmCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SwarmCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A CSV data directory: three clusters in 5 features; 150 training and 30 test rows.</summary>
    private string CsvData()
    {
        var dir = _dir.File("csv");
        Directory.CreateDirectory(dir);
        var random = new Random(3);
        string Rows(int count)
        {
            var text = new StringBuilder("f0,f1,f2,f3,f4,label\n");
            for (var i = 0; i < count; i++)
            {
                var label = i % 3;
                var values = Enumerable.Range(0, 5).Select(f => ((f == label ? 3.0 : 0.0) + (random.NextDouble() - 0.5)).ToString("F4", CultureInfo.InvariantCulture));
                text.Append(string.Join(',', values)).Append(',').Append(label).Append('\n');
            }

            return text.ToString();
        }

        File.WriteAllText(Path.Combine(dir, "train.csv"), Rows(150));
        File.WriteAllText(Path.Combine(dir, "test.csv"), Rows(30));
        return dir;
    }

    private static TensorModel StartModel() =>
        new(Architectures.Create("mlp", SampleShape.Tabular(5), 3, seed: 99).ToModel().NamedTensors.Select(t => new NamedTensor(t.Info, [.. t.Values])), name: "start");

    private static float[] Values(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return TestModels.Flat(file);
    }

    [Fact]
    public async Task Swarm_training_drives_the_SL_node_with_the_command_lines_parameters_and_saves_the_final_model()
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", null), ("SWARM_SL_SOCKET", null));
        await using var node = await FakeSlNode.StartAsync(_dir.Path, StartModel());
        var data = CsvData();
        var output = _dir.File("final.safetensors");
        var (code, text, error) = await RunAsync(
            "train", "--data", data, "--model", "mlp", "--epochs", "2", "--batch-size", "50", "--out", output, "--json",
            "--swarm", "--sl-socket", node.SocketPath, "--sync-frequency", "2", "--min-peers", "3", "--merge-method", "CoordMedian",
            "--merge-momentum", "0.4", "--node-weightage", "7", "--checkin-model-on-train-end", "active", "--training-contract", "fmnist", "--use-adaptive-sync");

        Assert.True(code == 0, error);
        var session = node.Requests.Single(r => r.Path == "/v1/sessions").Json;
        Assert.Equal(2, session.GetProperty("syncFrequency").GetInt32());
        Assert.Equal(3, session.GetProperty("minPeers").GetInt32());
        Assert.Equal("coordmedian", session.GetProperty("mergeMethod").GetString());
        Assert.Equal(0.4, session.GetProperty("mergeMomentum").GetDouble());
        Assert.Equal(7, session.GetProperty("nodeWeightage").GetInt32());
        Assert.Equal("active", session.GetProperty("checkinModelOnTrainEnd").GetString());
        Assert.Equal("fmnist", session.GetProperty("trainingContract").GetString());
        Assert.True(session.GetProperty("useAdaptiveSync").GetBoolean());
        Assert.Equal(2, session.GetProperty("totalEpochs").GetInt32());

        // 150 samples in batches of 50: 3 a batch an epoch, 6 in all; syncs after batches 2, 4 and 6.
        Assert.Single(node.Of("begin"));
        Assert.Equal(3, node.Of("sync").Count());
        Assert.Equal(3, node.Of("progress").Count()); // adaptive sync: progress only after merges
        Assert.All(node.Of("progress"), p => Assert.True(p.Json.GetProperty("metric").GetDouble() > 0, "the test accuracy is reported"));
        Assert.Single(node.Of("end"));

        // The saved model is the final swarm model, and the JSON says where it came from.
        Assert.Equal(TestModels.Flat(node.Answers[^1]), Values(output));
        using var json = JsonDocument.Parse(text);
        var swarm = json.RootElement.GetProperty("swarm");
        Assert.False(swarm.GetProperty("loopback").GetBoolean());
        Assert.Equal("sl1", swarm.GetProperty("node").GetString());
        Assert.Equal(3, swarm.GetProperty("syncs").GetInt32());
        Assert.Equal(4, swarm.GetProperty("round").GetInt64());
        var endAnswer = _dir.File("end-answer.safetensors");
        SafetensorsWriter.Write(endAnswer, node.Answers[^1]);
        Assert.Equal(ModelHash.Of(await File.ReadAllBytesAsync(endAnswer)), swarm.GetProperty("modelHash").GetString());
        Assert.Contains("swarm: Final merging starts at training end.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_output_names_the_SL_node_and_the_final_round()
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", null), ("SWARM_SL_SOCKET", null));
        await using var node = await FakeSlNode.StartAsync(_dir.Path, StartModel());
        using (new EnvironmentScope(("SWARM_SL_SOCKET", node.SocketPath)))
        {
            var (code, text, error) = await RunAsync("train", "-d", CsvData(), "-e", "1", "-b", "50", "--swarm", "--sync-frequency", "1", "--min-peers", "1");
            Assert.True(code == 0, error);
            Assert.Contains($"swarm    SL node at {node.SocketPath}: syncFrequency 1, minPeers 1, contract defaultbb.cqdb.sml.hpe, mergeMethod mean", text, StringComparison.Ordinal);
            Assert.Contains("swarm    final model of round 4 (hash ", text, StringComparison.Ordinal);
            Assert.Contains("3 syncs during training", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_SL_node_error_ends_the_command_with_its_message_once()
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", null));
        await using var node = await FakeSlNode.StartAsync(_dir.Path, StartModel());
        node.Fault = request => request.EndsWith("/sync", StringComparison.Ordinal)
            ? (503, JsonSerializer.Serialize(new { error = "unavailable", message = "the SN does not answer; try again when it is back" }), "application/json")
            : null;
        var (code, _, error) = await RunAsync("train", "-d", CsvData(), "-e", "1", "-b", "50", "--swarm", "--sl-socket", node.SocketPath, "--sync-frequency", "1", "--min-peers", "1");
        Assert.Equal(1, code);
        const string message = "error: Sync Swarm call to SL node failed - the SN does not answer; try again when it is back";
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal(error.IndexOf("the SN does not answer", StringComparison.Ordinal), error.LastIndexOf("the SN does not answer", StringComparison.Ordinal));
        Assert.Single(node.Requests, r => r.Method == "DELETE"); // the session was abandoned on the way out
    }

    [Fact]
    public async Task In_loopback_mode_swarm_training_gives_the_same_model_as_plain_training()
    {
        var data = CsvData();
        var plain = _dir.File("plain.safetensors");
        var looped = _dir.File("loopback.safetensors");
        using (new EnvironmentScope(("SWARM_LOOPBACK", null)))
        {
            var (code, _, error) = await RunAsync("train", "-d", data, "-e", "2", "-b", "16", "-o", plain, "--seed", "5");
            Assert.True(code == 0, error);
        }

        using (new EnvironmentScope(("SWARM_LOOPBACK", "1"), ("SWARM_SL_SOCKET", null)))
        {
            var (code, text, error) = await RunAsync("train", "-d", data, "-e", "2", "-b", "16", "-o", looped, "--seed", "5", "--swarm", "--sync-frequency", "3", "--min-peers", "2");
            Assert.True(code == 0, error);
            Assert.Contains("swarm    loopback mode (SWARM_LOOPBACK): no SL node, no swarm", text, StringComparison.Ordinal);
        }

        Assert.Equal(Values(plain), Values(looped));
        Assert.NotEqual(Values(plain), TestModels.Flat(Architectures.Create("mlp", SampleShape.Tabular(5), 3, seed: 5).ToModel()));
    }

    [Fact]
    public async Task Without_swarm_the_JSON_has_no_swarm_section()
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", null));
        var (code, text, error) = await RunAsync("train", "-d", CsvData(), "-e", "1", "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(text);
        Assert.False(json.RootElement.TryGetProperty("swarm", out _));
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData("--sync-frequency works only with --swarm", "--sync-frequency", "4")]
    [InlineData("--sl-socket works only with --swarm", "--sl-socket", "/tmp/x.sock")]
    [InlineData("--use-adaptive-sync works only with --swarm", "--use-adaptive-sync")]
    [InlineData("--swarm needs --sync-frequency N", "--swarm", "--min-peers", "2")]
    [InlineData("--swarm needs --sync-frequency N", "--swarm", "--sync-frequency", "2")]
    [InlineData("--merge-method must be one of mean, coordmedian, geomedian, trimmedmean, krum, not 'median'", "--swarm", "--sync-frequency", "2", "--min-peers", "1", "--merge-method", "median")]
    [InlineData("--merge-momentum works only with --swarm", "--merge-momentum", "0.5")]
    [InlineData("--merge-momentum must be at least 0 and below 1", "--swarm", "--sync-frequency", "2", "--min-peers", "1", "--merge-momentum", "1")]
    [InlineData("Argument 'later' not recognized", "--swarm", "--sync-frequency", "2", "--min-peers", "1", "--checkin-model-on-train-end", "later")]
    public async Task Swarm_options_are_checked_on_the_command_line(string expected, params string[] args)
    {
        var (code, _, error) = await RunAsync(["train", "-d", "/nonexistent", .. args]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
