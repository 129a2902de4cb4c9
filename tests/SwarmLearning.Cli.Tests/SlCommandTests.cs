namespace SwarmLearning.Cli.Tests;

/// <summary>
/// <c>swarm sl</c>'s refusals: what a user gets wrong before any node runs. A running SL node is exercised by the Node
/// tests (real SN and SL hosts, ML programs on the local channel).
/// </summary>
public sealed class SlCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private string Certs => Path.Combine(_harness.Directory, "certs");

    [Fact]
    public async Task An_SL_node_must_be_told_which_SN_to_follow()
    {
        var (code, _, error) = await CliHarness.RunAsync("sl", "--name", "sl1", "--certs", Certs);
        Assert.Equal(2, code);
        Assert.Contains("--sn", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_identity_files_are_named()
    {
        var (code, _, error) = await CliHarness.RunAsync("sl", "--name", "sl1", "--certs", Certs, "--sn", "localhost", "--dir", Path.Combine(_harness.Directory, "sl1"));
        Assert.Equal(1, code);
        Assert.Contains(Path.Combine(Certs, "sl1.crt"), error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_identity_of_another_role_cannot_run_an_SL_node()
    {
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", Certs)).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "issue", "--role", "sn", "--name", "sn1", "--dir", Certs)).Code);
        var (code, _, error) = await CliHarness.RunAsync("sl", "--name", "sn1", "--certs", Certs, "--sn", "localhost:30304", "--dir", Path.Combine(_harness.Directory, "sl1"));
        Assert.Equal(1, code);
        Assert.Contains("--role sl", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_harness.Directory, "sl1")), "nothing is created for a refused identity");
    }

    [Theory]
    [InlineData("--file-port", "0", "--file-port 0 is not a TCP port")]
    [InlineData("--listen", "localhost", "the listen address 'localhost' is not an IP address")]
    [InlineData("--sn", "sn1:http", "--sn 'sn1:http' is not HOST:PORT")]
    [InlineData("--sn", "sn 1:30304", "'sn 1' is not a host name or an IP address")]
    public async Task Bad_addresses_are_refused_with_what_to_give(string option, string value, string expected)
    {
        string[] sn = option == "--sn" ? [] : ["--sn", "localhost"];
        var (code, _, error) = await CliHarness.RunAsync(["sl", "--name", "sl1", "--certs", Certs, .. sn, option, value]);
        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-model-mib", "0", "--max-model-mib must be from 1 to 1048576")]
    [InlineData("--requests-per-peer", "0", "--requests-per-peer must be 1 or more")]
    [InlineData("--max-concurrent-serves", "-1", "--max-concurrent-serves must be from 0 (no limit) to 1024")]
    [InlineData("--max-concurrent-serves", "1025", "--max-concurrent-serves must be from 0 (no limit) to 1024")]
    public async Task Bad_limits_are_refused_naming_the_option(string option, string value, string expected)
    {
        var (code, _, error) = await CliHarness.RunAsync("sl", "--name", "sl1", "--certs", Certs, "--sn", "localhost", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_socket_path_too_long_for_Unix_is_refused_before_anything_starts()
    {
        var socket = Path.Combine(_harness.Directory, new string('s', 120) + ".sock");
        var (code, _, error) = await CliHarness.RunAsync("sl", "--name", "sl1", "--certs", Certs, "--sn", "localhost", "--socket", socket);
        Assert.Equal(1, code);
        Assert.Contains("give a shorter --socket PATH", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_options()
    {
        var (code, output, _) = await CliHarness.RunAsync("sl", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--name", "--certs", "--sn", "--dir", "--file-port", "--listen", "--host", "--socket", "--max-model-mib", "--requests-per-peer", "--max-concurrent-serves", "--verbose" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }
}
