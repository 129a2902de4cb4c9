using System.Net.Security;
using System.Net.Sockets;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Issue 6 §1: running SNs pick up a new certificate installed over their files and rotate to it without a restart,
/// real hosts on loopback. The old certificate is refused from the rotation's block on; the new one presents, signs
/// and (on the sentinel) orders.
/// </summary>
public sealed class RotationTests
{
    private static readonly string[] Hosts = ["localhost", "127.0.0.1"];

    /// <summary>Writes <paramref name="name"/>'s identity to a certificate and key file, as <c>swarm certs issue</c> would, and points the options at them.</summary>
    private static (string Certificate, string Key) Install(TestNetwork net, string name, SwarmNetworkOptions options)
    {
        var directory = net.Directory.File($"certs-{name}");
        Directory.CreateDirectory(directory);
        var files = (Path.Combine(directory, $"{name}.crt"), Path.Combine(directory, $"{name}.key"));
        net.Identity(name).Save(files.Item1, files.Item2);
        options.CertificateFile = files.Item1;
        options.KeyFile = files.Item2;
        return files;
    }

    /// <summary>The fingerprint of the certificate the server on <paramref name="port"/> presents in a TLS handshake.</summary>
    private static async Task<Fingerprint> PresentedAsync(int port, SwarmIdentity client, SwarmTrust trust)
    {
        using var handler = SwarmTls.CreateClientHandler(client, trust);
        var options = handler.SslOptions;
        options.TargetHost = "localhost";
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("localhost", port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(options).WaitAsync(TestNetwork.Patience);
        return Fingerprint.Of(tls.RemoteCertificate!.GetRawCertData());
    }

    [Fact]
    public async Task A_follower_sn_rotates_to_a_certificate_installed_over_its_files_and_its_old_certificate_is_refused()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var options = net.Options("sn1", sentinel: false, join: sentinel);
        var (certificate, key) = Install(net, "sn1", options);
        var follower = await net.StartAsync(options, "sn1");
        var old = net.Identity("sn1");
        await TestNetwork.WaitUntilAsync(sentinel.Node.Chain, s => s.Members.ContainsKey(old.Fingerprint), "sn1 registered");
        var observer = net.Identity("swci1", SwarmRole.Swci);
        Assert.Equal(old.Fingerprint, await PresentedAsync(follower.Node.Options.ApiPort, observer, net.Trust));

        using var next = net.Ca.Issue(SwarmRole.Sn, "sn1", Hosts, TimeSpan.FromDays(7));
        next.Save(certificate, key, overwrite: true);

        // A heartbeat signed by the new key, forwarded to the sentinel over the peer port with the new certificate.
        await TestNetwork.WaitUntilAsync(sentinel.Node.Chain, s => s.Sequences.ContainsKey(next.Fingerprint), "sn1 heartbeats with its new certificate");
        var state = sentinel.Node.Chain.State!;
        Assert.Equal(next.Fingerprint, state.Rotations[old.Fingerprint].New);
        Assert.Equal((options.Host, options.ApiPort, options.PeerPort), (state.Members[next.Fingerprint].Host, state.Members[next.Fingerprint].ApiPort, state.Members[next.Fingerprint].PeerPort));
        Assert.Equal(next.Fingerprint, follower.Node.Identity.Fingerprint);
        Assert.Equal(next.Fingerprint, await PresentedAsync(follower.Node.Options.ApiPort, observer, net.Trust));
        Assert.Equal(next.Fingerprint, await PresentedAsync(follower.Node.Options.PeerPort, observer, net.Trust));

        // The old certificate is refused by both SNs, on the API port and on the peer port.
        foreach (var sn in new[] { sentinel, follower })
        {
            using var asOld = new SwarmNetworkClient(new Uri($"https://localhost:{sn.Node.Options.ApiPort}"), old, net.Trust);
            var refused = await Assert.ThrowsAsync<SwarmException>(() => asOld.GetStatusAsync());
            Assert.Contains("403", refused.Message, StringComparison.Ordinal);
            Assert.Contains("rotated", refused.Message, StringComparison.Ordinal);
        }

        var (status, body) = await RawHttps.SendAsync(sentinel.Node.Options.PeerPort, old, net.Trust, "GET", "/peer/v1/blocks?from=0");
        Assert.Equal(403, status);
        Assert.Contains("rotated", RawHttps.ErrorOf(body).Message, StringComparison.Ordinal);

        // The follower keeps working: it forwards a client's transaction and replicates its block.
        var client = net.Client(follower, "swci1", SwarmRole.Swci);
        var receipt = await client.SubmitAsync(TransactionTypes.Register, new RegisterPayload
        {
            Role = "swci",
            Name = "swci1",
            Certificate = Convert.ToBase64String(observer.Certificate.RawData),
        }, PayloadJson.Default.RegisterPayload);
        Assert.True(follower.Node.Chain.Height >= receipt.Height);
        Assert.Contains(net.Logs.Lines, l => l.Contains("Refused", StringComparison.Ordinal) && l.Contains("rotated", StringComparison.Ordinal));

        // The rotation itself is quiet: replication moved to the new certificate without reporting a failure.
        Assert.DoesNotContain(net.Logs.Lines, l => l.Contains("Replicator", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_sentinel_rotates_and_orders_the_following_blocks_with_its_new_key()
    {
        await using var net = new TestNetwork();
        var options = net.Options("sn0", sentinel: true);
        var (certificate, key) = Install(net, "sn0", options);
        var sentinel = await net.StartAsync(options, "sn0");
        var follower = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        var old = net.Identity("sn0");

        using var next = net.Ca.Issue(SwarmRole.Sn, "sn0", Hosts, TimeSpan.FromDays(7));
        next.Save(certificate, key, overwrite: true);

        // The follower verifies every block: the ones after the rotation carry the new orderer's signature.
        await TestNetwork.WaitUntilAsync(follower.Node.Chain, s => s.Orderer == next.Fingerprint && s.Sequences.ContainsKey(next.Fingerprint), "blocks ordered by the sentinel's new key");
        Assert.Equal(next.Fingerprint, follower.Node.Chain.Head!.Orderer);
        Assert.True(follower.Node.Chain.State!.IsAdministrator(next.Fingerprint));
        Assert.Equal(next.Fingerprint, await PresentedAsync(sentinel.Node.Options.PeerPort, net.Identity("sn1"), net.Trust));

        // Still an administrator, under its new certificate: it enrols, and the follower sees the enrolment.
        var newcomer = net.Identity("sl9", SwarmRole.Sl, enrol: false);
        var enrolled = await sentinel.Node.EnrolAsync(TestNetwork.Enrolment(newcomer));
        await TestNetwork.WaitForHeightAsync(follower.Node.Chain, enrolled.Height, "the follower");
        Assert.True(follower.Node.Chain.State!.Enrolments.ContainsKey(newcomer.Fingerprint));

        using var asOld = new SwarmNetworkClient(new Uri($"https://localhost:{follower.Node.Options.ApiPort}"), old, net.Trust);
        Assert.Contains("rotated", (await Assert.ThrowsAsync<SwarmException>(() => asOld.GetStatusAsync())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_certificate_of_another_ca_or_with_the_wrong_key_leaves_the_sn_on_its_identity_with_a_warning()
    {
        await using var net = new TestNetwork();
        var options = net.Options("sn0", sentinel: true);
        var (certificate, key) = Install(net, "sn0", options);
        var sentinel = await net.StartAsync(options, "sn0");
        var old = net.Identity("sn0");

        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(30));
        using var stranger = otherCa.Issue(SwarmRole.Sn, "sn0", Hosts, TimeSpan.FromDays(7));
        stranger.Save(certificate, key, overwrite: true);
        await net.Logs.WaitForLineAsync("not issued by this swarm's CA");

        // A certificate of the swarm's CA, but the key left is another one's.
        using var next = net.Ca.Issue(SwarmRole.Sn, "sn0", Hosts, TimeSpan.FromDays(7));
        await File.WriteAllTextAsync(certificate, next.Certificate.ExportCertificatePem());
        await net.Logs.WaitForLineAsync("is not the private key of");

        var warnings = net.Logs.Lines.Where(l => l.Contains("cannot be used", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Contains(certificate, w, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.Contains("keeps running with certificate " + old.Fingerprint.Short, w, StringComparison.Ordinal));

        // Still itself: it orders and heartbeats as before.
        var before = sentinel.Node.Chain.State!.Members[old.Fingerprint].LastHeartbeat;
        await TestNetwork.WaitUntilAsync(sentinel.Node.Chain, s => s.Members[old.Fingerprint].LastHeartbeat > before, "another heartbeat of the old identity");
        Assert.Empty(sentinel.Node.Chain.State!.Rotations);
        Assert.Equal(old.Fingerprint, sentinel.Node.Identity.Fingerprint);
        Assert.Equal(old.Fingerprint, sentinel.Node.Chain.Head!.Orderer);
    }
}
