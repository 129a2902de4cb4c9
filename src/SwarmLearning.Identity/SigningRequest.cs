using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// A site's request for a swarm identity (PKCS #10, PEM "CERTIFICATE REQUEST"): the site makes its key and this request
/// locally (<c>swarm certs request</c>) and hands only the request to the swarm's CA admin, who signs it
/// (<c>swarm certs sign</c>). The private key never leaves the site.
/// </summary>
/// <param name="Role">The role asked for (the request's single <c>urn:swarmlearning:role:…</c> SAN URI).</param>
/// <param name="Name">The component name asked for (the subject's common name).</param>
/// <param name="Hosts">The DNS names and IP addresses asked for.</param>
/// <param name="PublicKey">The site's public key (ECDSA P-256).</param>
public sealed record SigningRequest(SwarmRole Role, string Name, IReadOnlyList<string> Hosts, PublicKey PublicKey)
{
    /// <summary>The PEM label of a signing request.</summary>
    public const string PemLabel = "CERTIFICATE REQUEST";

    /// <summary>Requests above this size are refused unread (a real one is under 1 KiB).</summary>
    public const int MaxPemLength = 64 * 1024;

    /// <summary>
    /// Makes a new P-256 key and a request signed with it for <paramref name="role"/>, <paramref name="name"/> and
    /// <paramref name="hosts"/> (default localhost, 127.0.0.1, ::1). Returns the request as PEM and the key; the caller
    /// owns the key.
    /// </summary>
    /// <exception cref="SwarmException">The name or a host is invalid.</exception>
    public static (string Pem, ECDsa Key) Create(SwarmRole role, string name, IReadOnlyList<string>? hosts)
    {
        SwarmRoles.ToName(role); // throws for a value that is no role
        SwarmNames.Validate(name, "component name");
        var parsedHosts = CertificateProfile.ParseHosts(hosts);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var request = new CertificateRequest(CertificateProfile.ComponentSubject(role, name), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(CertificateProfile.SubjectAlternativeNames(role, parsedHosts));
            return (request.CreateSigningRequestPem(), key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a request and its private key (mode 0600), each flushed under a temporary name and renamed; refuses to
    /// replace existing files unless <paramref name="overwrite"/>.
    /// </summary>
    public static void Save(string requestPath, string pem, string keyPath, ECDsa key, bool overwrite = false) =>
        Pem.WriteWithKey(requestPath, pem, keyPath, key, overwrite);

    /// <summary>Reads and checks a request file, as <see cref="Parse"/>.</summary>
    public static SigningRequest Load(string path) => Parse(Pem.ReadPemText(path, "certificate request"), path);

    /// <summary>Writes a signed certificate (the answer to a request) as PEM; refuses to replace a file unless <paramref name="overwrite"/>.</summary>
    public static void SaveCertificate(string path, X509Certificate2 certificate, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        Pem.WritePublic(path, certificate.ExportCertificatePem(), overwrite);
    }

    /// <summary>
    /// Reads a request and checks it: its signature (the requester holds the key), an ECDSA P-256 key, exactly one
    /// known role, a valid name and hosts. <paramref name="source"/> names it in errors. Nothing else the request asks
    /// for is taken: the CA sets every other extension itself.
    /// </summary>
    /// <exception cref="SwarmException">The request is not a valid swarm identity request; the message says why.</exception>
    public static SigningRequest Parse(string pem, string source)
    {
        ArgumentNullException.ThrowIfNull(pem);
        if (pem.Length > MaxPemLength)
        {
            throw new SwarmException($"{source}: {pem.Length} characters is too large for a certificate request (at most {MaxPemLength}); is it the right file?");
        }

        CertificateRequest request;
        try
        {
            // The extensions are loaded only so that the SAN can be read and checked here; none is copied into the
            // certificate (the CA builds every extension itself), which is what makes loading them safe.
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        }
        catch (CryptographicException e)
        {
            throw new SwarmException($"{source} is not a valid certificate request, or its signature does not verify ({e.Message}); make it with 'swarm certs request'", e);
        }

        using (var key = request.PublicKey.GetECDsaPublicKey())
        {
            if (key is null || key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new SwarmException($"{source}: the requested key is not ECDSA P-256, the only kind swarm identities use; make the request with 'swarm certs request'");
            }
        }

        var san = CertificateProfile.FindSubjectAlternativeNames(request.CertificateExtensions);
        if (!CertificateProfile.TryReadRole(san, out var role))
        {
            throw new SwarmException($"{source}: the request names no role, or more than one (a '{CertificateProfile.RoleUriPrefix}…' URI in its subject alternative names); make it with 'swarm certs request --role …'");
        }

        var name = CertificateProfile.CommonName(request.SubjectName);
        if (!SwarmNames.IsValid(name))
        {
            throw new SwarmException($"{source}: the requested name '{name}' is not a valid component name (1-64 of A-Z a-z 0-9 . _ -)");
        }

        var hosts = CertificateProfile.ReadHosts(san);
        CertificateProfile.ParseHosts(hosts); // the same rules as for issued identities
        return new SigningRequest(role, name, hosts, request.PublicKey);
    }
}
