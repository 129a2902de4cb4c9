using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// A swarm's certificate authority: a self-signed ECDSA P-256 CA that issues component identities (role, name and
/// hosts in the certificate). Its certificate is what every site trusts; its key stays with whoever issues identities.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>How long a new CA is valid unless told otherwise: 10 years.</summary>
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(3650);

    /// <summary>How long an issued identity is valid unless told otherwise: 1 year (never beyond the CA's own expiry).</summary>
    public static readonly TimeSpan DefaultIdentityValidity = TimeSpan.FromDays(365);

    private bool _disposed;

    private CertificateAuthority(X509Certificate2 certificate)
    {
        Certificate = certificate;
        Fingerprint = Fingerprint.Of(certificate);
    }

    /// <summary>The CA certificate, with its private key attached.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate's fingerprint.</summary>
    public Fingerprint Fingerprint { get; }

    /// <summary>
    /// Makes a new CA named "<paramref name="swarmName"/> Swarm CA": basic constraints CA with path length 0 and key
    /// usage certificate and CRL signing (both critical), subject key identifier, random 16-byte serial, valid from
    /// five minutes before <paramref name="now"/> for <paramref name="validity"/>.
    /// </summary>
    /// <exception cref="SwarmException"><paramref name="swarmName"/> is not a valid name.</exception>
    public static CertificateAuthority Create(string swarmName, TimeSpan validity, DateTimeOffset? now = null)
    {
        SwarmNames.Validate(swarmName, "swarm name");
        CheckValidity(validity);
        var start = CertificateProfile.WholeSeconds(now ?? DateTimeOffset.UtcNow);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = CertificateProfile.AuthoritySubject(swarmName);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        using var certificate = request.Create(
            subject,
            X509SignatureGenerator.CreateForECDsa(key),
            start - CertificateProfile.ClockSkew,
            start + validity,
            CertificateProfile.NewSerialNumber());
        return new CertificateAuthority(certificate.CopyWithPrivateKey(key));
    }

    /// <summary>Loads a CA from its PEM certificate and PEM private key (an ECDSA key; unencrypted).</summary>
    /// <exception cref="SwarmException">
    /// A file is missing or unreadable, the certificate is not a CA, the key is not ECDSA or does not match. The
    /// message names the file.
    /// </exception>
    public static CertificateAuthority Load(string certificatePath, string keyPath)
    {
        using var certificate = Pem.ReadCertificate(certificatePath);
        if (!CertificateProfile.IsAuthority(certificate))
        {
            var what = SwarmIdentity.TryReadRole(certificate, out var role, out var name) ? $"the {SwarmRoles.ToName(role)} identity '{name}'" : $"'{certificate.Subject}'";
            throw new SwarmException($"{certificatePath} is not a CA certificate (it is {what}); pass the swarm CA's certificate, ca.crt");
        }

        if (!CertificateProfile.AllowsCertificateSigning(certificate))
        {
            throw new SwarmException($"{certificatePath}: the CA certificate's key usage does not allow signing certificates (keyCertSign); it cannot issue identities");
        }

        using var key = Pem.ReadPrivateKey(keyPath);
        Pem.CheckKeyMatches(certificate, certificatePath, key, keyPath);
        return new CertificateAuthority(certificate.CopyWithPrivateKey(key));
    }

    /// <summary>Writes the CA certificate and its private key (PKCS#8, file mode 0600) as PEM.</summary>
    /// <exception cref="SwarmException">A file exists and <paramref name="overwrite"/> is false, or a file cannot be written.</exception>
    public void Save(string certificatePath, string keyPath, bool overwrite = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var key = Certificate.GetECDsaPrivateKey()!;
        Pem.WritePair(certificatePath, Certificate, keyPath, key, overwrite);
    }

    /// <summary>
    /// Issues a component identity: a new ECDSA P-256 key and a certificate with CN=<paramref name="name"/>,
    /// OU=role, O=SwarmLearning, the role as SAN URI <c>urn:swarmlearning:role:ROLE</c>, the hosts as DNS or IP SANs
    /// (localhost, 127.0.0.1 and ::1 when none are given), extended key usage server and client authentication, and
    /// key usage digital signature. Valid from five minutes before <paramref name="now"/> for
    /// <paramref name="validity"/>, but never past the CA's own expiry.
    /// </summary>
    /// <exception cref="SwarmException">The name or a host is invalid, or the CA has expired.</exception>
    public SwarmIdentity Issue(SwarmRole role, string name, IReadOnlyList<string> hosts, TimeSpan validity, DateTimeOffset? now = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SwarmRoles.ToName(role); // throws for a value that is no role
        SwarmNames.Validate(name, "component name");
        CheckValidity(validity);
        var parsedHosts = CertificateProfile.ParseHosts(hosts);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            using var certificate = Create(new PublicKey(key), role, name, parsedHosts, validity, now);
            return SwarmIdentity.FromParts(certificate, key, role, name);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Signs a site's request (<see cref="SigningRequest.Parse"/> has checked it): a certificate for the requested role,
    /// name, hosts and public key, with the same profile and validity rules as <see cref="Issue"/>. The site keeps its
    /// private key; the CA never sees it.
    /// </summary>
    /// <exception cref="SwarmException">The CA has expired or is not yet valid.</exception>
    public X509Certificate2 Sign(SigningRequest request, TimeSpan validity, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckValidity(validity);
        return Create(request.PublicKey, request.Role, request.Name, CertificateProfile.ParseHosts(request.Hosts), validity, now);
    }

    private X509Certificate2 Create(PublicKey publicKey, SwarmRole role, string name, IReadOnlyList<CertificateProfile.Host> hosts, TimeSpan validity, DateTimeOffset? now)
    {
        var start = CertificateProfile.WholeSeconds(now ?? DateTimeOffset.UtcNow);
        var caNotBefore = CertificateProfile.Utc(Certificate.NotBefore);
        var caNotAfter = CertificateProfile.Utc(Certificate.NotAfter);
        if (start >= caNotAfter)
        {
            throw new SwarmException($"the swarm CA '{Certificate.Subject}' expired on {CertificateProfile.FormatTime(caNotAfter)} and can issue no more identities; make a new CA and issue every identity again");
        }

        var notBefore = Max(start - CertificateProfile.ClockSkew, caNotBefore);
        var notAfter = Min(start + validity, caNotAfter);
        if (notAfter <= notBefore)
        {
            throw new SwarmException($"the swarm CA '{Certificate.Subject}' is not valid until {CertificateProfile.FormatTime(caNotBefore)}; check this machine's clock");
        }

        var request = new CertificateRequest(CertificateProfile.ComponentSubject(role, name), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([CertificateProfile.ServerAuth, CertificateProfile.ClientAuth], critical: false));
        request.CertificateExtensions.Add(CertificateProfile.SubjectAlternativeNames(role, hosts));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        return request.Create(Certificate, notBefore, notAfter, CertificateProfile.NewSerialNumber());
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Certificate.Dispose();
    }

    private static void CheckValidity(TimeSpan validity)
    {
        if (validity <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "a certificate must be valid for a positive time");
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
