using System.Security.Cryptography;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Ledger.Transactions;

/// <summary>
/// A signed ledger transaction: its type, a JSON payload, the sender's certificate fingerprint, the sender's sequence
/// number and the sender's signature. The signature covers the swarm's chain id (the genesis block hash), so a
/// transaction signed for one swarm is worthless in another even when both trust the same CA.
/// </summary>
/// <remarks>
/// Canonical encoding, little-endian: magic "SLTX", version u8 = 1, chain id (32 bytes), type (u16-length UTF-8),
/// sender fingerprint (32), sequence u64, payload (u32-length JSON, UTF-8), then the 64-byte ECDSA P-256 signature over
/// everything before it. The transaction id is the SHA-256 of the signed part.
/// </remarks>
public sealed class Transaction
{
    /// <summary>The largest encoded transaction an SN accepts.</summary>
    public const int MaxEncodedSize = 1 << 20;

    /// <summary>The longest type name.</summary>
    public const int MaxTypeLength = 64;

    private static ReadOnlySpan<byte> Magic => "SLTX"u8;

    private const byte Version = 1;

    private readonly byte[] _encoded;
    private readonly int _signedLength;

    private Transaction(byte[] encoded, int signedLength, byte[] chainId, string type, Fingerprint sender, ulong sequence, ReadOnlyMemory<byte> payload)
    {
        _encoded = encoded;
        _signedLength = signedLength;
        ChainId = chainId;
        Type = type;
        Sender = sender;
        Sequence = sequence;
        Payload = payload;
        Id = new TransactionId(SHA256.HashData(encoded.AsSpan(0, signedLength)));
    }

    /// <summary>The id: the SHA-256 of the signed part of the encoding.</summary>
    public TransactionId Id { get; }

    /// <summary>The genesis block hash of the swarm this transaction was signed for (all zero for the genesis transaction).</summary>
    public ReadOnlyMemory<byte> ChainId { get; }

    /// <summary>The transaction type, for example <c>member.heartbeat</c>; see <see cref="TransactionTypes"/>.</summary>
    public string Type { get; }

    /// <summary>The fingerprint of the sender's certificate.</summary>
    public Fingerprint Sender { get; }

    /// <summary>The sender's sequence number: each must exceed the last one the ledger accepted from the same sender.</summary>
    public ulong Sequence { get; }

    /// <summary>The payload, UTF-8 JSON.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The whole encoding, signature included.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded;

    /// <summary>The part the signature covers.</summary>
    public ReadOnlySpan<byte> SignedPart => _encoded.AsSpan(0, _signedLength);

    /// <summary>The signature, 64 bytes.</summary>
    public ReadOnlySpan<byte> Signature => _encoded.AsSpan(_signedLength, SwarmSignature.Size);

    /// <summary>Builds and signs a transaction.</summary>
    public static Transaction Create(SwarmIdentity sender, ReadOnlySpan<byte> chainId, string type, ulong sequence, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (chainId.Length != ChainIdSize)
        {
            throw new ArgumentException($"a chain id is {ChainIdSize} bytes", nameof(chainId));
        }

        ValidateType(type);
        var writer = new LedgerWriter(payload.Length + 200);
        writer.WriteFixed(Magic);
        writer.WriteU8(Version);
        writer.WriteFixed(chainId);
        writer.WriteString(type);
        writer.WriteFingerprint(sender.Fingerprint);
        writer.WriteU64(sequence);
        writer.WriteBytes(payload);
        var signedLength = writer.Length;
        Span<byte> signature = stackalloc byte[SwarmSignature.Size];
        sender.Sign(writer.WrittenSpan, signature);
        writer.WriteFixed(signature);
        if (writer.Length > MaxEncodedSize)
        {
            throw new SwarmException($"a '{type}' transaction of {writer.Length} bytes is larger than the limit of {MaxEncodedSize} bytes");
        }

        return Decode(writer.ToArray(), signedLength);
    }

    /// <summary>The size of a chain id (a SHA-256).</summary>
    public const int ChainIdSize = 32;

