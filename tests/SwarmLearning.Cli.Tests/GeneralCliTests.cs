namespace SwarmLearning.Cli.Tests;

public sealed class GeneralCliTests
{
    [Fact]
    public async Task Version_prints_the_version_and_succeeds()
    {
        var (code, output, _) = await CliHarness.RunAsync("--version");
        Assert.Equal(0, code);
        Assert.StartsWith(SwarmCli.Version, output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_command_has_help()
    {
        var root = SwarmCli.BuildRoot(new CliIo(TextWriter.Null, TextWriter.Null));
        var commands = CliHarness.AllCommands(root).ToList();
        Assert.Contains(commands, c => c.Name == "merge");
        Assert.Contains(commands, c => c.Name == "inspect");
        foreach (var command in commands)
        {
            var path = new List<string>();
            for (var c = command; c is not null && c != root; c = c.Parents.OfType<System.CommandLine.Command>().FirstOrDefault())
            {
                path.Insert(0, c.Name);
            }

            var (code, output, _) = await CliHarness.RunAsync([.. path, "--help"]);
            Assert.Equal(0, code);
            Assert.Contains("Usage:", output, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(command.Description), $"command '{command.Name}' has no description");
        }
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error_with_a_hint()
    {
        var (code, _, error) = await CliHarness.RunAsync("frobnicate");
        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains("--help", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_round_demo_refuses_a_directory_it_cannot_create()
    {
        using var harness = new CliHarness();
        var file = Path.Combine(harness.Directory, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        var (code, _, error) = await CliHarness.RunAsync("demo", "merge-round", "--dir", file);
        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("--dir", error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_round_demo_merges_a_poisoned_round_and_the_robust_methods_resist()
    {
        using var harness = new CliHarness();
        var (code, output, error) = await CliHarness.RunAsync("demo", "merge-round", "--dir", harness.Directory, "--json");
        Assert.True(code == 0, error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var results = json.RootElement.GetProperty("results").EnumerateArray()
            .ToDictionary(r => r.GetProperty("method").GetString()!, r => r.GetProperty("distanceToHonestConsensus").GetDouble());
        Assert.Equal(5, results.Count);
        foreach (var robust in new[] { "coordmedian", "geomedian", "trimmedmean", "krum" })
        {
            Assert.True(results[robust] < results["mean"] / 5, $"{robust} landed {results[robust]} spreads away, mean {results["mean"]}");
            Assert.True(File.Exists(Path.Combine(harness.Directory, "round-1", $"merged-{robust}.safetensors")));
        }
    }
}
