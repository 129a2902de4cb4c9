using System.Buffers.Binary;
using System.Text;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>
/// A transaction's fields, re-encoded by hand so that a mutation can make what <see cref="Transaction.Create"/> never
/// would: length prefixes that disagree with the bytes, a wrong magic or version, a short signature. Re-signing with
/// the sender's key gives a mutated transaction a valid signature, so it gets past signature checks to the contracts.
/// </summary>
internal sealed class TransactionParts
{
    public byte[] Magic { get; set; } = "SLTX"u8.ToArray();

    public byte Version { get; set; } = 1;

    public byte[] ChainId { get; set; } = new byte[32];

    public byte[] Type { get; set; } = [];

    public ushort? TypeLength { get; set; }

    public byte[] Sender { get; set; } = new byte[32];

    public ulong Sequence { get; set; }

    public byte[] Payload { get; set; } = [];

    public uint? PayloadLength { get; set; }

    public byte[] Signature { get; set; } = new byte[64];

    public byte[] Trailer { get; set; } = [];

    public static TransactionParts From(Transaction tx) => new()
    {
        ChainId = tx.ChainId.ToArray(),
        Type = Encoding.UTF8.GetBytes(tx.Type),
        Sender = Bytes(tx.Sender),
        Sequence = tx.Sequence,
        Payload = tx.Payload.ToArray(),
        Signature = tx.Signature.ToArray(),
    };

    public static byte[] Bytes(Fingerprint fingerprint)
    {
        var bytes = new byte[Fingerprint.Size];
        fingerprint.CopyTo(bytes);
        return bytes;
    }

    public byte[] SignedPart()
    {
        var bytes = new List<byte>(200 + Payload.Length);
        bytes.AddRange(Magic);
        bytes.Add(Version);
        bytes.AddRange(ChainId);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(number, TypeLength ?? (ushort)Type.Length);
        bytes.AddRange(number[..2].ToArray());
        bytes.AddRange(Type);
        bytes.AddRange(Sender);
        BinaryPrimitives.WriteUInt64LittleEndian(number, Sequence);
        bytes.AddRange(number.ToArray());
        BinaryPrimitives.WriteUInt32LittleEndian(number, PayloadLength ?? (uint)Payload.Length);
        bytes.AddRange(number[..4].ToArray());
        bytes.AddRange(Payload);
        return [.. bytes];
    }

    /// <summary>Signs the encoding with <paramref name="sender"/>'s key (valid only if the fields are).</summary>
    public void Sign(SwarmIdentity sender)
    {
        Signature = sender.Sign(SignedPart());
    }

    public byte[] ToBytes() => [.. SignedPart(), .. Signature, .. Trailer];
}
