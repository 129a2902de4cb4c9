using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Network.Tests;
using SwarmLearning.Node.Exchange;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Node.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests;

/// <summary>
/// HttpModelExchange between real SL hosts: a fetch keeps a model only if it is exactly what the ledger recorded, and
/// every failure becomes a <see cref="ModelExchangeException"/> that names the peer and the reason.
/// </summary>
public sealed class ModelExchangeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Fetches_a_peers_model_verifies_it_and_keeps_it_in_the_local_store()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(7), CancellationToken.None);
        Assert.False(sl2.Node.Store.Contains(published.Hash));

        var model = await sl2.Node.Exchange.FetchAsync(Member(sl2, sl1), published.Hash, published.Size, CancellationToken.None);

        Assert.Equal(Models.Tiny(7)["fc.weight"].Values, model["fc.weight"].Values);
        Assert.True(sl2.Node.Store.Contains(published.Hash));
    }

    [Fact]
    public async Task The_heap_is_collected_before_a_model_arrives_once_it_and_those_since_the_last_collection_add_up_to_the_threshold()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        using var exchange = new HttpModelExchange(new ModelStore(swarm.Net.Directory.File("x")), swarm.Identity("x"), swarm.Trust, NullLogger.Instance);
        var published = await exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);

        exchange.MakeRoom(HttpModelExchange.CollectAfterBytes - published.Size - 1); // one byte short
        Assert.Equal(0, exchange.Collections);
        exchange.Retain(new HashSet<string>(), arriving: HttpModelExchange.CollectAfterBytes - published.Size); // the published model counts
        Assert.Equal(1, exchange.Collections);
        exchange.MakeRoom(HttpModelExchange.CollectAfterBytes - 1); // counted afresh after a collection
        Assert.Equal(1, exchange.Collections);
        exchange.MakeRoom(HttpModelExchange.CollectAfterBytes);
        Assert.Equal(2, exchange.Collections);
    }

    [Fact]
    public async Task A_kept_model_is_received_into_the_arrays_of_one_the_store_let_go_of_and_still_verified()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var exchange = (HttpModelExchange)sl2.Node.Exchange;
        var first = await sl1.Node.Exchange.PublishAsync(Models.Tiny(1), CancellationToken.None);
        var second = await sl1.Node.Exchange.PublishAsync(Models.Tiny(2), CancellationToken.None);
        var third = await sl1.Node.Exchange.PublishAsync(Models.Tiny(3), CancellationToken.None);

        var one = await exchange.FetchAsync(Member(sl2, sl1), first.Hash, first.Size, CancellationToken.None);
        var arrays = one.NamedTensors.Select(t => t.Values).ToList();
        var allocated = exchange.KeptArraysAllocated;
        Assert.Equal(arrays.Count, allocated);

        // Kept while the store holds it: the next fetch gets fresh arrays.
        exchange.Retain(new HashSet<string>(StringComparer.Ordinal) { first.Hash }, second.Size);
        var two = await exchange.FetchAsync(Member(sl2, sl1), second.Hash, second.Size, CancellationToken.None);
        Assert.Equal(2 * allocated, exchange.KeptArraysAllocated);
        Assert.Equal(Models.Tiny(1)["fc.weight"].Values, one["fc.weight"].Values);

        // Let go of: its arrays hold the next model, whose values and hash are those the peer published.
        exchange.Retain(new HashSet<string>(StringComparer.Ordinal) { second.Hash }, third.Size);
        var three = await exchange.FetchAsync(Member(sl2, sl1), third.Hash, third.Size, CancellationToken.None);
        Assert.Equal(2 * allocated, exchange.KeptArraysAllocated);
        Assert.All(three.NamedTensors, t => Assert.Contains(arrays, a => ReferenceEquals(a, t.Values)));
        Assert.Equal(Models.Tiny(3)["fc.weight"].Values, three["fc.weight"].Values);
        Assert.Equal(Models.Tiny(3)["fc.bias"].Values, three["fc.bias"].Values);
        Assert.Equal(Models.Tiny(2)["fc.weight"].Values, two["fc.weight"].Values);
        using var served = sl2.Node.Store.OpenRead(third.Hash)!;
        var bytes = new MemoryStream();
        await served.CopyToAsync(bytes);
        Assert.Equal(third.Hash, SwarmLearning.Safetensors.ModelHash.Of(bytes.ToArray()));
    }

    [Fact]
    public async Task A_fetch_to_merge_verifies_the_model_just_as_much_and_keeps_no_copy()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(7), CancellationToken.None);

        var model = await sl2.Node.Exchange.FetchToMergeAsync(Member(sl2, sl1), published.Hash, published.Size, CancellationToken.None);

        Assert.Equal(Models.Tiny(7)["fc.bias"].Values, model["fc.bias"].Values);
        Assert.False(sl2.Node.Store.Contains(published.Hash));
        Assert.Empty(Directory.EnumerateFiles(sl2.Node.Store.Directory, "*.tmp"));

        // The same bytes under another recorded hash are refused as by a fetch that keeps.
        var other = new ModelStore(swarm.Net.Directory.File("elsewhere")).Put(Models.Tiny(2));
        await File.WriteAllBytesAsync(sl1.Node.Store.PathOf(other.Hash), Models.Bytes(Models.Tiny(7)));
        var e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            sl2.Node.Exchange.FetchToMergeAsync(Member(sl2, sl1), other.Hash, other.Size, CancellationToken.None));
        Assert.Contains($"hash (BLAKE3) is {published.Hash[..12]}, not {other.Hash[..12]}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fetch_whose_bytes_do_not_match_the_ledger_hash_fails_naming_the_peer_and_keeps_nothing()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var honest = await sl1.Node.Exchange.PublishAsync(Models.Tiny(1), CancellationToken.None);

        // sl1 serves, under the hash the ledger would record for one model, the bytes of another of the same size.
        var recorded = new ModelStore(swarm.Net.Directory.File("elsewhere")).Put(Models.Tiny(2));
        Assert.Equal(honest.Size, recorded.Size);
        await File.WriteAllBytesAsync(sl1.Node.Store.PathOf(recorded.Hash), Models.Bytes(Models.Tiny(1)));

        var e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            sl2.Node.Exchange.FetchAsync(Member(sl2, sl1), recorded.Hash, recorded.Size, CancellationToken.None));

        Assert.Contains("SL node 'sl1'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"hash (BLAKE3) is {honest.Hash[..12]}, not {recorded.Hash[..12]}", e.Message, StringComparison.Ordinal);
        Assert.False(sl2.Node.Store.Contains(recorded.Hash));
        Assert.Empty(Directory.EnumerateFiles(sl2.Node.Store.Directory, "*.tmp"));
    }

    [Fact]
    public async Task A_model_the_peer_does_not_hold_or_will_not_serve_fails_with_its_reason()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(1), CancellationToken.None);
        var missing = new string('a', 64);

        var e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            sl2.Node.Exchange.FetchAsync(Member(sl2, sl1), missing, 100, CancellationToken.None));
        Assert.Contains("SL node 'sl1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not have model aaaaaaaaaaaa", e.Message, StringComparison.Ordinal);

        // An exchange with an identity of the swarm that is not on the ledger: sl1 refuses it.
        using var stranger = new HttpModelExchange(new ModelStore(swarm.Net.Directory.File("stranger")), swarm.Identity("stranger"), swarm.Trust, NullLogger.Instance);
        e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            stranger.FetchAsync(Member(sl2, sl1), published.Hash, published.Size, CancellationToken.None));
        Assert.Contains("refused to serve", e.Message, StringComparison.Ordinal);
        Assert.Contains("not a member", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_peer_or_one_with_another_identity_fails_naming_it()
    {
        await using var swarm = await TestSwarm.StartAsync(output);
        var sl1 = await swarm.StartSlAsync("sl1");
        var sl2 = await swarm.StartSlAsync("sl2");
        var published = await sl1.Node.Exchange.PublishAsync(Models.Tiny(1), CancellationToken.None);
        var sl1Member = Member(sl2, sl1);

        var nowhere = Copy(sl1Member, port: TestNetwork.FreePort());
        var e = await Assert.ThrowsAsync<ModelExchangeException>(() => sl2.Node.Exchange.FetchAsync(nowhere, published.Hash, published.Size, CancellationToken.None));
        Assert.Contains("SL node 'sl1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot fetch model", e.Message, StringComparison.Ordinal);

        // The ledger says sl1 is at the port where the SN listens: TLS refuses a server that is not an SL node.
        var impostor = Copy(sl1Member, port: swarm.Sentinel.Node.Options.ApiPort);
        e = await Assert.ThrowsAsync<ModelExchangeException>(() => sl2.Node.Exchange.FetchAsync(impostor, published.Hash, published.Size, CancellationToken.None));
        Assert.Contains("TLS handshake failed", e.Message, StringComparison.Ordinal);
    }

    private static MemberState Member(Hosting.RunningLearningNode viewer, Hosting.RunningLearningNode peer) =>
        viewer.Node.Ledger.State.Members[peer.Node.Identity.Fingerprint];

    private static MemberState Copy(MemberState m, int port) => new()
    {
        Fingerprint = m.Fingerprint,
        Role = m.Role,
        Name = m.Name,
        Certificate = m.Certificate,
        NotAfter = m.NotAfter,
        RegisteredAt = m.RegisteredAt,
        Host = m.Host,
        FilePort = port,
    };
}
