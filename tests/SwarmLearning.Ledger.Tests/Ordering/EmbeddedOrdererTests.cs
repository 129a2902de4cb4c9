using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Ordering;

/// <summary>
/// The sentinel's orderer on an in-memory chain: how heartbeats wait for company (<see cref="EmbeddedOrderer.HeartbeatLinger"/>).
/// </summary>
public sealed class EmbeddedOrdererTests
{
    /// <summary>Far longer than any test waits: a block cut before it ends was cut by something else.</summary>
    private static readonly TimeSpan LongLinger = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Heartbeats_that_arrive_while_one_lingers_share_its_block()
    {
        await using var swarm = await OrderedSwarm.CreateAsync(TimeSpan.FromSeconds(3), "sl1", "sl2", "sl3");
        var heartbeats = new List<Task<TransactionReceipt>>();
        foreach (var member in swarm.Members)
        {
            // Spaced out, as members' heartbeats are: without the linger each would be cut into a block of its own.
            heartbeats.Add(swarm.SubmitAsync(member, TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload));
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        var receipts = await Task.WhenAll(heartbeats).WaitAsync(Patience);

        Assert.Single(receipts.Select(r => r.Height).Distinct());
        Assert.Equal(3, swarm.Chain.Head!.Transactions.Count);
        Assert.All(swarm.Members, m => Assert.Equal(swarm.Chain.Head.Timestamp, swarm.Chain.State!.Members[m.Fingerprint].LastHeartbeat));
    }

    [Fact]
    public async Task Another_transaction_cuts_the_block_at_once_with_the_lingering_heartbeat_in_it()
    {
        await using var swarm = await OrderedSwarm.CreateAsync(LongLinger, "sl1");
        var heartbeat = swarm.SubmitAsync(swarm.Members[0], TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload);

        // The heartbeat lingers: no block for it on its own (a minute's linger is far from over).
        var first = await Task.WhenAny(heartbeat, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.NotSame(heartbeat, first);

        var late = swarm.Ca.Issue(SwarmRole.Sl, "sl9", ["localhost"], TimeSpan.FromDays(29));
        var enrol = swarm.SubmitAsync(swarm.Sentinel, TransactionTypes.Enrol, new EnrolPayload
        {
            Fingerprint = late.Fingerprint.ToString(),
            Role = "sl",
            Name = "sl9",
        }, PayloadJson.Default.EnrolPayload);

        var both = await Task.WhenAll(heartbeat, enrol).WaitAsync(Patience);

        Assert.Equal(both[0].Height, both[1].Height);
        Assert.Equal([TransactionTypes.Heartbeat, TransactionTypes.Enrol], swarm.Chain.Head!.Transactions.Select(t => t.Type));
    }

    [Fact]
    public async Task A_heartbeat_still_lingering_when_the_orderer_stops_fails_instead_of_waiting_forever()
    {
        var swarm = await OrderedSwarm.CreateAsync(LongLinger, "sl1");
        var heartbeat = swarm.SubmitAsync(swarm.Members[0], TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload);
        var first = await Task.WhenAny(heartbeat, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.NotSame(heartbeat, first);

        await swarm.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => heartbeat.WaitAsync(Patience));
    }

    [Fact]
    public async Task With_no_linger_a_heartbeat_is_cut_into_a_block_of_its_own_at_once()
    {
        await using var swarm = await OrderedSwarm.CreateAsync(TimeSpan.Zero, "sl1");
        var height = swarm.Chain.State!.Height;

        var receipt = await swarm.SubmitAsync(swarm.Members[0], TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload).WaitAsync(Patience);

        Assert.Equal(height + 1, receipt.Height);
        Assert.Single(swarm.Chain.Head!.Transactions);
    }

    /// <summary>A sentinel's in-memory chain and orderer, with SL members enrolled and registered through it.</summary>
    private sealed class OrderedSwarm : IAsyncDisposable
    {
        private readonly Dictionary<Fingerprint, ulong> _sequences = [];
        private EmbeddedOrderer? _orderer;

        private OrderedSwarm(CertificateAuthority ca, SwarmIdentity sentinel, LedgerChain chain)
        {
            Ca = ca;
            Sentinel = sentinel;
            Chain = chain;
        }

        public CertificateAuthority Ca { get; }

        public SwarmIdentity Sentinel { get; }

        public LedgerChain Chain { get; }

        public List<SwarmIdentity> Members { get; } = [];

        public static async Task<OrderedSwarm> CreateAsync(TimeSpan linger, params string[] members)
        {
            var ca = CertificateAuthority.Create("orderer-test", TimeSpan.FromDays(30));
            var sentinel = ca.Issue(SwarmRole.Sn, "sentinel", ["localhost"], TimeSpan.FromDays(29));
            var chain = LedgerChain.CreateInMemory(new SwarmTrust([ca.Certificate]));
            await chain.AppendAsync(Genesis.Create(sentinel, "orderer-test", [ca.Certificate], [], new LedgerDefaults(), null, null, null, DateTimeOffset.UtcNow));
            var swarm = new OrderedSwarm(ca, sentinel, chain);

            // Members join with no linger, so that setting up costs no waiting; the orderer under test starts after.
            swarm._orderer = new EmbeddedOrderer(chain, sentinel) { HeartbeatLinger = TimeSpan.Zero };
            foreach (var name in members)
            {
                var id = ca.Issue(SwarmRole.Sl, name, ["localhost"], TimeSpan.FromDays(29));
                await swarm.SubmitAsync(sentinel, TransactionTypes.Enrol, new EnrolPayload { Fingerprint = id.Fingerprint.ToString(), Role = "sl", Name = name }, PayloadJson.Default.EnrolPayload);
                await swarm.SubmitAsync(id, TransactionTypes.Register, new RegisterPayload
                {
                    Role = "sl",
                    Name = name,
                    Certificate = Convert.ToBase64String(id.Certificate.RawData),
                    Host = "localhost",
                }, PayloadJson.Default.RegisterPayload);
                swarm.Members.Add(id);
            }

            await swarm._orderer.DisposeAsync();
            swarm._orderer = new EmbeddedOrderer(chain, sentinel) { HeartbeatLinger = linger };
            return swarm;
        }

        public Task<TransactionReceipt> SubmitAsync<T>(SwarmIdentity sender, string type, T payload, JsonTypeInfo<T> json)
        {
            var sequence = _sequences[sender.Fingerprint] = _sequences.GetValueOrDefault(sender.Fingerprint) + 1;
            var tx = Transaction.Create(sender, Chain.ChainId.Span, type, sequence, JsonSerializer.SerializeToUtf8Bytes(payload, json));
            return _orderer!.SubmitAsync(tx, CancellationToken.None);
        }

        public async ValueTask DisposeAsync()
        {
            if (_orderer is not null)
            {
                await _orderer.DisposeAsync();
            }

            await Chain.DisposeAsync();
        }
    }
}
