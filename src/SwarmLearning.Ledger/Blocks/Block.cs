using System.Security.Cryptography;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Blocks;

/// <summary>
/// A block: height, the previous block's hash, a timestamp, the orderer, the transactions, the hash of the contract
/// state after applying them, and the orderer's signature over the block hash.
/// </summary>
/// <remarks>
/// Canonical encoding, little-endian: magic "SLBK", version u8 = 1, height u64, previous hash (32), timestamp i64 (Unix
/// milliseconds), orderer fingerprint (32), transaction count u32, each transaction as u32 length + its encoding, state
/// hash (32), then the 64-byte ECDSA P-256 signature over the block hash. The block hash is the SHA-256 of everything
/// before the signature, so it covers every transaction and the post-state.
/// </remarks>
public sealed class Block
{
    /// <summary>The most transactions in one block.</summary>
    public const int MaxTransactions = 8192;

    /// <summary>The largest encoded block.</summary>
    public const int MaxEncodedSize = 32 << 20;

    /// <summary>
    /// The latest block timestamp, Unix milliseconds: the last millisecond of the year 9999, the end of
    /// <see cref="DateTimeOffset"/>'s range. Timestamps run from 0 to this; the contracts turn them into times.
    /// </summary>
    public const long MaxTimestamp = 253_402_300_799_999;

    /// <summary>The size of a hash.</summary>
    public const int HashSize = 32;

    private static ReadOnlySpan<byte> Magic => "SLBK"u8;

    private const byte Version = 1;

    private readonly byte[] _encoded;
    private readonly int _hashedLength;

    private Block(byte[] encoded, int hashedLength, long height, byte[] previousHash, long timestamp, Fingerprint orderer, IReadOnlyList<Transaction> transactions, byte[] stateHash)
    {
        _encoded = encoded;
        _hashedLength = hashedLength;
        Height = height;
        PreviousHash = previousHash;
        Timestamp = timestamp;
        Orderer = orderer;
        Transactions = transactions;
        StateHash = stateHash;
        Hash = SHA256.HashData(encoded.AsSpan(0, hashedLength));
    }

    /// <summary>The height: 0 for genesis.</summary>
    public long Height { get; }

    /// <summary>The previous block's hash (all zero for genesis).</summary>
    public ReadOnlyMemory<byte> PreviousHash { get; }

    /// <summary>When the orderer cut the block, Unix milliseconds. Never earlier than the previous block's.</summary>
    public long Timestamp { get; }

    /// <summary>The orderer that signed it.</summary>
    public Fingerprint Orderer { get; }

    /// <summary>The transactions, in order.</summary>
    public IReadOnlyList<Transaction> Transactions { get; }

    /// <summary>SHA-256 of the contract state after applying this block.</summary>
    public ReadOnlyMemory<byte> StateHash { get; }

    /// <summary>The block hash: SHA-256 of the encoding before the signature.</summary>
    public ReadOnlyMemory<byte> Hash { get; }

    /// <summary>The orderer's signature over <see cref="Hash"/>.</summary>
    public ReadOnlySpan<byte> Signature => _encoded.AsSpan(_hashedLength, SwarmSignature.Size);

    /// <summary>The whole encoding.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded;

    /// <summary>The block hash as lowercase hex.</summary>
    public string HashHex => Convert.ToHexStringLower(Hash.Span);

    /// <summary>Builds and signs a block.</summary>
    public static Block Create(SwarmIdentity orderer, long height, ReadOnlySpan<byte> previousHash, long timestamp, IReadOnlyList<Transaction> transactions, ReadOnlySpan<byte> stateHash)
    {
        ArgumentNullException.ThrowIfNull(orderer);
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentOutOfRangeException.ThrowIfNegative(timestamp);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timestamp, MaxTimestamp);
        var size = transactions.Sum(t => t.Encoded.Length + 4) + 256;
        var w = new LedgerWriter(size);
        w.WriteFixed(Magic);
        w.WriteU8(Version);
        w.WriteU64((ulong)height);
        w.WriteFixed(previousHash);
        w.WriteI64(timestamp);
        w.WriteFingerprint(orderer.Fingerprint);
        w.WriteU32((uint)transactions.Count);
        foreach (var tx in transactions)
        {
            w.WriteBytes(tx.Encoded.Span);
        }

        w.WriteFixed(stateHash);
        var hashed = w.Length;
        Span<byte> hash = stackalloc byte[HashSize];
        SHA256.HashData(w.WrittenSpan, hash);
        w.WriteFixed(orderer.SignHash(hash));
        return new Block(w.ToArray(), hashed, height, previousHash.ToArray(), timestamp, orderer.Fingerprint, transactions, stateHash.ToArray());
    }

    /// <summary>Decodes a block strictly (every transaction too); verifies nothing (see <c>ChainVerifier</c>).</summary>
    public static Block Decode(ReadOnlyMemory<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new LedgerFormatException($"block: {encoded.Length} bytes, more than the limit of {MaxEncodedSize}");
        }

        var bytes = encoded.ToArray();
        var r = new LedgerReader(bytes, "block");
        if (!r.ReadFixed(4, "magic").SequenceEqual(Magic))
        {
            throw new LedgerFormatException("block: does not start with the magic \"SLBK\"; this is not a SwarmLearning block");
        }

        var version = r.ReadU8("version");
        if (version != Version)
        {
            throw new LedgerFormatException($"block: version {version} is not supported (this SN reads version {Version})");
        }

        var heightRaw = r.ReadU64("height");
        if (heightRaw > long.MaxValue)
        {
            throw new LedgerFormatException($"block: height {heightRaw} is out of range");
        }

        var height = (long)heightRaw;
        var previous = r.ReadFixed(HashSize, "previousHash").ToArray();
        var timestamp = r.ReadI64("timestamp");
        if (timestamp is < 0 or > MaxTimestamp)
        {
            // Checked here, where the bytes are read: a time out of DateTimeOffset's range made the contracts fail
            // with ArgumentOutOfRangeException instead of refusing the block (found by fuzzing).
            throw new LedgerFormatException($"block {height}: field 'timestamp' is {timestamp}, not a time (Unix milliseconds from 0 to {MaxTimestamp}, the end of year 9999)");
        }

        var orderer = r.ReadFingerprint("orderer");
        var count = r.ReadU32("transactionCount");
        if (count > MaxTransactions)
        {
            throw new LedgerFormatException($"block {height}: {count} transactions, more than the limit of {MaxTransactions}");
        }

        var transactions = new Transaction[count];
        for (var i = 0; i < count; i++)
        {
            var txBytes = r.ReadBytes($"transactions[{i}]", Transaction.MaxEncodedSize);
            try
            {
                transactions[i] = Transaction.Decode(txBytes);
            }
            catch (LedgerFormatException e)
            {
                throw new LedgerFormatException($"block {height}, transaction {i}: {e.Message}", e);
            }
        }

        var stateHash = r.ReadFixed(HashSize, "stateHash").ToArray();
        var hashed = r.Position;
        r.ReadFixed(SwarmSignature.Size, "signature");
        r.ExpectEnd();
        return new Block(bytes, hashed, height, previous, timestamp, orderer, transactions, stateHash);
    }

    /// <summary>Checks the orderer's signature over the block hash.</summary>
    public bool VerifySignature(ECDsa ordererKey) => SwarmSignature.VerifyHash(ordererKey, Hash.Span, Signature);

    /// <inheritdoc/>
    public override string ToString() => $"block {Height} ({HashHex[..12]}, {Transactions.Count} tx)";
}
