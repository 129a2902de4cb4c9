using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// Decodes, ahead of time, the parts of a certificate that .NET decodes lazily on first read: to show that a
/// certificate from outside decodes at all before it is accepted, and to decode a certificate once before threads
/// share it.
/// </summary>
public static class CertificateDecoding
{
    /// <summary>
    /// Reads every part of <paramref name="certificate"/> that the swarm's checks read: validity, subject and issuer
    /// names, role, extensions and public key. A certificate that passes decodes wherever it is used later.
    /// </summary>
    /// <exception cref="CryptographicException">A part does not decode.</exception>
    public static void DecodeAll(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        _ = certificate.NotBefore;
        _ = certificate.NotAfter;
        ReadNames(certificate.SubjectName);
        ReadNames(certificate.IssuerName);
        _ = SwarmIdentity.TryReadRole(certificate, out _, out _);
        DecodeExtensions(certificate);
        using var key = certificate.GetECDsaPublicKey();
        _ = key?.ExportParameters(includePrivateParameters: false);
    }

    /// <summary>
    /// Decodes the typed views of <paramref name="certificate"/>'s extensions now (basic constraints, key usage, extended
    /// key usage, subject alternative names). They decode lazily on first read, and the extended key usage list not
    /// safely across threads: two threads reading it first at once can find it short, and Kestrel then refuses this
    /// component's own certificate as "not for Server Authentication". A certificate that concurrent TLS handshakes
    /// share is decoded here once, before it is shared.
    /// </summary>
    /// <exception cref="CryptographicException">An extension does not decode.</exception>
    public static void DecodeExtensions(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        foreach (var extension in certificate.Extensions)
        {
            switch (extension)
            {
                case X509BasicConstraintsExtension b: _ = b.CertificateAuthority; break;
                case X509KeyUsageExtension k: _ = k.KeyUsages; break;
                case X509EnhancedKeyUsageExtension e: _ = e.EnhancedKeyUsages.Count; break;
                case X509SubjectAlternativeNameExtension s: _ = s.EnumerateDnsNames().Count() + s.EnumerateIPAddresses().Count(); break;
            }
        }
    }

    private static void ReadNames(X500DistinguishedName name)
    {
        _ = name.Name;
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements)
            {
                _ = rdn.GetSingleElementType();
                _ = rdn.GetSingleElementValue();
            }
        }
    }
}
