using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// A component's identity: its certificate (with role, name and hosts) and private key. It signs ledger transactions
/// and authenticates both ends of TLS connections (<see cref="SwarmTls"/>).
/// </summary>
public sealed class SwarmIdentity : IDisposable
{
    private readonly ECDsa _key;
    private bool _disposed;

    private SwarmIdentity(X509Certificate2 certificate, ECDsa key, SwarmRole role, string name)
    {
        // Kestrel's handshakes and this component's own client connections read the certificate at once.
        CertificateDecoding.DecodeExtensions(certificate);
        Certificate = certificate;
        _key = key;
        Role = role;
        Name = name;
        Fingerprint = Fingerprint.Of(certificate);
    }

    /// <summary>The certificate, with its private key attached.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The role the certificate carries.</summary>
    public SwarmRole Role { get; }

    /// <summary>The component's name (the certificate's common name).</summary>
    public string Name { get; }

    /// <summary>The certificate's fingerprint: this identity on the ledger.</summary>
    public Fingerprint Fingerprint { get; }

    /// <summary>Loads an identity from a PEM certificate and a PEM private key (unencrypted PKCS#8 or SEC 1).</summary>
    /// <exception cref="SwarmException">
    /// A file is missing or unreadable, holds no certificate or key, the key is not ECDSA P-256, does not match the
    /// certificate, or the certificate carries no swarm role. The message names the file.
    /// </exception>
    public static SwarmIdentity Load(string certificatePath, string keyPath)
    {
        using var certificate = Pem.ReadCertificate(certificatePath);
        if (!TryReadRole(certificate, out var role, out var name))
        {
            throw new SwarmException(CertificateProfile.IsAuthority(certificate)
                ? $"{certificatePath} is a CA certificate, not a component identity; pass a certificate made by 'swarm certs issue'"
                : $"{certificatePath}: the certificate carries no swarm role (a '{CertificateProfile.RoleUriPrefix}…' URI) or no valid name; make one with 'swarm certs issue'");
        }

        var key = Pem.ReadPrivateKey(keyPath);
        try
        {
            if (key.KeySize != 256)
            {
                throw new SwarmException($"{keyPath}: an ECDSA key of {key.KeySize} bits; swarm identities use ECDSA P-256");
            }

            Pem.CheckKeyMatches(certificate, certificatePath, key, keyPath);
            return FromParts(certificate, key, role, name);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Writes the certificate and the private key (PKCS#8, file mode 0600) as PEM.</summary>
    /// <exception cref="SwarmException">A file exists and <paramref name="overwrite"/> is false, or a file cannot be written.</exception>
    public void Save(string certificatePath, string keyPath, bool overwrite = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Pem.WritePair(certificatePath, Certificate, keyPath, _key, overwrite);
    }

    /// <summary>Signs <paramref name="data"/> (SHA-256, ECDSA P-256): 64 bytes, see <see cref="SwarmSignature"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var signature = new byte[SwarmSignature.Size];
        Sign(data, signature);
        return signature;
    }

    /// <summary>Signs <paramref name="data"/> into <paramref name="signature64"/>, which must hold 64 bytes.</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature64)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckDestination(signature64);
        var written = _key.SignData(data, signature64, HashAlgorithmName.SHA256, SwarmSignature.Format);
        if (written != SwarmSignature.Size)
        {
            throw new CryptographicException($"an ECDSA P-256 signature is {SwarmSignature.Size} bytes, the key wrote {written}");
        }
    }

    /// <summary>Signs a SHA-256 hash the caller computed (32 bytes): 64 bytes, see <see cref="SwarmSignature"/>.</summary>
    public byte[] SignHash(ReadOnlySpan<byte> sha256)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SwarmSignature.CheckHash(sha256);
        var signature = new byte[SwarmSignature.Size];
        var written = _key.SignHash(sha256, signature, SwarmSignature.Format);
        return written == SwarmSignature.Size ? signature
            : throw new CryptographicException($"an ECDSA P-256 signature is {SwarmSignature.Size} bytes, the key wrote {written}");
    }

    /// <summary>
    /// Reads the role (the certificate's single <c>urn:swarmlearning:role:…</c> SAN URI) and the name (its common
    /// name, which must be a valid swarm name). False when either is missing or ambiguous; the OU is not consulted.
    /// </summary>
    public static bool TryReadRole(X509Certificate2 c, out SwarmRole role, out string name)
    {
        ArgumentNullException.ThrowIfNull(c);
        name = string.Empty;
        if (!CertificateProfile.TryReadRole(c, out role))
        {
            return false;
        }

        var commonName = CertificateProfile.CommonName(c.SubjectName);
        if (!SwarmNames.IsValid(commonName))
        {
            role = default;
            return false;
        }

        name = commonName;
        return true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _key.Dispose();
        Certificate.Dispose();
    }

    /// <summary>Joins a public certificate and its key (which the caller has checked belong together).</summary>
    internal static SwarmIdentity FromParts(X509Certificate2 certificate, ECDsa key, SwarmRole role, string name) =>
        new(certificate.CopyWithPrivateKey(key), key, role, name);

    private static void CheckDestination(Span<byte> signature64)
    {
        if (signature64.Length < SwarmSignature.Size)
        {
            throw new ArgumentException($"a signature needs {SwarmSignature.Size} bytes, the destination has {signature64.Length}", nameof(signature64));
        }
    }
}
