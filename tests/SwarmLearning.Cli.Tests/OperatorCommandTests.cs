namespace SwarmLearning.Cli.Tests;

/// <summary><c>swarm operator</c>'s command line: help, and a profile refused with its fields named. A running operator is exercised by the Operator tests.</summary>
public sealed class OperatorCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Help_lists_the_options()
    {
        var (code, output, _) = await CliHarness.RunAsync("operator", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--profile", "--check", "--stop-grace", "--verbose" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_invalid_profile_is_refused_naming_each_field()
    {
        var profile = Path.Combine(_harness.Directory, "swop.yaml");
        await File.WriteAllTextAsync(profile, "groupname: g\napisrv:\n  locator:\n    host: localhost\n    port: 99999\nnodes: []\n");
        var (code, _, error) = await CliHarness.RunAsync("operator", "--profile", profile, "--check");
        Assert.Equal(1, code);
        Assert.Contains("is not a valid operator profile", error, StringComparison.Ordinal);
        Assert.Contains("taskrunner", error, StringComparison.Ordinal);
        Assert.Contains("apisrv.locator.port (line 5)", error, StringComparison.Ordinal);
        Assert.Contains("identity", error, StringComparison.Ordinal);
        Assert.Contains("nodes (line 6): lists no node", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_profile_file_is_named()
    {
        var (code, _, error) = await CliHarness.RunAsync("operator", "--profile", Path.Combine(_harness.Directory, "none.yaml"));
        Assert.Equal(1, code);
        Assert.Contains("none.yaml", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
