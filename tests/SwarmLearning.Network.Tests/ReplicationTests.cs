using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Network.Tests;

public sealed class ReplicationTests
{
    private static RegisterPayload Registration(SwarmIdentity id) => new()
    {
        Role = SwarmRoles.ToName(id.Role),
        Name = id.Name,
        Certificate = Convert.ToBase64String(id.Certificate.RawData),
        Host = "localhost",
        FilePort = 30305,
    };

    [Fact]
    public async Task Transactions_sent_through_any_SN_appear_on_all_with_equal_state_hashes()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sn1 = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        var sn2 = await net.StartFollowerAsync("sn2", sn1, sentinel); // joins through a follower, not the sentinel
        var nodes = new[] { sentinel, sn1, sn2 };

        var sl1 = net.Client(sn1, "sl1", SwarmRole.Sl);
        var sl2 = net.Client(sn2, "sl2", SwarmRole.Sl);
        var sl3 = net.Client(sentinel, "sl3", SwarmRole.Sl);
        var receipts = new List<Ledger.Ordering.TransactionReceipt>();
        foreach (var client in new[] { sl1, sl2, sl3 })
        {
            receipts.Add(await client.SubmitAsync(TransactionTypes.Register, Registration(client.Identity), PayloadJson.Default.RegisterPayload));
        }

