using System.Diagnostics;
using System.Net;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Node.Hosting;
using SwarmLearning.Node.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// Issue 6 §2: revoking a live SL node, with real hosts in-process. Its requests are refused by the SN and by its
/// peers' file servers, its pending submission is left out of the merge, it loses the lead, and the round completes
/// for the others.
/// </summary>
public sealed class RevocationTests(ITestOutputHelper output)
{
    private const string Contract = LedgerDefaults.HpeDefaultContract;

    [Fact]
    public async Task A_revoked_leader_is_refused_everywhere_its_submission_is_left_out_and_the_round_completes_for_the_others()
    {
        await using var swarm = await TestSwarm.StartAsync(output, TestSwarm.Fast with { FullQuorumWaitSeconds = 60 });

        // The victim must lead round 2, so that revoking it tests the lead as well as its submission: of two fresh
        // identities, the one that ranks first is the victim (the order is fixed by ledger data alone).
        var ranked = swarm.ByLeaderRank(2, "sl-a", "sl-b");
        var (victimName, peerName) = (ranked[0], ranked[1]);
        var victim = await swarm.StartSlAsync(victimName);
        var peer = await swarm.StartSlAsync(peerName);
        RunningLearningNode[] nodes = [victim, peer];
        var channels = nodes.Select(swarm.Channel).ToArray();
        var sessions = await Task.WhenAll(channels.Select(c => c.OpenAsync("""{"syncFrequency": 1, "minPeers": 2, "apiVersion": 2}""")));
        await Bounded.WithinAsync(Task.WhenAll(channels.Select((c, i) => c.CallAsync(sessions[i], "begin", Models.Tiny(i)))), "the initial sync");

        // A third participant, driven by hand, is ready for round 2 but never submits, so the leader of round 2 waits
        // for it (up to 30 s) with the two other submissions in hand: the revocation lands while the round is pending.
        using var late = await swarm.ReadyLateParticipantAsync(2);

        var syncs = channels.Select((c, i) => c.CallAsync(sessions[i], "sync", Models.Tiny(10 * (i + 1)))).ToArray();
        var chain = swarm.Sentinel.Node.Chain;
        await swarm.WaitForSubmissionsAsync(2, victim.Node.Identity.Fingerprint, peer.Node.Identity.Fingerprint);
        var round = chain.State!.Contracts[Contract].Round;
        Assert.Equal(victim.Node.Identity.Fingerprint, round.Leader);
        Assert.Equal(3, round.Participants.Count);

        // Revoke the leader, with its submission recorded and the merge pending.
        var revoked = await swarm.Sentinel.Node.RevokeAsync(victim.Node.Identity.Fingerprint, "test: stolen key");
        var revokedAt = Stopwatch.GetTimestamp();
        round = chain.State!.Contracts[Contract].Round;
        Assert.Equal(2, round.Number);
        Assert.Equal(peer.Node.Identity.Fingerprint, round.Leader);
        Assert.Equal("revoked", Assert.Single(round.Failovers).Reason);
        Assert.DoesNotContain(victim.Node.Identity.Fingerprint, round.Submissions.Keys);
        Assert.DoesNotContain(victim.Node.Identity.Fingerprint, round.Participants);

        // Its requests to the SN are refused from the revoking block on.
        using (var asVictim = new Network.Client.SwarmNetworkClient(victim.Node.Ledger.SwarmNetwork, victim.Node.Identity, swarm.Trust))
        {
            var refused = await Assert.ThrowsAsync<SwarmException>(() => asVictim.GetStatusAsync());
            Assert.Contains("403", refused.Message, StringComparison.Ordinal);
            Assert.Contains("revoked", refused.Message, StringComparison.Ordinal);
        }

        // And by its peer's file server, once the peer's replica holds that block: within one heartbeat interval.
        await TestSwarm.WaitUntilAsync(peer, s => s.Height >= revoked.Height, "the peer's replica holds the revocation");
        var published = await peer.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);
        using var fetch = await swarm.FileClient(victim.Node.Identity).GetAsync(new Uri($"https://localhost:{peer.Node.Options.FilePort}/v1/models/{published.Hash}"));
        var elapsed = Stopwatch.GetElapsedTime(revokedAt);
        Assert.Equal(HttpStatusCode.Forbidden, fetch.StatusCode);
        Assert.Contains("revoked", await fetch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(elapsed <= TimeSpan.FromSeconds(chain.State!.Defaults.HeartbeatIntervalSeconds),
            $"the peer's file server refused the revoked node {elapsed.TotalMilliseconds:0} ms after the revocation, more than one heartbeat interval");

        // The hand-driven participant goes too, so nobody waits for its submission; the new leader merges what is left.
        await swarm.Sentinel.Node.RevokeAsync(late.Identity.Fingerprint, "test: never submits");
        var answer = await Bounded.WithinAsync(syncs[1], "the peer's round 2");
        var merged = peer.Node.Ledger.State.Contracts[Contract].LastMerged!;
        Assert.Equal(2, merged.Round);
        Assert.Equal(peer.Node.Identity.Fingerprint, merged.Leader);
        Assert.Equal([peer.Node.Identity.Fingerprint], merged.Contributors);
        Assert.Equal(merged.ModelHash, answer.Hash);
        Assert.Equal([20f / 2, -20f], Models.Values(answer.Model!, "fc.bias")); // the peer's own model alone, none of the victim's
    }
}
