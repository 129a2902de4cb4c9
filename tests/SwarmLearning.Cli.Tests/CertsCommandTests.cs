using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SwarmLearning.Identity;

namespace SwarmLearning.Cli.Tests;

public sealed class CertsCommandTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private string Dir => Path.Combine(_harness.Directory, "certs");

    private string FileIn(string name) => Path.Combine(Dir, name);

    /// <summary>True when the file's mode is 0600 (or the platform has no file modes).</summary>
    private static bool OwnerOnly(string path) =>
        OperatingSystem.IsWindows() || File.GetUnixFileMode(path) == (UnixFileMode.UserRead | UnixFileMode.UserWrite);

    private async Task InitAsync(params string[] extra)
    {
        var (code, _, error) = await CliHarness.RunAsync(["certs", "init", "--dir", Dir, .. extra]);
        Assert.True(code == 0, error);
    }

    [Fact]
    public async Task Init_writes_the_CA_and_says_what_to_do_next()
    {
        var (code, output, error) = await CliHarness.RunAsync("certs", "init", "--dir", Dir, "--name", "prod");

        Assert.True(code == 0, error);
        using var ca = CertificateAuthority.Load(FileIn("ca.crt"), FileIn("ca.key"));
        Assert.Equal("CN=prod Swarm CA, O=SwarmLearning", ca.Certificate.Subject);
        Assert.Contains($"wrote {FileIn("ca.crt")}", output, StringComparison.Ordinal);
        Assert.Contains($"wrote {FileIn("ca.key")}", output, StringComparison.Ordinal);
        Assert.Contains($"fingerprint  {ca.Fingerprint}", output, StringComparison.Ordinal);
        Assert.Contains($"swarm certs issue --role sn --name sn1 --dir {Dir}", output, StringComparison.Ordinal);
        Assert.InRange((ca.Certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalDays, 3649, 3650);
        Assert.True(OwnerOnly(FileIn("ca.key")));
    }

    [Fact]
    public async Task Init_json_gives_files_fingerprint_and_validity()
    {
        var (code, output, error) = await CliHarness.RunAsync("certs", "init", "--dir", Dir, "--days", "30", "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        using var ca = CertificateAuthority.Load(FileIn("ca.crt"), FileIn("ca.key"));
        Assert.Equal(FileIn("ca.crt"), root.GetProperty("certificate").GetString());
        Assert.Equal(FileIn("ca.key"), root.GetProperty("key").GetString());
        Assert.Equal(ca.Fingerprint.ToString(), root.GetProperty("fingerprint").GetString());
        Assert.Equal(new DateTimeOffset(ca.Certificate.NotAfter.ToUniversalTime()), root.GetProperty("notAfter").GetDateTimeOffset());
        Assert.InRange((root.GetProperty("notAfter").GetDateTimeOffset() - DateTimeOffset.UtcNow).TotalDays, 29, 30);
    }

    [Fact]
    public async Task Init_keeps_an_existing_CA_unless_forced()
    {
        await InitAsync();
        var before = await File.ReadAllTextAsync(FileIn("ca.crt"));

        var (code, output, error) = await CliHarness.RunAsync("certs", "init", "--dir", Dir);

        Assert.Equal(SwarmCli.Failure, code);
        Assert.Equal(string.Empty, output);
        Assert.Equal($"error: {FileIn("ca.crt")} already exists and was kept; pass --force to replace it, or choose another name or directory", error.TrimEnd());
        Assert.Equal(before, await File.ReadAllTextAsync(FileIn("ca.crt")));

        await InitAsync("--force");
        Assert.NotEqual(before, await File.ReadAllTextAsync(FileIn("ca.crt")));
    }

    [Fact]
    public async Task Issue_writes_an_identity_the_CA_vouches_for()
    {
        await InitAsync();

        var (code, output, error) = await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "SL", "--name", "sl1", "--host", "sl1.example.org", "--host", "10.0.0.7,::1");

        Assert.True(code == 0, error);
        using var identity = SwarmIdentity.Load(FileIn("sl1.crt"), FileIn("sl1.key"));
        var trust = SwarmTrust.Load(FileIn("ca.crt"));
        Assert.Equal(new CertificateCheck(true, null, SwarmRole.Sl, "sl1"), trust.Validate(identity.Certificate, DateTimeOffset.UtcNow));
        var san = Assert.Single(identity.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["sl1.example.org"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Parse("10.0.0.7"), IPAddress.IPv6Loopback], san.EnumerateIPAddresses());
        Assert.True(OwnerOnly(FileIn("sl1.key")));
        Assert.Contains("role         sl", output, StringComparison.Ordinal);
        Assert.Contains("name         sl1", output, StringComparison.Ordinal);
        Assert.Contains("hosts        sl1.example.org, 10.0.0.7, ::1", output, StringComparison.Ordinal);
        Assert.Contains($"fingerprint  {identity.Fingerprint}", output, StringComparison.Ordinal);
        Assert.Contains($"expires      {identity.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issue_json_gives_role_name_hosts_fingerprint_and_expiry()
    {
        await InitAsync("--days", "10");

        var (code, output, error) = await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "swci", "--name", "ctl", "--days", "30", "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        using var identity = SwarmIdentity.Load(FileIn("ctl.crt"), FileIn("ctl.key"));
        Assert.Equal("swci", root.GetProperty("role").GetString());
        Assert.Equal("ctl", root.GetProperty("name").GetString());
        Assert.Equal(["localhost", "127.0.0.1", "::1"], root.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));
        Assert.Equal(identity.Fingerprint.ToString(), root.GetProperty("fingerprint").GetString());
        // Asked for 30 days from a CA that lives 10: capped, and it says so.
        Assert.True(root.GetProperty("cappedAtCaExpiry").GetBoolean());
        Assert.InRange((root.GetProperty("notAfter").GetDateTimeOffset() - DateTimeOffset.UtcNow).TotalDays, 9, 10);
    }

    [Fact]
    public async Task Issue_without_a_CA_says_to_run_init_first()
    {
        var (code, _, error) = await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "sn", "--name", "sn1");

        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains($"run 'swarm certs init --dir {Dir}' first", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.False(File.Exists(FileIn("sn1.crt")));
    }

    [Fact]
    public async Task Issue_keeps_an_existing_identity_unless_forced()
    {
        await InitAsync();
        await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "sn", "--name", "sn1");
        var before = await File.ReadAllTextAsync(FileIn("sn1.crt"));

        var (code, _, error) = await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "sn", "--name", "sn1");

        Assert.Equal(SwarmCli.Failure, code);
        Assert.Contains("--force", error, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(FileIn("sn1.crt")));
        var (forced, _, forcedError) = await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "sn", "--name", "sn1", "--force");
        Assert.True(forced == 0, forcedError);
        Assert.NotEqual(before, await File.ReadAllTextAsync(FileIn("sn1.crt")));
    }

    [Theory]
    [InlineData("--role", "admin", "unknown role 'admin'; choose one of sn, sl, swci, swop")]
    [InlineData("--name", "two words", "--name 'two words' is invalid")]
    [InlineData("--name", "ca", "--name 'ca' is reserved for the CA's own files")]
    [InlineData("--days", "0", "--days must be from 1 to 36500")]
    public async Task Issue_refuses_bad_arguments_as_usage_errors(string option, string value, string expected)
    {
        await InitAsync();
        string[] args = ["certs", "issue", "--dir", Dir, "--role", "sl", "--name", "sl1"];
        var i = Array.IndexOf(args, option);
        args = i >= 0 ? [.. args[..(i + 1)], value, .. args[(i + 2)..]] : [.. args, option, value];

        var (code, _, error) = await CliHarness.RunAsync(args);

        Assert.Equal(SwarmCli.UsageError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Equal(["ca.crt", "ca.key"], Directory.GetFiles(Dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Issue_refuses_a_bad_host_in_one_line()
    {
        await InitAsync();

        var (code, _, error) = await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "sl", "--name", "sl1", "--host", "bad host");

        Assert.Equal(SwarmCli.Failure, code);
        Assert.Equal("error: host 'bad host' is neither an IP address nor a DNS name (labels of letters, digits and '-', separated by '.')", error.TrimEnd());
    }

    [Fact]
    public async Task Show_tells_role_name_hosts_issuer_fingerprint_and_validity()
    {
        await InitAsync("--name", "prod");
        await CliHarness.RunAsync("certs", "issue", "--dir", Dir, "--role", "swop", "--name", "op1", "--host", "op1.example.org");
        using var identity = SwarmIdentity.Load(FileIn("op1.crt"), FileIn("op1.key"));

        var (code, output, error) = await CliHarness.RunAsync("certs", "show", FileIn("op1.crt"));

        Assert.True(code == 0, error);
        Assert.Contains("role         swop", output, StringComparison.Ordinal);
        Assert.Contains("name         op1", output, StringComparison.Ordinal);
        Assert.Contains("hosts        op1.example.org", output, StringComparison.Ordinal);
        Assert.Contains("issuer       CN=prod Swarm CA, O=SwarmLearning", output, StringComparison.Ordinal);
        Assert.Contains($"fingerprint  {identity.Fingerprint}", output, StringComparison.Ordinal);
        Assert.Contains("(expires in 364 days)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_of_the_CA_says_it_is_one()
    {
        await InitAsync();

        var (code, output, error) = await CliHarness.RunAsync("certs", "show", FileIn("ca.crt"), "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var certificate = Assert.Single(json.RootElement.GetProperty("certificates").EnumerateArray());
        Assert.True(certificate.GetProperty("isAuthority").GetBoolean());
        Assert.False(certificate.TryGetProperty("role", out _));
        Assert.Equal("swarm Swarm CA", certificate.GetProperty("name").GetString());
        using var ca = CertificateAuthority.Load(FileIn("ca.crt"), FileIn("ca.key"));
        Assert.Equal(ca.Fingerprint.ToString(), certificate.GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task Show_of_a_key_file_says_to_pass_the_certificate()
    {
        await InitAsync();

        var (code, _, error) = await CliHarness.RunAsync("certs", "show", FileIn("ca.key"));

        Assert.Equal(SwarmCli.Failure, code);
        Assert.Equal($"error: {FileIn("ca.key")} holds a private key, not a certificate; pass the certificate (.crt) file", error.TrimEnd());
    }

    [Fact]
    public async Task Show_of_a_missing_file_is_one_line()
    {
        var (code, _, error) = await CliHarness.RunAsync("certs", "show", FileIn("nope.crt"));

        Assert.Equal(SwarmCli.Failure, code);
        Assert.Equal($"error: {FileIn("nope.crt")}: no such certificate file", error.TrimEnd());
    }

    [Fact]
    public async Task A_site_requests_the_CA_signs_and_the_key_never_leaves_the_site()
    {
        await InitAsync();
        var site = Path.Combine(_harness.Directory, "site");
        var (code, output, error) = await CliHarness.RunAsync("certs", "request", "--role", "sl", "--name", "site3", "--host", "site3.example.org", "--dir", site);
        Assert.True(code == 0, error);
        Assert.Contains("swarm certs sign site3.csr", output, StringComparison.Ordinal);
        Assert.True(OwnerOnly(Path.Combine(site, "site3.key")));
        Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync(Path.Combine(site, "site3.csr")), StringComparison.Ordinal);

        (code, output, error) = await CliHarness.RunAsync("certs", "sign", Path.Combine(site, "site3.csr"), "--dir", Dir, "--days", "10", "--json");
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output))
        {
            Assert.Equal("sl", json.RootElement.GetProperty("role").GetString());
            Assert.Equal("site3", json.RootElement.GetProperty("name").GetString());
        }

        Assert.False(File.Exists(FileIn("site3.key")), "the CA's directory never holds the site's key");
        using var identity = SwarmIdentity.Load(Path.Combine(site, "site3.crt"), Path.Combine(site, "site3.key"));
        Assert.Equal("site3", identity.Name);

        // Listing the site's directory: the identity with its key, and a warning, because 10 days is within 30.
        File.Copy(FileIn("ca.crt"), Path.Combine(site, "ca.crt"));
        (code, output, error) = await CliHarness.RunAsync("certs", "list", "--dir", site);
        Assert.True(code == 0, error);
        Assert.Matches(@"site3\.crt\s+sl\s+site3\s+yes", output);
        Assert.Contains("warning: " + Path.Combine(site, "site3.crt") + " expires in", error, StringComparison.Ordinal);
        (code, _, error) = await CliHarness.RunAsync("certs", "list", "--dir", site, "--warn-days", "5");
        Assert.True(code == 0, error);
        Assert.DoesNotContain("warning", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_something_that_is_not_a_request_is_refused_with_the_file_named()
    {
        await InitAsync();
        var (code, _, error) = await CliHarness.RunAsync("certs", "sign", FileIn("ca.key"), "--dir", Dir);
        Assert.Equal(1, code);
        Assert.Contains($"{FileIn("ca.key")} is not a valid certificate request", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_component_whose_certificate_expires_within_30_days_is_warned_at_start_and_one_with_more_is_not()
    {
        using var ca = CertificateAuthority.Create("test", TimeSpan.FromDays(400));
        var now = DateTimeOffset.UtcNow;
        using var soon = ca.Issue(SwarmRole.Sl, "soon", [], TimeSpan.FromDays(12), now);
        using var later = ca.Issue(SwarmRole.Sn, "later", [], TimeSpan.FromDays(90), now);

        var warning = Commands.CertsCommand.ExpiryWarning(soon, "certs/soon.crt", now);
        Assert.NotNull(warning);
        Assert.StartsWith("warning: certs/soon.crt ('soon') expires in 11 days", warning, StringComparison.Ordinal);
        Assert.Contains("swarm certs request", warning, StringComparison.Ordinal);
        Assert.Null(Commands.CertsCommand.ExpiryWarning(later, "certs/later.crt", now));
        Assert.NotNull(Commands.CertsCommand.ExpiryWarning(later, "certs/later.crt", now.AddDays(61)));
    }
}
