using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Chain;

public sealed class ChainVerifierTests : IDisposable
{
    private readonly TestSwarm _swarm = new();
    private readonly ChainVerifier _verifier = new();

    public void Dispose() => _swarm.Dispose();

    private Block Next(SwarmIdentity orderer, long time, Transaction[] txs, byte[]? stateHash = null, long? height = null, byte[]? previous = null)
    {
        var draft = _swarm.State.Clone();
        var engine = new ContractEngine();
        ContractEngine.BeginBlock(draft, _swarm.State.Height + 1, time, []);
        foreach (var tx in txs)
        {
            engine.VerifySignature(draft, tx);
            engine.Apply(draft, tx, []);
        }

        return Block.Create(orderer, height ?? _swarm.State.Height + 1, previous ?? _swarm.Head.Hash.ToArray(), time, txs, stateHash ?? draft.ComputeHash());
    }

    private BlockRejectedException Refuse(Block block) =>
        Assert.Throws<BlockRejectedException>(() => _verifier.Verify(_swarm.State, _swarm.Head.Hash.Span, block));

    [Fact]
    public void A_well_formed_block_verifies_and_round_trips_through_its_encoding()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl);
        var block = Next(_swarm.Sentinel, TestSwarm.T0 + 10, [_swarm.Register(sl)]);
        var decoded = Block.Decode(block.Encoded);
        Assert.Equal(block.Hash.ToArray(), decoded.Hash.ToArray());
        var (state, events) = _verifier.Verify(_swarm.State, _swarm.Head.Hash.Span, decoded);
        Assert.Equal(_swarm.State.Height + 1, state.Height);
        Assert.True(state.Members.ContainsKey(sl.Fingerprint));
        Assert.Single(events);
    }

    [Fact]
    public void A_block_signed_by_a_member_that_is_not_the_orderer_is_refused()
    {
        var rogue = _swarm.Identity("sn9", SwarmRole.Sn);
        _swarm.Apply(TestSwarm.T0 + 1, _swarm.Register(rogue));
        var e = Refuse(Next(rogue, TestSwarm.T0 + 10, [_swarm.Heartbeat(rogue)]));
        Assert.Contains("this swarm's orderer is 'sn0'", e.Message, StringComparison.Ordinal);
        Assert.Equal(_swarm.State.Height + 1, e.Height);
    }

    [Fact]
    public void A_block_with_an_altered_transaction_fails_the_orderer_signature()
    {
        var sl = _swarm.Identity("sl1", SwarmRole.Sl);
        var bytes = Next(_swarm.Sentinel, TestSwarm.T0 + 10, [_swarm.Register(sl, "host-a")]).Encoded.ToArray();
        var at = bytes.AsSpan().IndexOf("host-a"u8);
        bytes[at + 5] = (byte)'b';
        var e = Refuse(Block.Decode(bytes));
        Assert.Contains("signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_whose_post_state_hash_is_wrong_is_refused()
    {
        var block = Next(_swarm.Sentinel, TestSwarm.T0 + 10, [_swarm.Heartbeat(_swarm.Sentinel)], stateHash: new byte[32]);
        Assert.Contains("state hash", Refuse(block).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_that_does_not_extend_the_head_is_refused()
    {
        Assert.Contains("previous hash", Refuse(Next(_swarm.Sentinel, TestSwarm.T0 + 10, [], previous: new byte[32])).Message, StringComparison.Ordinal);
        Assert.Contains("expected height", Refuse(Next(_swarm.Sentinel, TestSwarm.T0 + 10, [], height: 5)).Message, StringComparison.Ordinal);
        Assert.Contains("earlier", Refuse(Next(_swarm.Sentinel, TestSwarm.T0 - 10, [])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_holding_an_invalid_transaction_is_refused_naming_it()
    {
        var sl = _swarm.RegisterSl(1)[0];
        var heartbeat = _swarm.Heartbeat(sl);
        _swarm.Apply(TestSwarm.T0 + 5, heartbeat);

        // A malicious or buggy orderer includes a replay: every SN re-applies the contracts and refuses the block.
        var draft = _swarm.State.Clone();
        var block = Block.Create(_swarm.Sentinel, draft.Height + 1, _swarm.Head.Hash.Span, TestSwarm.T0 + 10, [heartbeat], draft.ComputeHash());
        var e = Refuse(block);
        Assert.Contains("transaction 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("replayed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_genesis_from_a_swarm_that_does_not_trust_our_CA_is_refused()
    {
        using var otherCa = CertificateAuthority.Create("other", TimeSpan.FromDays(3650), DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0 - 86_400_000));
        var genesis = _swarm.Head;
        var (ok, _) = ChainVerifier.VerifyGenesis(Genesis(), new SwarmTrust([_swarm.Ca.Certificate]));
        Assert.Equal(0, ok.Height);
        var e = Assert.Throws<BlockRejectedException>(() => ChainVerifier.VerifyGenesis(Genesis(), new SwarmTrust([otherCa.Certificate])));
        Assert.Contains("another swarm", e.Message, StringComparison.Ordinal);
        Assert.NotNull(genesis);
    }

    private Block Genesis() =>
        SwarmLearning.Ledger.Chain.Genesis.Create(_swarm.Sentinel, "test", [_swarm.Ca.Certificate], [], new LedgerDefaults(), null, null, null, DateTimeOffset.FromUnixTimeMilliseconds(TestSwarm.T0));

    [Fact]
    public void Transactions_and_blocks_refuse_truncated_or_padded_encodings()
    {
        var tx = _swarm.Heartbeat(_swarm.Sentinel).Encoded.ToArray();
        Assert.Throws<Serialization.LedgerFormatException>(() => Transaction.Decode(tx.AsSpan(0, tx.Length - 1)));
        Assert.Throws<Serialization.LedgerFormatException>(() => Transaction.Decode(tx.Append((byte)0).ToArray()));
        Assert.Contains("magic", Assert.Throws<Serialization.LedgerFormatException>(() => Transaction.Decode("nope, not a transaction"u8)).Message, StringComparison.Ordinal);
        var block = _swarm.Head.Encoded.ToArray();
        Assert.Throws<Serialization.LedgerFormatException>(() => Block.Decode(block.AsMemory(0, block.Length - 1)));
        Assert.Throws<Serialization.LedgerFormatException>(() => Block.Decode(block.Append((byte)1).ToArray()));
    }
}
