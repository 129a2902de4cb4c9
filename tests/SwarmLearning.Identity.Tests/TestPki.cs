using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

/// <summary>Certificates for tests, made on the spot at a fixed time so that validity checks are exact.</summary>
internal static class TestPki
{
    /// <summary>The "now" of every certificate these helpers make.</summary>
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly TimeSpan Year = TimeSpan.FromDays(365);

    public static CertificateAuthority Ca(string swarmName = "test", TimeSpan? validity = null, DateTimeOffset? now = null) =>
        CertificateAuthority.Create(swarmName, validity ?? TimeSpan.FromDays(3650), now ?? Now);

    public static SwarmIdentity Issue(CertificateAuthority ca, SwarmRole role = SwarmRole.Sl, string name = "sl1", params string[] hosts) =>
        ca.Issue(role, name, hosts, Year, Now);

    /// <summary>
    /// A certificate signed by <paramref name="ca"/> but made by hand, without the swarm profile's guarantees: the
    /// caller chooses the SAN URIs and extended key usages.
    /// </summary>
    public static X509Certificate2 HandMade(CertificateAuthority ca, string commonName, string[] uris, Oid[] extendedKeyUsages)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}, OU=sl, O=SwarmLearning", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        if (extendedKeyUsages.Length > 0)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. extendedKeyUsages], false));
        }

        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        foreach (var uri in uris)
        {
            san.AddUri(new Uri(uri));
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca.Certificate, true, false));
        return request.Create(ca.Certificate, Now.AddMinutes(-5), Now.AddDays(30), [0x42, 1, 2, 3, 4, 5, 6, 7]);
    }

    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
}