    /// <summary>Decodes a transaction strictly; does not check the signature (see <see cref="VerifySignature"/>).</summary>
    public static Transaction Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new LedgerFormatException($"transaction: {encoded.Length} bytes, more than the limit of {MaxEncodedSize}");
        }

        return Decode(encoded.ToArray(), signedLength: -1);
    }

    private static Transaction Decode(byte[] encoded, int signedLength)
    {
        var reader = new LedgerReader(encoded, "transaction");
        if (!reader.ReadFixed(4, "magic").SequenceEqual(Magic))
        {
            throw new LedgerFormatException("transaction: does not start with the magic \"SLTX\"; this is not a SwarmLearning transaction");
        }

        var version = reader.ReadU8("version");
        if (version != Version)
        {
            throw new LedgerFormatException($"transaction: version {version} is not supported (this SN reads version {Version})");
        }

        var chainId = reader.ReadFixed(ChainIdSize, "chainId").ToArray();
        var type = reader.ReadString("type", MaxTypeLength);
        ValidateTypeForFormat(type);
        var sender = reader.ReadFingerprint("sender");
        var sequence = reader.ReadU64("sequence");
        var payloadStart = reader.Position + 4;
        var payloadLength = reader.ReadBytes("payload", MaxEncodedSize).Length;
        var signed = reader.Position;
        if (signedLength >= 0 && signed != signedLength)
        {
            throw new InvalidOperationException("encoder and decoder disagree on the signed length");
        }

        reader.ReadFixed(SwarmSignature.Size, "signature");
        reader.ExpectEnd();
        return new Transaction(encoded, signed, chainId, type, sender, sequence, encoded.AsMemory(payloadStart, payloadLength));
    }

    /// <summary>Checks the signature with the sender's public key.</summary>
    public bool VerifySignature(ECDsa senderKey) => SwarmSignature.Verify(senderKey, SignedPart, Signature);

    /// <inheritdoc/>
    public override string ToString() => $"{Type} from {Sender.Short} #{Sequence} ({Id.Short})";

    private static void ValidateType(string type)
    {
        if (!IsValidType(type))
        {
            throw new ArgumentException($"'{type}' is not a valid transaction type (lowercase letters, digits, '.' and '-', at most {MaxTypeLength})", nameof(type));
        }
    }

    private static void ValidateTypeForFormat(string type)
    {
        if (!IsValidType(type))
        {
            throw new LedgerFormatException($"transaction: field 'type' \"{type}\" is not a valid transaction type");
        }
    }

    private static bool IsValidType(string type) =>
        type.Length is > 0 and <= MaxTypeLength && type.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-');
}

/// <summary>A transaction id: the SHA-256 of the transaction's signed part.</summary>
public readonly struct TransactionId : IEquatable<TransactionId>
{
    private readonly byte[] _bytes;

    /// <summary>Wraps 32 bytes.</summary>
    public TransactionId(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length != 32)
        {
            throw new ArgumentException("a transaction id is 32 bytes", nameof(bytes));
        }

        _bytes = bytes;
    }

    /// <summary>The 32 bytes.</summary>
    public ReadOnlySpan<byte> AsSpan() => _bytes;

    /// <summary>The first 12 hex digits, for logs.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "A short id, as in git's short hashes; the same name as Fingerprint.Short.")]
    public string Short => ToString()[..12];

    /// <summary>Parses 64 hex digits.</summary>
    public static bool TryParse(string? hex, out TransactionId id)
    {
        id = default;
        if (hex is not { Length: 64 })
        {
            return false;
        }

        try
        {
            id = new TransactionId(Convert.FromHexString(hex));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public bool Equals(TransactionId other) => AsSpan().SequenceEqual(other.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TransactionId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _bytes is null ? 0 : BitConverter.ToInt32(_bytes, 0);

    /// <inheritdoc/>
    public override string ToString() => _bytes is null ? new string('0', 64) : Convert.ToHexStringLower(_bytes);

    /// <summary>Equality.</summary>
    public static bool operator ==(TransactionId left, TransactionId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(TransactionId left, TransactionId right) => !left.Equals(right);
}
