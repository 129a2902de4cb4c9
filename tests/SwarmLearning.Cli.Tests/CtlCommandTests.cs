using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Network;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Node.Hosting;

namespace SwarmLearning.Cli.Tests;

/// <summary>
/// <c>swarm ctl enrol</c>, <c>revoke</c> and <c>members</c> against a real sentinel SN and SL node in this process, with
/// identities made by <c>swarm certs</c> in the test.
/// </summary>
public sealed class CtlCommandTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private string Certs => Path.Combine(_harness.Directory, "certs");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task IssueAsync(string role, string name) =>
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "issue", "--role", role, "--name", name, "--dir", Certs)).Code);

    /// <summary>A CSV data directory: three clusters in 5 features; 150 training and 30 test rows.</summary>
    private string CsvData()
    {
        var dir = Path.Combine(_harness.Directory, "csv");
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

    [Fact]
    public async Task An_identity_enrolled_with_swarm_ctl_enrol_registers_and_trains_and_only_administrators_enrol_or_revoke()
    {
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", Certs)).Code);
        await IssueAsync("sn", "sn0");
        await IssueAsync("swci", "admin");
        await IssueAsync("swci", "bob");
        await IssueAsync("sl", "sl1");
        var trust = SwarmTrust.Load(Path.Combine(Certs, "ca.crt"));

        // A sentinel whose genesis names 'admin' an administrator and enrols 'bob' (not an administrator).
        var options = new SwarmNetworkOptions { Sentinel = true, DataDirectory = Path.Combine(_harness.Directory, "sn0"), ApiPort = FreePort(), PeerPort = FreePort() };
        options.Administrators.Add(CertificateSummary.Read(Path.Combine(Certs, "admin.crt"))[0].Fingerprint.ToString());
        var bob = CertificateSummary.Read(Path.Combine(Certs, "bob.crt"))[0];
        options.Enrolled.Add(new Ledger.Transactions.EnrolPayload { Fingerprint = bob.Fingerprint.ToString(), Role = "swci", Name = "bob" });
        using var snIdentity = SwarmIdentity.Load(Path.Combine(Certs, "sn0.crt"), Path.Combine(Certs, "sn0.key"));
        await using var sn = await SwarmNetworkHost.StartAsync(options, snIdentity, trust);
        var api = $"localhost:{options.ApiPort}";
        string[] As(string name) => ["--sn", api, "--certs", Certs, "--name", name];

        // sl1 is a valid identity of the CA, but not enrolled: the SN refuses it, and says what to do.
        using var slIdentity = SwarmIdentity.Load(Path.Combine(Certs, "sl1.crt"), Path.Combine(Certs, "sl1.key"));
        await using var sl = await SwarmLearningHost.StartAsync(
            new SwarmLearningNodeOptions { DataDirectory = Path.Combine(_harness.Directory, "sl1"), SwarmNetwork = api, FilePort = FreePort(), Host = "localhost" }, slIdentity, trust);
        var (code, _, error) = await CliHarness.RunAsync(["ctl", "members", .. As("sl1")]);
        Assert.Equal(1, code);
        Assert.Contains("not enrolled", error, StringComparison.Ordinal);
        Assert.Contains("swarm ctl enrol", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.False(sl.Registered.IsCompleted);

        // bob may connect, but is no administrator: he can neither enrol nor revoke.
        (code, _, error) = await CliHarness.RunAsync(["ctl", "enrol", Path.Combine(Certs, "sl1.crt"), .. As("bob")]);
        Assert.Equal(1, code);
        Assert.Contains("refused the enrolment", error, StringComparison.Ordinal);
        Assert.Contains("not an administrator", error, StringComparison.Ordinal);
        (code, _, error) = await CliHarness.RunAsync(["ctl", "revoke", Path.Combine(Certs, "admin.crt"), .. As("bob")]);
        Assert.Equal(1, code);
        Assert.Contains("not an administrator", error, StringComparison.Ordinal);

        // The administrator enrols sl1: it registers by itself, and trains.
        (code, var output, error) = await CliHarness.RunAsync(["ctl", "enrol", Path.Combine(Certs, "sl1.crt"), "--note", "site 1", "--json", .. As("admin")]);
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output))
        {
            Assert.Equal("sl1", json.RootElement.GetProperty("name").GetString());
            Assert.Equal("sl", json.RootElement.GetProperty("role").GetString());
            Assert.Equal(slIdentity.Fingerprint.ToString(), json.RootElement.GetProperty("fingerprint").GetString());
        }

        await sl.Registered.WaitAsync(Patience);
        (code, _, error) = await CliHarness.RunAsync("train", "-d", CsvData(), "-e", "1", "-b", "50", "--swarm", "--sl-socket", sl.SocketPath, "--sync-frequency", "1", "--min-peers", "1");
        Assert.True(code == 0, error);
        Assert.NotNull(sn.Node.Chain.State!.Contracts[Ledger.Transactions.LedgerDefaults.HpeDefaultContract].LastMerged);

        // members lists everyone, with the administrator marked.
        (code, output, error) = await CliHarness.RunAsync(["ctl", "members", "--json", .. As("admin")]);
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output))
        {
            var byName = json.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e);
            Assert.True(byName["admin"].GetProperty("administrator").GetBoolean());
            Assert.True(byName["sn0"].GetProperty("administrator").GetBoolean());
            Assert.True(byName["bob"].GetProperty("registered").GetBoolean()); // ctl registered him to send his (refused) enrolment
            Assert.True(byName["bob"].GetProperty("enrolled").GetBoolean());
            Assert.False(byName["bob"].GetProperty("administrator").GetBoolean());
            Assert.Equal("active", byName["sl1"].GetProperty("status").GetString());
        }

        // Revoked: listed as such, and refused.
        (code, output, error) = await CliHarness.RunAsync(["ctl", "revoke", Path.Combine(Certs, "sl1.crt"), "--reason", "left", .. As("admin")]);
        Assert.True(code == 0, error);
        Assert.Contains("revoked 'sl1'", output, StringComparison.Ordinal);
        (code, output, _) = await CliHarness.RunAsync(["ctl", "members", .. As("admin")]);
        Assert.Equal(0, code);
        Assert.Contains(output.Split('\n'), l => l.Contains("sl1", StringComparison.Ordinal) && l.Contains("revoked", StringComparison.Ordinal));
        (code, _, error) = await CliHarness.RunAsync(["ctl", "members", .. As("sl1")]);
        Assert.Equal(1, code);
        Assert.Contains("revoked", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewed_certificate_installed_with_swarm_certs_install_is_rotated_to_and_listed_by_swarm_ctl_members()
    {
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", Certs)).Code);
        await IssueAsync("sn", "sn0");
        await IssueAsync("swci", "admin");
        await IssueAsync("sl", "sl1");
        await IssueAsync("sl", "sl2");
        var trust = SwarmTrust.Load(Path.Combine(Certs, "ca.crt"));
        var options = new SwarmNetworkOptions { Sentinel = true, DataDirectory = Path.Combine(_harness.Directory, "sn0"), ApiPort = FreePort(), PeerPort = FreePort() };
        options.Administrators.Add(CertificateSummary.Read(Path.Combine(Certs, "admin.crt"))[0].Fingerprint.ToString());
        var old = CertificateSummary.Read(Path.Combine(Certs, "sl1.crt"))[0].Fingerprint;
        options.Enrolled.Add(new Ledger.Transactions.EnrolPayload { Fingerprint = old.ToString(), Role = "sl", Name = "sl1" });
        using var snIdentity = SwarmIdentity.Load(Path.Combine(Certs, "sn0.crt"), Path.Combine(Certs, "sn0.key"));
        await using var sn = await SwarmNetworkHost.StartAsync(options, snIdentity, trust);
        var api = $"localhost:{options.ApiPort}";
        string[] As(string name) => ["--sn", api, "--certs", Certs, "--name", name];

        // The SL node runs from the certs directory, watching its files as 'swarm sl' does.
        using var slIdentity = SwarmIdentity.Load(Path.Combine(Certs, "sl1.crt"), Path.Combine(Certs, "sl1.key"));
        await using var sl = await SwarmLearningHost.StartAsync(new SwarmLearningNodeOptions
        {
            DataDirectory = Path.Combine(_harness.Directory, "sl1"),
            SwarmNetwork = api,
            FilePort = FreePort(),
            Host = "localhost",
            CertificateFile = Path.Combine(Certs, "sl1.crt"),
            KeyFile = Path.Combine(Certs, "sl1.key"),
        }, slIdentity, trust);
        await sl.Registered.WaitAsync(Patience);

        // The site makes a new key and request elsewhere, the CA signs it, the site installs it over the node's files.
        var renewal = Path.Combine(_harness.Directory, "renewal");
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "request", "--role", "sl", "--name", "sl1", "--dir", renewal)).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "sign", Path.Combine(renewal, "sl1.csr"), "--dir", Certs)).Code);

        // Another component's certificate is not installed over sl1's.
        var (code, output, error) = await CliHarness.RunAsync("certs", "install", Path.Combine(Certs, "sl2.crt"), Path.Combine(Certs, "sl2.key"), "--dir", Certs, "--name", "sl1");
        Assert.Equal(1, code);
        Assert.Contains("keeps the role and the name", error, StringComparison.Ordinal);

        (code, output, error) = await CliHarness.RunAsync("certs", "install", Path.Combine(renewal, "sl1.crt"), Path.Combine(renewal, "sl1.key"), "--dir", Certs);
        Assert.True(code == 0, error);
        Assert.Contains("rotates to the new certificate", output, StringComparison.Ordinal);
        Assert.Equal(old, CertificateSummary.Read(Path.Combine(Certs, "sl1.crt.previous"))[0].Fingerprint);
        var next = CertificateSummary.Read(Path.Combine(Certs, "sl1.crt"))[0].Fingerprint;
        Assert.NotEqual(old, next);

        // The running node rotates; members shows the old certificate as rotated and the new one as its successor.
        var chain = sn.Node.Chain;
        using (var timeout = new CancellationTokenSource(Patience))
        {
            while (chain.State is not { } state || !state.Sequences.ContainsKey(next))
            {
                await chain.WaitForHeightAsync(chain.Height + 1, timeout.Token);
            }
        }

        (code, output, error) = await CliHarness.RunAsync(["ctl", "members", "--json", .. As("admin")]);
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output))
        {
            var sl1 = json.RootElement.EnumerateArray().Where(e => e.TryGetProperty("name", out var n) && n.GetString() == "sl1").ToDictionary(e => e.GetProperty("fingerprint").GetString()!, e => e);
            Assert.Equal(2, sl1.Count);
            Assert.Equal("rotated", sl1[old.ToString()].GetProperty("status").GetString());
            Assert.Equal(next.ToString(), sl1[old.ToString()].GetProperty("rotatedTo").GetString());
            Assert.Equal("active", sl1[next.ToString()].GetProperty("status").GetString());
            Assert.Equal(old.ToString(), sl1[next.ToString()].GetProperty("rotatedFrom").GetString());
        }

        (code, output, _) = await CliHarness.RunAsync(["ctl", "members", .. As("admin")]);
        Assert.Equal(0, code);
        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.Contains(old.ToString(), StringComparison.Ordinal) && l.Contains("rotated", StringComparison.Ordinal) && l.Contains("-> " + next.Short, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(next.ToString(), StringComparison.Ordinal) && l.Contains("active", StringComparison.Ordinal) && l.Contains("(was " + old.Short + ")", StringComparison.Ordinal));

        // An administrator's swci identity has no running node to rotate it: 'ctl rotate' records it, then the new pair
        // is installed, and the administrator acts under the new certificate.
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "request", "--role", "swci", "--name", "admin", "--dir", renewal)).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "sign", Path.Combine(renewal, "admin.csr"), "--dir", Certs)).Code);
        (code, _, error) = await CliHarness.RunAsync(["ctl", "rotate", Path.Combine(renewal, "sl1.crt"), Path.Combine(renewal, "sl1.key"), .. As("admin")]);
        Assert.Equal(1, code);
        Assert.Contains("keeps the role and the name", error, StringComparison.Ordinal);
        (code, output, error) = await CliHarness.RunAsync(["ctl", "rotate", Path.Combine(renewal, "admin.crt"), Path.Combine(renewal, "admin.key"), "--reason", "yearly", "--json", .. As("admin")]);
        Assert.True(code == 0, error);
        var newAdmin = CertificateSummary.Read(Path.Combine(renewal, "admin.crt"))[0].Fingerprint;
        using (var json = JsonDocument.Parse(output))
        {
            Assert.Equal(newAdmin.ToString(), json.RootElement.GetProperty("to").GetString());
        }

        (code, _, error) = await CliHarness.RunAsync(["ctl", "members", .. As("admin")]);
        Assert.Equal(1, code); // the files still hold the retired certificate
        Assert.Contains("rotated", error, StringComparison.Ordinal);
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "install", Path.Combine(renewal, "admin.crt"), Path.Combine(renewal, "admin.key"), "--dir", Certs)).Code);
        (code, output, error) = await CliHarness.RunAsync(["ctl", "members", "--json", .. As("admin")]);
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output))
        {
            var admin = json.RootElement.EnumerateArray().Single(e => e.GetProperty("fingerprint").GetString() == newAdmin.ToString());
            Assert.True(admin.GetProperty("administrator").GetBoolean());
            Assert.NotEqual("rotated", admin.GetProperty("status").GetString()); // active or registered: ctl does not heartbeat
            Assert.True(admin.TryGetProperty("rotatedFrom", out _));
        }
    }

    [Fact]
    public async Task Enrol_needs_a_certificate_or_a_whole_fingerprint_role_and_name()
    {
        var (code, _, error) = await CliHarness.RunAsync("ctl", "enrol", "--name", "admin");
        Assert.Equal(2, code);
        Assert.Contains("CERTFILE", error, StringComparison.Ordinal);
        (code, _, error) = await CliHarness.RunAsync("ctl", "enrol", "--name", "admin", "--fingerprint", new string('a', 64));
        Assert.Equal(2, code);
        Assert.Contains("--role", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_of_another_CA_is_not_enrolled_and_the_error_says_why()
    {
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", Certs)).Code);
        await IssueAsync("swci", "admin");
        var other = Path.Combine(_harness.Directory, "other");
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", other)).Code);
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "issue", "--role", "sl", "--name", "sl9", "--dir", other)).Code);
        var (code, _, error) = await CliHarness.RunAsync("ctl", "enrol", Path.Combine(other, "sl9.crt"), "--name", "admin", "--certs", Certs, "--sn", "localhost:1");
        Assert.Equal(1, code);
        Assert.Contains("not issued by this swarm's CA", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_commands_and_options()
    {
        var (code, output, _) = await CliHarness.RunAsync("ctl", "--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "enrol", "revoke", "rotate", "members" })
        {
            Assert.Contains(command, output, StringComparison.Ordinal);
        }

        (code, output, _) = await CliHarness.RunAsync("ctl", "enrol", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "CERTFILE", "--fingerprint", "--role", "--member-name", "--note", "--sn", "--certs", "--name", "--json" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }
}
