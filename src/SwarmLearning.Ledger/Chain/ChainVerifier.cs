using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Contracts;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// Verifies a block against the state it follows: height, previous hash, timestamp order, orderer, the orderer's
/// signature, every transaction's signature and contract rules, and the post-state hash. On success returns the new
/// state (a copy; the input is untouched) and the events the block produced.
/// </summary>
internal sealed class ChainVerifier
{
    private readonly ContractEngine _engine = new();
    private ECDsa? _ordererKey;
    private Fingerprint _ordererKeyOf;

    /// <summary>Verifies the genesis block and builds the first state.</summary>
    public static (LedgerState State, List<LedgerEvent> Events) VerifyGenesis(Block block, SwarmTrust? localTrust)
    {
        if (block.Height != 0)
        {
            throw Refuse(block, $"the first block must have height 0");
        }

        if (block.PreviousHash.Span.ContainsAnyExcept((byte)0))
        {
            throw Refuse(block, "the genesis block's previous hash must be all zero");
        }

        if (block.Transactions.Count != 1)
        {
            throw Refuse(block, $"the genesis block must hold exactly one transaction, not {block.Transactions.Count}");
        }

        var genesis = block.Transactions[0];
        if (block.Orderer != genesis.Sender)
        {
            throw Refuse(block, "the genesis block must be signed by the sentinel that signed the genesis transaction");
        }

        var events = new List<LedgerEvent>();
        LedgerState state;
        try
        {
            state = ContractEngine.CreateGenesisState(genesis, block.Timestamp, events);
        }
        catch (TransactionRejectedException e)
        {
            throw Refuse(block, e.Message, e);
        }

        state.Height = 0;
        using (var key = LoadKey(state.Members[state.Orderer].Certificate))
        {
            if (!block.VerifySignature(key))
            {
                throw Refuse(block, "the orderer's signature does not verify: the block was altered or not signed by the sentinel");
            }
        }

        CheckStateHash(block, state);
        if (localTrust is not null)
        {
            // A joining SN trusts its own CA file, and accepts a swarm only if that swarm trusts the same CA.
            var ours = localTrust.Authorities.Select(Fingerprint.Of).ToHashSet();
            if (!state.Trust.Authorities.Any(a => ours.Contains(Fingerprint.Of(a))))
            {
                throw Refuse(block, "the swarm's genesis trusts none of this node's CA certificates; this node was given another swarm's address or CA");
            }
        }

        return (state, events);
    }

    /// <summary>Verifies a block that follows <paramref name="state"/>.</summary>
    public (LedgerState State, List<LedgerEvent> Events) Verify(LedgerState state, ReadOnlySpan<byte> headHash, Block block)
    {
        if (block.Height != state.Height + 1)
        {
            throw Refuse(block, $"expected height {state.Height + 1}");
        }

        if (!block.PreviousHash.Span.SequenceEqual(headHash))
        {
            throw Refuse(block, $"its previous hash {Convert.ToHexStringLower(block.PreviousHash.Span)[..12]} is not the hash of block {state.Height} ({Convert.ToHexStringLower(headHash)[..12]}): history was rewritten");
        }

        if (block.Timestamp < state.Time)
        {
            throw Refuse(block, $"its timestamp {block.Timestamp} is earlier than block {state.Height}'s ({state.Time})");
        }

        if (block.Orderer != state.Orderer)
        {
            var name = state.Members.TryGetValue(block.Orderer, out var m) ? $"'{m.Name}' ({block.Orderer})" : block.Orderer.ToString();
            throw Refuse(block, $"it names {name} as its orderer, but this swarm's orderer is '{state.Members[state.Orderer].Name}' ({state.Orderer})");
        }

        if (!block.VerifySignature(OrdererKey(state)))
        {
            throw Refuse(block, "the orderer's signature does not verify: the block was altered or forged");
        }

        var next = state.Clone();
        var events = new List<LedgerEvent>();
        ContractEngine.BeginBlock(next, block.Height, block.Timestamp, events);
        for (var i = 0; i < block.Transactions.Count; i++)
        {
            var tx = block.Transactions[i];
            try
            {
                _engine.VerifySignature(next, tx);
                _engine.Apply(next, tx, events);
            }
            catch (TransactionRejectedException e)
            {
                throw Refuse(block, $"transaction {i} ({tx}) is invalid: {e.Message}", e);
            }
        }

        CheckStateHash(block, next);
        return (next, events);
    }

    /// <summary>The engine, for the orderer, which applies transactions one at a time.</summary>
    public ContractEngine Engine => _engine;

    private ECDsa OrdererKey(LedgerState state)
    {
        if (_ordererKey is null || _ordererKeyOf != state.Orderer)
        {
            _ordererKey?.Dispose();
            _ordererKey = LoadKey(state.Members[state.Orderer].Certificate);
            _ordererKeyOf = state.Orderer;
        }

        return _ordererKey;
    }

    private static void CheckStateHash(Block block, LedgerState state)
    {
        var hash = state.ComputeHash();
        if (!hash.AsSpan().SequenceEqual(block.StateHash.Span))
        {
            throw Refuse(block, $"its state hash {Convert.ToHexStringLower(block.StateHash.Span)[..12]} differs from the state this SN computes ({Convert.ToHexStringLower(hash)[..12]}): the contracts ran differently");
        }
    }

    private static ECDsa LoadKey(byte[] der)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(der);
        return certificate.GetECDsaPublicKey() ?? throw new InvalidOperationException("the orderer's certificate has no ECDSA key");
    }

    private static BlockRejectedException Refuse(Block block, string reason, Exception? inner = null) =>
        inner is null ? new BlockRejectedException(block.Height, $"block {block.Height} refused: {reason}")
            : new BlockRejectedException(block.Height, $"block {block.Height} refused: {reason}", inner);
}

/// <summary>A block that fails verification. <see cref="Height"/> names it.</summary>
public sealed class BlockRejectedException : SwarmException
{
    /// <summary>Creates the error.</summary>
    public BlockRejectedException(long height, string message)
        : base(message) => Height = height;

    /// <summary>Creates the error with its cause.</summary>
    public BlockRejectedException(long height, string message, Exception innerException)
        : base(message, innerException) => Height = height;

    /// <summary>Creates the error with no message; prefer the overloads that say why.</summary>
    public BlockRejectedException()
    {
    }

    /// <summary>Creates the error with a message.</summary>
    public BlockRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a message and cause.</summary>
    public BlockRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The height of the refused block.</summary>
    public long Height { get; }
}
