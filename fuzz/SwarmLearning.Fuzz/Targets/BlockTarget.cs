using System.Buffers.Binary;
using System.Security.Cryptography;
using SwarmLearning.Fuzz.Harness;
using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// The block decoder and what a follower SN or an SL node's replica does next with a block from its peer: the strict
/// <see cref="Block.Decode"/>, then <see cref="ChainVerifier.VerifyGenesis"/> for height 0 or
/// <see cref="ChainVerifier.Verify"/> against the state it follows (orderer signature, every transaction's signature and
/// contract rules, post-state hash). Mutated blocks are often re-signed with the orderer's key so they get past the
/// signature check. The documented refusals are <see cref="LedgerFormatException"/> and <see cref="BlockRejectedException"/>.
/// </summary>
internal sealed class BlockTarget : IFuzzTarget, IDisposable
{
    private static readonly uint[] Counts = [0, 1, 2, Block.MaxTransactions, Block.MaxTransactions + 1, 0x7FFF_FFFF, uint.MaxValue];

    private static readonly ulong[] Heights = [0, 1, 2, 3, 4, long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue];

    private static readonly uint[] TxLengths = [0, 1, 100, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, uint.MaxValue];

    private readonly LedgerCorpus _ledger;
    private readonly bool _ownsLedger;
    private readonly ChainVerifier _verifier = new();

    public BlockTarget(LedgerCorpus? ledger = null)
    {
        _ownsLedger = ledger is null;
        _ledger = ledger ?? new LedgerCorpus();
        Corpus = [.. _ledger.Blocks.Select(b => b.Encoded.ToArray())];
    }

    public string Name => "block";

    public IReadOnlyList<byte[]> Corpus { get; }

    public byte[] Generate(FuzzRandom random) => random.Next(10) switch
    {
        < 4 => ByteMutator.Mutate(random.Pick(Corpus), random, random.SmallCount(8), Corpus),
        < 9 => MutateStructure(random),
        _ => ByteMutator.Mutate(MutateStructure(random), random, random.SmallCount(4), Corpus),
    };

    public void Execute(byte[] input)
    {
        var block = Block.Decode(input);
        _ = block.ToString();
        if (block.Height == 0)
        {
            ChainVerifier.VerifyGenesis(block, null);
            return;
        }

        // Verify against the state it claims to follow when the corpus has it, else against the latest.
        var after = block.Height - 1 < _ledger.States.Count ? (int)(block.Height - 1) : _ledger.States.Count - 1;
        _verifier.Verify(_ledger.States[after], _ledger.Blocks[after].Hash.Span, block);
    }

    public bool IsExpected(Exception exception) => exception is LedgerFormatException or BlockRejectedException;

    public void Dispose()
    {
        if (_ownsLedger)
        {
            _ledger.Dispose();
        }
    }

    private byte[] MutateStructure(FuzzRandom random)
    {
        var original = random.Pick(_ledger.Blocks);
        var height = (ulong)original.Height;
        var previous = original.PreviousHash.ToArray();
        var timestamp = original.Timestamp;
        var transactions = original.Transactions.Select(t => t.Encoded.ToArray()).ToList();
        var stateHash = original.StateHash.ToArray();
        uint? count = null;
        var lengths = new Dictionary<int, uint>();
        var resign = !random.OneIn(4);
        var mutations = random.SmallCount(3);
        for (var i = 0; i < mutations; i++)
        {
            switch (random.Next(9))
            {
                case < 3 when transactions.Count > 0:
                    {
                        // A transaction replaced by a mutated (often re-signed) one: for the genesis block, its payload.
                        var at = random.Next(transactions.Count);
                        transactions[at] = original.Height == 0 || random.OneIn(2)
                            ? MutateGenesisOrOther(original, random)
                            : ByteMutator.Mutate(transactions[at], random, random.SmallCount(4));
                        break;
                    }

                case 3:
                    count = random.OneIn(2) ? random.Pick(Counts) : (uint)(transactions.Count + random.Next(-2, 3));
                    break;
                case 4 when transactions.Count > 0:
                    lengths[random.Next(transactions.Count)] = random.Pick(TxLengths);
                    break;
                case 5:
                    height = random.Pick(Heights);
                    break;
                case 6:
                    switch (random.Next(4))
                    {
                        case 0: timestamp = random.Choose(0L, -1L, long.MinValue, long.MaxValue, timestamp - 1); break;
                        case 1: previous = new byte[32]; break;
                        case 2: stateHash = SHA256.HashData(stateHash); break;
                        default: transactions.Clear(); break;
                    }

                    break;
                case 7 when transactions.Count > 0:
                    {
                        // Many transactions: the same one repeated (a replay within a block), up to the count limit.
                        var repeat = transactions[random.Next(transactions.Count)];
                        var n = Math.Min(random.Choose(2, 100, 2000), ByteMutator.MaxLength / (repeat.Length + 4));
                        transactions.AddRange(Enumerable.Repeat(repeat, n));
                        break;
                    }

                default:
                    transactions.Insert(random.Next(transactions.Count + 1), TransactionTarget.MutateStructure(_ledger, random).ToBytes());
                    break;
            }
        }

        return Encode(height, previous, timestamp, transactions, count, lengths, stateHash, resign);
    }

    private byte[] MutateGenesisOrOther(Block original, FuzzRandom random)
    {
        if (original.Height != 0)
        {
            return TransactionTarget.MutateStructure(_ledger, random).ToBytes();
        }

        // The genesis transaction with a mutated payload, re-signed by the sentinel, so CreateGenesisState reads it.
        var parts = TransactionParts.From(original.Transactions[0]);
        parts.Payload = JsonMutator.Mutate(parts.Payload, random);
        parts.Sign(_ledger.Sentinel);
        return parts.ToBytes();
    }

    private byte[] Encode(ulong height, byte[] previous, long timestamp, List<byte[]> transactions, uint? count, Dictionary<int, uint> lengths, byte[] stateHash, bool resign)
    {
        var bytes = new List<byte>(transactions.Sum(t => t.Length + 4) + 256);
        Span<byte> number = stackalloc byte[8];
        bytes.AddRange("SLBK"u8.ToArray());
        bytes.Add(1);
        BinaryPrimitives.WriteUInt64LittleEndian(number, height);
        bytes.AddRange(number.ToArray());
        bytes.AddRange(previous);
        BinaryPrimitives.WriteInt64LittleEndian(number, timestamp);
        bytes.AddRange(number.ToArray());
        bytes.AddRange(TransactionParts.Bytes(_ledger.Sentinel.Fingerprint));
        BinaryPrimitives.WriteUInt32LittleEndian(number, count ?? (uint)transactions.Count);
        bytes.AddRange(number[..4].ToArray());
        for (var i = 0; i < transactions.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(number, lengths.TryGetValue(i, out var l) ? l : (uint)transactions[i].Length);
            bytes.AddRange(number[..4].ToArray());
            bytes.AddRange(transactions[i]);
        }

        bytes.AddRange(stateHash);
        var hashed = bytes.ToArray();
        var signature = resign ? _ledger.Sentinel.SignHash(SHA256.HashData(hashed)) : new byte[64];
        return [.. hashed, .. signature];
    }
}
