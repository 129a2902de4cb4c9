using System.Security.Cryptography;
using SwarmLearning.Identity;

namespace SwarmLearning.Ledger.Transactions;

/// <summary>
/// The proof of possession in a <c>member.rotate</c>: the new key's signature over
/// <c>"SWARM-ROTATE-1" ‖ chain id ‖ old fingerprint ‖ new fingerprint</c>. The old key signs the transaction, the new
/// key signs this, so a rotation needs both keys: a stolen old key alone cannot move an identity to a certificate whose
/// key the thief does not hold (someone else's), and a proof made for one identity or one swarm is worthless for another.
/// </summary>
public static class RotationProof
{
    private static ReadOnlySpan<byte> Domain => "SWARM-ROTATE-1"u8;

    /// <summary>The bytes the new key signs.</summary>
    /// <exception cref="ArgumentException"><paramref name="chainId"/> is not 32 bytes.</exception>
    public static byte[] Message(ReadOnlySpan<byte> chainId, Fingerprint old, Fingerprint next)
    {
        if (chainId.Length != Transaction.ChainIdSize)
        {
            throw new ArgumentException($"a chain id is {Transaction.ChainIdSize} bytes", nameof(chainId));
        }

        var message = new byte[Domain.Length + Transaction.ChainIdSize + (2 * Fingerprint.Size)];
        var span = message.AsSpan();
        Domain.CopyTo(span);
        span = span[Domain.Length..];
        chainId.CopyTo(span);
        old.CopyTo(span[Transaction.ChainIdSize..]);
        next.CopyTo(span[(Transaction.ChainIdSize + Fingerprint.Size)..]);
        return message;
    }

    /// <summary>
    /// The payload of a <c>member.rotate</c> from <paramref name="current"/> to <paramref name="next"/> in the swarm whose
    /// chain id is <paramref name="chainId"/>, with the proof signed by <paramref name="next"/>'s key. The caller signs
    /// the transaction with <paramref name="current"/>.
    /// </summary>
    public static RotatePayload CreatePayload(SwarmIdentity current, SwarmIdentity next, ReadOnlySpan<byte> chainId, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(next);
        var proof = next.Sign(Message(chainId, current.Fingerprint, next.Fingerprint));
        return new RotatePayload
        {
            Certificate = Convert.ToBase64String(next.Certificate.RawData),
            Proof = Convert.ToBase64String(proof),
            Reason = reason,
        };
    }

    /// <summary>True when <paramref name="proof"/> is <paramref name="nextKey"/>'s signature of <see cref="Message"/>.</summary>
    public static bool Verify(ECDsa nextKey, ReadOnlySpan<byte> chainId, Fingerprint old, Fingerprint next, ReadOnlySpan<byte> proof) =>
        SwarmSignature.Verify(nextKey, Message(chainId, old, next), proof);
}
