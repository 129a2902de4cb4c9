using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

public sealed class IdentityFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void An_identity_round_trips_through_PEM_files()
    {
        using var ca = TestPki.Ca();
        using var original = TestPki.Issue(ca, SwarmRole.Swci, "ctl", "ctl.example.org");
        original.Save(_dir.File("ctl.crt"), _dir.File("ctl.key"));

        using var loaded = SwarmIdentity.Load(_dir.File("ctl.crt"), _dir.File("ctl.key"));

        Assert.Equal(original.Fingerprint, loaded.Fingerprint);
        Assert.Equal((SwarmRole.Swci, "ctl"), (loaded.Role, loaded.Name));
        Assert.True(loaded.Certificate.HasPrivateKey);
        Assert.True(SwarmSignature.Verify(original.Certificate, "x"u8, loaded.Sign("x"u8)));
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(_dir.File("ctl.crt")), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(_dir.File("ctl.key")), StringComparison.Ordinal);
        Assert.Equal(["ctl.crt", "ctl.key"], _dir.Entries()); // no temporary files left behind
    }

    [Fact]
    public void A_CA_round_trips_through_PEM_files_and_still_issues()
    {
        using var created = TestPki.Ca("prod");
        created.Save(_dir.File("ca.crt"), _dir.File("ca.key"));

        using var loaded = CertificateAuthority.Load(_dir.File("ca.crt"), _dir.File("ca.key"));
        using var identity = TestPki.Issue(loaded);

        Assert.Equal(created.Fingerprint, loaded.Fingerprint);
        Assert.True(loaded.Certificate.HasPrivateKey);
        var trust = new SwarmTrust([created.Certificate]);
        Assert.True(trust.Validate(identity.Certificate, TestPki.Now).IsValid);
    }

    [Fact]
    public void Key_files_are_readable_by_their_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // file modes are a Unix notion
        }

        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        ca.Save(_dir.File("ca.crt"), _dir.File("ca.key"));
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File("ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File("sl1.key")));
    }

    [Fact]
    public void Replacing_a_world_readable_key_file_leaves_it_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.WriteAllText(_dir.File("sl1.key"), "old");
        File.SetUnixFileMode(_dir.File("sl1.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);

        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"), overwrite: true);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File("sl1.key")));
    }

    [Theory]
    [InlineData("sl1.crt")]
    [InlineData("sl1.key")]
    public void Nothing_is_overwritten_without_overwrite(string existing)
    {
        File.WriteAllText(_dir.File(existing), "keep me");
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);

        var e = Assert.Throws<SwarmException>(() => identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key")));

        Assert.Contains(_dir.File(existing), e.Message, StringComparison.Ordinal);
        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(_dir.File(existing)));
        Assert.Equal([existing], _dir.Entries()); // the other file was not written either

        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"), overwrite: true);
        using var loaded = SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("sl1.key"));
        Assert.Equal(identity.Fingerprint, loaded.Fingerprint);
    }

    [Fact]
    public void A_CA_is_not_overwritten_without_overwrite()
    {
        using var first = TestPki.Ca();
        using var second = TestPki.Ca();
        first.Save(_dir.File("ca.crt"), _dir.File("ca.key"));

        Assert.Throws<SwarmException>(() => second.Save(_dir.File("ca.crt"), _dir.File("ca.key")));
        using (var kept = CertificateAuthority.Load(_dir.File("ca.crt"), _dir.File("ca.key")))
        {
            Assert.Equal(first.Fingerprint, kept.Fingerprint);
        }

        second.Save(_dir.File("ca.crt"), _dir.File("ca.key"), overwrite: true);
        using var replaced = CertificateAuthority.Load(_dir.File("ca.crt"), _dir.File("ca.key"));
        Assert.Equal(second.Fingerprint, replaced.Fingerprint);
    }

    [Fact]
    public void Save_creates_missing_directories()
    {
        using var ca = TestPki.Ca();
        var nested = Path.Combine(_dir.Path, "a", "b");
        ca.Save(Path.Combine(nested, "ca.crt"), Path.Combine(nested, "ca.key"));
        Assert.True(File.Exists(Path.Combine(nested, "ca.key")));
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused_naming_the_key_file()
    {
        using var ca = TestPki.Ca();
        using var a = TestPki.Issue(ca, name: "a");
        using var b = TestPki.Issue(ca, name: "b");
        a.Save(_dir.File("a.crt"), _dir.File("a.key"));
        b.Save(_dir.File("b.crt"), _dir.File("b.key"));

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("a.crt"), _dir.File("b.key")));
        Assert.Contains($"{_dir.File("b.key")} is not the private key of {_dir.File("a.crt")}", e.Message, StringComparison.Ordinal);

        ca.Save(_dir.File("ca.crt"), _dir.File("ca.key"));
        e = Assert.Throws<SwarmException>(() => CertificateAuthority.Load(_dir.File("ca.crt"), _dir.File("a.key")));
        Assert.Contains($"{_dir.File("a.key")} is not the private key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_files_are_named()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("nope.crt"), _dir.File("sl1.key")));
        Assert.Contains(_dir.File("nope.crt"), e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("nope.key")));
        Assert.Contains(_dir.File("nope.key"), e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SwarmException>(() => SwarmTrust.Load(_dir.File("nope.pem")));
        Assert.Contains(_dir.File("nope.pem"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Swapped_files_say_which_is_which()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("sl1.key"), _dir.File("sl1.crt")));

        Assert.Contains($"{_dir.File("sl1.key")} holds a private key, not a certificate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_file_given_as_key_is_named()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("sl1.crt")));

        Assert.Contains($"{_dir.File("sl1.crt")} holds a certificate, not a private key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_encrypted_key_is_refused_with_what_to_do()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));
        using var key = identity.Certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(_dir.File("enc.key"), key.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("enc.key")));

        Assert.Contains($"{_dir.File("enc.key")}: the private key is encrypted", e.Message, StringComparison.Ordinal);
        Assert.Contains("openssl pkey", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_RSA_key_is_refused()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));
        using var rsa = RSA.Create(2048);
        File.WriteAllText(_dir.File("rsa.key"), rsa.ExportPkcs8PrivateKeyPem());

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("rsa.key")));

        Assert.Contains($"{_dir.File("rsa.key")}: not an ECDSA private key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_SEC1_EC_private_key_as_openssl_writes_it_is_accepted()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));
        using var key = identity.Certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(_dir.File("sec1.key"), key.ExportECPrivateKeyPem());

        using var loaded = SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("sec1.key"));

        Assert.Equal(identity.Fingerprint, loaded.Fingerprint);
    }

    [Fact]
    public void A_file_without_PEM_is_refused_naming_it()
    {
        File.WriteAllText(_dir.File("junk.crt"), "hello");

        var e = Assert.Throws<SwarmException>(() => SwarmTrust.Load(_dir.File("junk.crt")));

        Assert.Contains($"{_dir.File("junk.crt")} contains no PEM certificate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_certificate_is_refused_naming_the_file()
    {
        var der = new byte[100];
        der[0] = 0x30;
        File.WriteAllText(_dir.File("bad.crt"), PemEncoding.WriteString("CERTIFICATE", der));

        var e = Assert.Throws<SwarmException>(() => SwarmTrust.Load(_dir.File("bad.crt")));

        Assert.Contains($"{_dir.File("bad.crt")}: certificate 1 is not a valid X.509 certificate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CA_certificate_is_no_identity_and_an_identity_no_CA()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        ca.Save(_dir.File("ca.crt"), _dir.File("ca.key"));
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("ca.crt"), _dir.File("ca.key")));
        Assert.Contains($"{_dir.File("ca.crt")} is a CA certificate, not a component identity", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SwarmException>(() => CertificateAuthority.Load(_dir.File("sl1.crt"), _dir.File("sl1.key")));
        Assert.Contains($"{_dir.File("sl1.crt")} is not a CA certificate (it is the sl identity 'sl1')", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CA_that_may_not_sign_certificates_cannot_be_loaded_to_issue()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=odd CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.CrlSign, true));
        using var odd = request.CreateSelfSigned(TestPki.Now, TestPki.Now.AddDays(1));
        File.WriteAllText(_dir.File("ca.crt"), odd.ExportCertificatePem());
        File.WriteAllText(_dir.File("ca.key"), key.ExportPkcs8PrivateKeyPem());

        var e = Assert.Throws<SwarmException>(() => CertificateAuthority.Load(_dir.File("ca.crt"), _dir.File("ca.key")));

        Assert.Contains($"{_dir.File("ca.crt")}: the CA certificate's key usage does not allow signing certificates", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_without_a_swarm_role_is_no_identity()
    {
        using var ca = TestPki.Ca();
        using var foreign = TestPki.HandMade(ca, "web", [], [TestPki.ServerAuth]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(_dir.File("web.crt"), foreign.ExportCertificatePem());
        File.WriteAllText(_dir.File("web.key"), key.ExportPkcs8PrivateKeyPem());

        var e = Assert.Throws<SwarmException>(() => SwarmIdentity.Load(_dir.File("web.crt"), _dir.File("web.key")));

        Assert.Contains($"{_dir.File("web.crt")}: the certificate carries no swarm role", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_file_may_carry_its_issuer_after_it()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        identity.Save(_dir.File("sl1.crt"), _dir.File("sl1.key"));
        File.AppendAllText(_dir.File("sl1.crt"), ca.Certificate.ExportCertificatePem() + "\n");

        using var loaded = SwarmIdentity.Load(_dir.File("sl1.crt"), _dir.File("sl1.key"));

        Assert.Equal(identity.Fingerprint, loaded.Fingerprint);
        Assert.Equal(2, CertificateSummary.Read(_dir.File("sl1.crt")).Count);
    }

    [Fact]
    public void A_summary_tells_role_name_hosts_issuer_and_validity()
    {
        using var ca = TestPki.Ca("prod");
        using var identity = TestPki.Issue(ca, SwarmRole.Swop, "op1", "op1.example.org");

        var s = CertificateSummary.Of(identity.Certificate);
        var c = CertificateSummary.Of(ca.Certificate);

        Assert.Equal((SwarmRole?)SwarmRole.Swop, s.Role);
        Assert.Equal("op1", s.Name);
        Assert.Equal(["op1.example.org"], s.Hosts);
        Assert.Equal("CN=prod Swarm CA, O=SwarmLearning", s.Issuer);
        Assert.False(s.IsAuthority);
        Assert.Equal(identity.Fingerprint, s.Fingerprint);
        Assert.Equal(TestPki.Now.Add(TestPki.Year), s.NotAfter);
        Assert.Equal(Convert.ToHexStringLower(identity.Certificate.SerialNumberBytes.Span), s.SerialNumber);
        Assert.True(c.IsAuthority);
        Assert.Null(c.Role);
        Assert.Equal("prod Swarm CA", c.Name);
    }
}
