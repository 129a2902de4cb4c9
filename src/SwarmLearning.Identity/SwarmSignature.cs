using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// Signatures as the swarm makes them: ECDSA P-256 over SHA-256, in the IEEE P1363 fixed-size form (r ‖ s, 32
/// bytes each) rather than DER, so every signature is exactly <see cref="Size"/> bytes and a ledger record needs no
/// length prefix. Verification never throws for a bad signature: anything that is not a valid one is false.
/// </summary>
public static class SwarmSignature
{
    /// <summary>Bytes in a signature.</summary>
    public const int Size = 64;

    /// <summary>Bytes in the SHA-256 hash that <see cref="VerifyHash"/> and <see cref="SwarmIdentity.SignHash"/> take.</summary>
    public const int HashSize = 32;

    internal const DSASignatureFormat Format = DSASignatureFormat.IeeeP1363FixedFieldConcatenation;

    /// <summary>True when <paramref name="signature"/> is <paramref name="publicKey"/>'s signature of <paramref name="data"/>.</summary>
    public static bool Verify(ECDsa publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        if (signature.Length != Size)
        {
            return false;
        }

        try
        {
            return publicKey.VerifyData(data, signature, HashAlgorithmName.SHA256, Format);
        }
        catch (CryptographicException)
        {
            // A key on another curve, or a signature whose r or s is out of range.
            return false;
        }
    }

    /// <summary>True when <paramref name="signature"/> is the certificate's key's signature of <paramref name="data"/>.</summary>
    public static bool Verify(X509Certificate2 certificate, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPublicKey();
        return key is not null && Verify(key, data, signature);
    }

    /// <summary>True when <paramref name="signature"/> signs the SHA-256 hash <paramref name="sha256"/> with <paramref name="publicKey"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="sha256"/> is not 32 bytes.</exception>
    public static bool VerifyHash(ECDsa publicKey, ReadOnlySpan<byte> sha256, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        CheckHash(sha256);
        if (signature.Length != Size)
        {
            return false;
        }

        try
        {
            return publicKey.VerifyHash(sha256, signature, Format);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    internal static void CheckHash(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != HashSize)
        {
            throw new ArgumentException($"a SHA-256 hash is {HashSize} bytes, not {sha256.Length}", nameof(sha256));
        }
    }
}
