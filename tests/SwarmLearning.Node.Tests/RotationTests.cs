using System.Net;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// Issue 6 §1: an SL node rotates to a new certificate installed over its files while it trains, with real hosts
/// in-process: its ready, submission and lead in the round under way carry over, the old certificate is refused by the
/// SN and by peers, and rounds go on under the new one. A pair that does not fit leaves the node as it was.
/// </summary>
public sealed class RotationTests(ITestOutputHelper output)
{
    private const string Contract = LedgerDefaults.HpeDefaultContract;
    private static readonly string[] Hosts = ["localhost", "127.0.0.1"];

    /// <summary>Options for <paramref name="name"/> whose identity files are written where the node watches them.</summary>
    private static (SwarmLearningNodeOptions Options, string Certificate, string Key) WithFiles(TestSwarm swarm, string name)
    {
        var directory = swarm.Net.Directory.File($"certs-{name}");
        Directory.CreateDirectory(directory);
        var certificate = Path.Combine(directory, $"{name}.crt");
        var key = Path.Combine(directory, $"{name}.key");
        swarm.Identity(name).Save(certificate, key);
        var options = swarm.Options(name);
        options.CertificateFile = certificate;
        options.KeyFile = key;
        return (options, certificate, key);
    }

    [Fact]
    public async Task A_leader_rotates_mid_round_and_the_round_and_the_next_one_merge_under_its_new_certificate()
    {
        await using var swarm = await TestSwarm.StartAsync(output);

        // The rotating node must lead round 2: of two fresh identities, the one that ranks first rotates (the order is
        // fixed by ledger data).
        var ranked = swarm.ByLeaderRank(2, "sl-a", "sl-b");
        var (name, peerName) = (ranked[0], ranked[1]);
        var peerId = swarm.Identity(peerName);
        var old = swarm.Identity(name);
        var (options, certificate, key) = WithFiles(swarm, name);
        var rotating = await swarm.StartSlAsync(name, options);
        var peer = await swarm.StartSlAsync(peerName);
        RunningLearningNode[] nodes = [rotating, peer];
        var channels = nodes.Select(swarm.Channel).ToArray();
        var sessions = await Task.WhenAll(channels.Select(c => c.OpenAsync("""{"syncFrequency": 1, "minPeers": 2, "apiVersion": 2}""")));
        await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "begin", Models.Tiny(i)))), "the initial sync");

        // A third participant, driven by hand, is ready for round 2 but does not submit yet, so the leader waits for it
        // with both submissions in hand while the rotation happens.
        using var late = await swarm.ReadyLateParticipantAsync(2);
        var syncs = channels.Select((c, i) => c.CallAsync(sessions[i], "sync", Models.Tiny(10 * (i + 1)))).ToArray();
        var chain = swarm.Sentinel.Node.Chain;
        await swarm.WaitForSubmissionsAsync(2, old.Fingerprint, peerId.Fingerprint);
        Assert.Equal(old.Fingerprint, chain.State!.Contracts[Contract].Round.Leader);

        // Install a new certificate and key over the node's files.
        using var next = swarm.Net.Ca.Issue(SwarmRole.Sl, name, Hosts, TimeSpan.FromDays(7));
        next.Save(certificate, key, overwrite: true);
        await Network.Tests.TestNetwork.WaitUntilAsync(chain, s => s.Sequences.ContainsKey(next.Fingerprint), $"'{name}' heartbeats with its new certificate");
        Assert.Equal(next.Fingerprint, rotating.Node.Identity.Fingerprint);
        var round = chain.State!.Contracts[Contract].Round;
        Assert.Equal(2, round.Number);
        Assert.Equal(next.Fingerprint, round.Leader);
        Assert.True(round.Submissions.ContainsKey(next.Fingerprint), "the submission made before the rotation still counts");
        await swarm.Log.WaitForLineAsync($"'{name}' now runs with certificate {next.Fingerprint.Short}");

        // The old certificate is refused by the SN and, once its replica holds the rotation, by the peer's file server.
        using (var asOld = new Network.Client.SwarmNetworkClient(rotating.Node.Ledger.SwarmNetwork, old, swarm.Trust))
        {
            var refused = await Assert.ThrowsAsync<SwarmException>(() => asOld.GetStatusAsync());
            Assert.Contains("403", refused.Message, StringComparison.Ordinal);
            Assert.Contains("rotated", refused.Message, StringComparison.Ordinal);
        }

        await TestSwarm.WaitUntilAsync(peer, s => s.Rotations.ContainsKey(old.Fingerprint), "the peer's replica holds the rotation");
        var published = await peer.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        var peerModel = new Uri($"https://localhost:{peer.Node.Options.FilePort}/v1/models/{published.Hash}");
        using (var fetch = await swarm.FileClient(old).GetAsync(peerModel))
        {
            Assert.Equal(HttpStatusCode.Forbidden, fetch.StatusCode);
            Assert.Contains("rotated", await fetch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Its file server presents the new certificate to new connections.
        using (var handler = SwarmTls.CreateClientHandler(peerId, swarm.Trust, SwarmRole.Sl))
        {
            var check = handler.SslOptions.RemoteCertificateValidationCallback!;
            Fingerprint? presented = null;
            handler.SslOptions.RemoteCertificateValidationCallback = (sender, c, chainInfo, errors) =>
            {
                presented = c is null ? null : Fingerprint.Of(c.GetRawCertData());
                return check(sender, c, chainInfo, errors);
            };
            using var http = new HttpClient(handler, disposeHandler: false);
            using var response = await http.GetAsync(new Uri($"https://localhost:{rotating.Node.Options.FilePort}/v1/models/{published.Hash}"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode); // admitted; the model is the peer's, not its
            Assert.Equal(next.Fingerprint, presented);
        }

        // Let the round go: the leader merges under its new certificate, with its submission from before the rotation.
        await swarm.Sentinel.Node.RevokeAsync(late.Identity.Fingerprint, "test: never submits");
        var answers = await Bounded.WithinAsync(Task.WhenAll(syncs), "round 2");
        var merged = chain.State!.Contracts[Contract].LastMerged!;
        Assert.Equal((2L, next.Fingerprint), (merged.Round, merged.Leader));
        Assert.Equal(new[] { next.Fingerprint, peerId.Fingerprint }.Order(), merged.Contributors);
        Assert.All(answers, a => Assert.True(a.Contributed));
        Assert.Equal(answers[0].Hash, answers[1].Hash);

        // And the next round, whose leader order ranks the new fingerprint.
        var third = await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "sync", Models.Tiny(100 * (i + 1))))), "round 3");
        Assert.Equal(third[0].Hash, third[1].Hash);
        Assert.Equal(3, chain.State!.Contracts[Contract].LastMerged!.Round);
        Assert.Contains(next.Fingerprint, chain.State!.Contracts[Contract].LastMerged!.Contributors);
    }

    [Fact]
    public async Task A_certificate_of_another_ca_or_a_key_that_does_not_match_leaves_the_node_on_its_identity_with_a_clear_warning()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var old = swarm.Identity("sl1");
        var (options, certificate, key) = WithFiles(swarm, "sl1");
        var node = await swarm.StartSlAsync("sl1", options);

        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(30));
        using var stranger = otherCa.Issue(SwarmRole.Sl, "sl1", Hosts, TimeSpan.FromDays(7));
        stranger.Save(certificate, key, overwrite: true);
        await swarm.Log.WaitForLineAsync("not issued by this swarm's CA");

        using var next = swarm.Net.Ca.Issue(SwarmRole.Sl, "sl1", Hosts, TimeSpan.FromDays(7));
        await File.WriteAllTextAsync(certificate, next.Certificate.ExportCertificatePem()); // the stranger's key stays
        await swarm.Log.WaitForLineAsync("is not the private key of");

        var warnings = swarm.Log.LinesOf("sl1").Where(l => l.Contains("cannot be used", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Contains(" Warn ", w, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.Contains(certificate, w, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.Contains($"keeps running with certificate {old.Fingerprint.Short}", w, StringComparison.Ordinal));

        // Still itself: registered, heartbeating with the old certificate, nothing rotated.
        var chain = swarm.Sentinel.Node.Chain;
        var before = chain.State!.Members[old.Fingerprint].LastHeartbeat;
        await Network.Tests.TestNetwork.WaitUntilAsync(chain, s => s.Members[old.Fingerprint].LastHeartbeat > before, "another heartbeat of the old identity");
        Assert.Empty(chain.State!.Rotations);
        Assert.Equal(old.Fingerprint, node.Node.Identity.Fingerprint);
        Assert.Equal(old.Fingerprint, node.Node.Ledger.Self);
    }
}
