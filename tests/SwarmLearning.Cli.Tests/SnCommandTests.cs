namespace SwarmLearning.Cli.Tests;

/// <summary>
/// <c>swarm sn</c>'s refusals: what a user gets wrong before any node runs. A running SN is exercised by the
/// Network tests (real hosts and real <c>swarm sn</c> processes).
/// </summary>
public sealed class SnCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private string Certs => Path.Combine(_harness.Directory, "certs");

    [Fact]
    public async Task An_SN_that_is_not_the_sentinel_must_be_told_whom_to_join()
    {
        var (code, _, error) = await CliHarness.RunAsync("sn", "--name", "sn1", "--certs", Certs, "--dir", Path.Combine(_harness.Directory, "sn1"));
        Assert.Equal(1, code);
        Assert.Contains("--join", error, StringComparison.Ordinal);
        Assert.Contains("--sentinel", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_identity_files_are_named_with_the_command_that_makes_them()
    {
        var (code, _, error) = await CliHarness.RunAsync("sn", "--sentinel", "--name", "sn0", "--certs", Certs, "--dir", Path.Combine(_harness.Directory, "sn0"));
        Assert.Equal(1, code);
        Assert.Contains(Path.Combine(Certs, "sn0.crt"), error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_identity_of_another_role_cannot_run_an_SN()
    {
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", Certs)).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "issue", "--role", "sl", "--name", "sl1", "--dir", Certs)).Code);
        var (code, _, error) = await CliHarness.RunAsync("sn", "--sentinel", "--name", "sl1", "--certs", Certs, "--dir", Path.Combine(_harness.Directory, "sn0"));
        Assert.Equal(1, code);
        Assert.Contains("--role sn", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Equal_API_and_peer_ports_are_refused()
    {
        var (code, _, error) = await CliHarness.RunAsync("sn", "--sentinel", "--name", "sn0", "--certs", Certs, "--api-port", "40000", "--peer-port", "40000");
        Assert.Equal(1, code);
        Assert.Contains("must differ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--requests-per-peer")]
    [InlineData("--peer-requests-per-peer")]
    public async Task A_request_limit_below_one_is_refused_naming_the_option(string option)
    {
        var (code, _, error) = await CliHarness.RunAsync("sn", "--sentinel", "--name", "sn1", option, "0");
        Assert.Equal(2, code);
        Assert.Contains($"{option} must be 1 or more", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_options()
    {
        var (code, output, _) = await CliHarness.RunAsync("sn", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--sentinel", "--join", "--dir", "--certs", "--api-port", "--peer-port", "--full-quorum-wait", "--requests-per-peer", "--peer-requests-per-peer" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }
}