        // A receipt means the block is on the SN that was asked: read-your-writes there, at once.
        Assert.True(sn2.Node.Chain.State!.Members.ContainsKey(sl2.Identity.Fingerprint));
        foreach (var client in new[] { sl1, sl2, sl3 })
        {
            receipts.Add(await client.SubmitAsync(TransactionTypes.RoundReady,
                new ReadyPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = 1, Weight = 1, MinPeers = 3 }, PayloadJson.Default.ReadyPayload));
        }

        var top = receipts.Max(r => r.Height);
        foreach (var node in nodes)
        {
            await TestNetwork.WaitForHeightAsync(node.Node.Chain, top, node.Node.Identity.Name);
        }

        for (var h = 0; h <= top; h++)
        {
            var hashes = nodes.Select(n => n.Node.Chain.GetBlock(h).HashHex).Distinct().ToList();
            Assert.Single(hashes);
        }

        var states = nodes.Select(n => Convert.ToHexStringLower(n.Node.Chain.GetBlock(top).StateHash.Span)).Distinct();
        Assert.Single(states);
        foreach (var receipt in receipts)
        {
            Assert.Contains(sn2.Node.Chain.GetBlock(receipt.Height).Transactions, t => t.Id.ToString() == receipt.TransactionId);
        }

        // The round closed identically everywhere: three participants and the same leader.
        await TestNetwork.WaitUntilAsync(sn2.Node.Chain, s => s.Contracts[LedgerDefaults.HpeDefaultContract].Round.Phase == RoundPhase.Closed, "round 1 closed on sn2");
        var leaders = nodes.Select(n => n.Node.Chain.State!.Contracts[LedgerDefaults.HpeDefaultContract].Round.Leader).Distinct();
        Assert.Single(leaders);

        var status = await sl1.GetStatusAsync();
        Assert.Equal("it", status.Swarm);
        var members = await sl1.GetMembersAsync();
        Assert.Equal(6, members.Count); // three SNs, three SL nodes
        Assert.All(members, m => Assert.True(m.Active));
    }

    [Fact]
    public async Task The_API_refuses_forged_replayed_and_revoked_transactions_with_a_reason()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartAsync(AdminOptions(net), "sn0");
        var sn1 = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        var sl = net.Client(sn1, "sl1", SwarmRole.Sl);
        var admin = net.Client(sn1, "admin", SwarmRole.Swci);
        await sl.SubmitAsync(TransactionTypes.Register, Registration(sl.Identity), PayloadJson.Default.RegisterPayload);
        await admin.SubmitAsync(TransactionTypes.Register, Registration(admin.Identity), PayloadJson.Default.RegisterPayload);

        // Replayed: the same signed transaction twice.
        var heartbeat = await sl.CreateAsync(TransactionTypes.Heartbeat, "{}"u8.ToArray());
        await sl.SubmitAsync(heartbeat);
        var replay = await Assert.ThrowsAsync<TransactionRejectedException>(() => sl.SubmitAsync(heartbeat));
        Assert.Equal(RejectionKind.Replay, replay.Kind);

        // Forged: a payload byte changed after signing.
        var ready = await sl.CreateAsync(TransactionTypes.RoundReady,
            """{"contract":"defaultbb.cqdb.sml.hpe","round":1,"weight":1,"minPeers":5}"""u8.ToArray());
        var bytes = ready.Encoded.ToArray();
        bytes[bytes.AsSpan().IndexOf("\"minPeers\":5"u8) + 11] = (byte)'1';
        var forged = await Assert.ThrowsAsync<TransactionRejectedException>(() => sl.SubmitAsync(Transaction.Decode(bytes)));
        Assert.Equal(RejectionKind.BadSignature, forged.Kind);
        Assert.Contains("forged", forged.Message, StringComparison.Ordinal);

        // Revoked: an administrator revokes the SL node; its next transaction is refused.
        await admin.SubmitAsync(TransactionTypes.Revoke, new RevokePayload { Member = sl.Identity.Fingerprint.ToString(), Reason = "test" }, PayloadJson.Default.RevokePayload);
        var revoked = await Assert.ThrowsAsync<TransactionRejectedException>(() => sl.SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload));
        Assert.Equal(RejectionKind.Forbidden, revoked.Kind);
        Assert.Contains("revoked", revoked.Message, StringComparison.Ordinal);

        // A stranger's transaction (a key this swarm never saw) is refused as unauthenticated.
        var stranger = await Assert.ThrowsAsync<TransactionRejectedException>(() => admin.SubmitAsync(StrangerTransaction()));
        Assert.Equal(RejectionKind.BadSignature, stranger.Kind);
        Assert.Contains("not a member", stranger.Message, StringComparison.Ordinal);

        // Bytes that are no transaction at all: 400 with the reason, and the SN keeps serving.
        using var http = new HttpClient(SwarmTls.CreateClientHandler(admin.Identity, net.Trust));
        using var notATransaction = new ByteArrayContent("not a transaction"u8.ToArray());
        notATransaction.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(Peer.ForwardingOrderer.TransactionContentType);
        using var garbage = await http.PostAsync(new Uri(admin.Address, "/v1/transactions"), notATransaction);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Contains("magic", await garbage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True((await admin.GetStatusAsync()).Height > 0);
    }

    private static SwarmNetworkOptions AdminOptions(TestNetwork net)
    {
        var options = net.Options("sn0", sentinel: true);
        options.Administrators.Add(net.Identity("admin", SwarmRole.Swci).Fingerprint.ToString());
        return options;
    }

    private static Transaction StrangerTransaction()
    {
        // Decodes fine, but its sender is nobody this swarm knows.
        using var ca = CertificateAuthority.Create("x", TimeSpan.FromDays(1));
        using var id = ca.Issue(SwarmRole.Sl, "x", ["localhost"], TimeSpan.FromDays(1));
        return Transaction.Create(id, new byte[32], "no.such-type", 1, "{}"u8);
    }

    [Fact]
    public async Task A_client_without_a_swarm_certificate_cannot_connect()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(1));
        using var stranger = otherCa.Issue(SwarmRole.Sl, "stranger", ["localhost"], TimeSpan.FromDays(1));
        using var client = new Client.SwarmNetworkClient(new Uri($"https://localhost:{sentinel.Node.Options.ApiPort}"), stranger, net.Trust);
        var e = await Assert.ThrowsAsync<SwarmException>(() => client.GetStatusAsync());
        Assert.Contains("cannot reach the SN", e.Message, StringComparison.Ordinal);

        using var plain = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(new Uri($"https://localhost:{sentinel.Node.Options.ApiPort}/v1/status")));
    }

    [Fact]
    public async Task A_follower_refuses_blocks_from_another_swarms_orderer_and_keeps_its_chain()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sn1 = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        var directory = sn1.Node.Options.DataDirectory;
        await net.StopAsync(sn1);
        var heightBefore = sn1.Node.Chain.Height; // after the stop: replication ran until then
        await net.StopAsync(sentinel); // so the only upstream left is the rogue one

        // Another swarm with the same CA: its sentinel signs blocks that do not extend sn1's chain.
        var rogue = await net.StartAsync(net.Options("rogue", sentinel: true), "rogue");
        var options = net.Options("sn1", sentinel: false, rogue, directory);
        var restarted = await net.StartAsync(options, "sn1");
        await TestNetwork.WaitForHeightAsync(rogue.Node.Chain, heightBefore + 3, "the rogue sentinel");
        Assert.Equal(heightBefore, restarted.Node.Chain.Height);
        Assert.Equal(sn1.Node.Chain.Head!.HashHex, restarted.Node.Chain.GetBlock(heightBefore).HashHex);
        Assert.NotEqual(rogue.Node.Chain.GetBlock(1).HashHex, restarted.Node.Chain.GetBlock(1).HashHex);
    }

    [Fact]
    public async Task An_SN_whose_stored_chain_was_edited_refuses_to_start_and_names_the_height()
    {
        await using var net = new TestNetwork();
        var sentinel = await net.StartSentinelAsync();
        var sn1 = await net.StartFollowerAsync("sn1", sentinel, sentinel);
        await TestNetwork.WaitForHeightAsync(sn1.Node.Chain, 4, "sn1");
        var directory = sn1.Node.Options.DataDirectory;
        await net.StopAsync(sn1);

        // Rewrite block 2 with a changed timestamp, keeping the store's checksums valid: only the chain's hashes and
        // signatures can tell.
        var edited = Path.Combine(net.Directory.Path, "edited");
        using (var source = Ledger.Storage.BlockStore.Open(directory))
        using (var target = Ledger.Storage.BlockStore.Open(edited))
        {
            foreach (var (height, record) in source.ReadFrom(0))
            {
                if (height == 2)
                {
                    record[4 + 1 + 8 + 32] ^= 0x01; // the timestamp's low byte (after magic, version, height, previous hash)
                }

                await target.AppendAsync(record);
            }
        }

        var e = await Assert.ThrowsAsync<LedgerCorruptException>(() => net.StartAsync(net.Options("sn1", sentinel: false, sentinel, edited), "sn1"));
        Assert.Equal(2, e.Height);
        Assert.Contains("height 2", e.Message, StringComparison.Ordinal);
    }
}
