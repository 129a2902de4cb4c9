using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>What a person wants to know about a swarm certificate: role, name, hosts, issuer, fingerprint, validity.</summary>
/// <param name="Subject">The subject's distinguished name.</param>
/// <param name="Issuer">The issuer's distinguished name.</param>
/// <param name="IsAuthority">True for a CA certificate.</param>
/// <param name="Role">The swarm role, or null when the certificate carries none (CA certificates, foreign ones).</param>
/// <param name="Name">The common name, or null when there is none.</param>
/// <param name="Hosts">The DNS names and IP addresses the certificate is valid for.</param>
/// <param name="Fingerprint">SHA-256 of the certificate.</param>
/// <param name="NotBefore">Start of validity (UTC).</param>
/// <param name="NotAfter">End of validity (UTC).</param>
/// <param name="SerialNumber">The serial number in hex.</param>
public sealed record CertificateSummary(
    string Subject,
    string Issuer,
    bool IsAuthority,
    SwarmRole? Role,
    string? Name,
    IReadOnlyList<string> Hosts,
    Fingerprint Fingerprint,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    string SerialNumber)
{
    /// <summary>Summarises one certificate.</summary>
    public static CertificateSummary Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        SwarmRole? role = SwarmIdentity.TryReadRole(certificate, out var r, out _) ? r : null;
        return new CertificateSummary(
            certificate.Subject,
            certificate.Issuer,
            CertificateProfile.IsAuthority(certificate),
            role,
            CertificateProfile.CommonName(certificate.SubjectName),
            CertificateProfile.ReadHosts(certificate),
            Fingerprint.Of(certificate),
            CertificateProfile.Utc(certificate.NotBefore),
            CertificateProfile.Utc(certificate.NotAfter),
            certificate.SerialNumber.ToLowerInvariant());
    }

    /// <summary>Summarises every certificate in a PEM file.</summary>
    /// <exception cref="SwarmException">The file is missing, unreadable or holds no certificate.</exception>
    public static IReadOnlyList<CertificateSummary> Read(string pemPath)
    {
        var certificates = Pem.ReadCertificates(pemPath);
        try
        {
            return [.. certificates.Select(Of)];
        }
        finally
        {
            certificates.ForEach(c => c.Dispose());
        }
    }
}
