using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

public sealed class SigningRequestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("swarm-csr-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_request_signed_by_the_CA_gives_an_identity_whose_key_never_left_the_site()
    {
        using var ca = CertificateAuthority.Create("test", TimeSpan.FromDays(30));
        var (pem, key) = SigningRequest.Create(SwarmRole.Sl, "site3", ["site3.example.org", "10.0.0.3"]);
        using (key)
        {
            var request = SigningRequest.Parse(pem, "site3.csr");
            Assert.Equal((SwarmRole.Sl, "site3"), (request.Role, request.Name));
            Assert.Equal(["site3.example.org", "10.0.0.3"], request.Hosts);

            using var certificate = ca.Sign(request, TimeSpan.FromDays(10));
            var crt = Path.Combine(_dir, "site3.crt");
            var keyPath = Path.Combine(_dir, "site3.key");
            SigningRequest.SaveCertificate(crt, certificate);
            File.WriteAllText(keyPath, PemEncoding.WriteString("PRIVATE KEY", key.ExportPkcs8PrivateKey()));

            // The site joins its key and the CA's answer; the swarm's trust accepts the result like an issued identity.
            using var identity = SwarmIdentity.Load(crt, keyPath);
            Assert.Equal((SwarmRole.Sl, "site3"), (identity.Role, identity.Name));
            var trust = new SwarmTrust([X509CertificateLoader.LoadCertificate(ca.Certificate.RawData)]);
            Assert.True(trust.Validate(identity.Certificate, DateTimeOffset.UtcNow, SwarmRole.Sl).IsValid);
            Assert.False(certificate.HasPrivateKey);
        }
    }

    [Fact]
    public void A_request_whose_signature_does_not_verify_is_refused()
    {
        var (pem, key) = SigningRequest.Create(SwarmRole.Sn, "sn9", null);
        key.Dispose();
        var der = PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : [];
        der[^5] ^= 0x55; // inside the signature
        var tampered = PemEncoding.WriteString(SigningRequest.PemLabel, der);
        var error = Assert.Throws<SwarmException>(() => SigningRequest.Parse(tampered, "sn9.csr"));
        Assert.Contains("sn9.csr is not a valid certificate request, or its signature does not verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_without_a_swarm_role_or_with_another_key_type_is_refused_with_the_reason()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var noRole = new CertificateRequest("CN=site4, O=SwarmLearning", ec, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        Assert.Contains("names no role", Assert.Throws<SwarmException>(() => SigningRequest.Parse(noRole, "a.csr")).Message, StringComparison.Ordinal);

        using var rsa = RSA.Create(2048);
        var rsaRequest = new CertificateRequest("CN=site4", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        Assert.Contains("not ECDSA P-256", Assert.Throws<SwarmException>(() => SigningRequest.Parse(rsaRequest, "b.csr")).Message, StringComparison.Ordinal);

        Assert.Contains("too large", Assert.Throws<SwarmException>(() => SigningRequest.Parse(new string('A', SigningRequest.MaxPemLength + 1), "c.csr")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_role_name_hosts_and_key_of_a_request_are_taken_the_CA_sets_everything_else()
    {
        using var ca = CertificateAuthority.Create("test", TimeSpan.FromDays(30));
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var builder = new CertificateRequest("CN=sneaky, OU=sl, O=SwarmLearning", ec, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("urn:swarmlearning:role:sl"));
        san.AddDnsName("sneaky.example.org");
        builder.CertificateExtensions.Add(san.Build());
        builder.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        var request = SigningRequest.Parse(builder.CreateSigningRequestPem(), "sneaky.csr");

        using var certificate = ca.Sign(request, TimeSpan.FromDays(1));
        Assert.False(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }
}
