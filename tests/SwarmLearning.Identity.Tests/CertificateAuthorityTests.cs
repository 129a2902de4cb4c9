using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

public sealed class CertificateAuthorityTests
{
    [Fact]
    public void A_new_CA_is_self_signed_with_the_documented_extensions()
    {
        using var ca = CertificateAuthority.Create("prod", TimeSpan.FromDays(100), TestPki.Now);
        var c = ca.Certificate;

        Assert.Equal("CN=prod Swarm CA, O=SwarmLearning", c.Subject);
        Assert.Equal(c.Subject, c.Issuer);
        Assert.True(c.HasPrivateKey);
        var constraints = Assert.Single(c.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(constraints is { CertificateAuthority: true, HasPathLengthConstraint: true, PathLengthConstraint: 0, Critical: true });
        var usage = Assert.Single(c.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.True(usage.Critical);
        Assert.Single(c.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        Assert.Equal(256, c.GetECDsaPublicKey()!.KeySize);
        Assert.Equal(TestPki.Now.AddMinutes(-5), new DateTimeOffset(c.NotBefore.ToUniversalTime()));
        Assert.Equal(TestPki.Now.AddDays(100), new DateTimeOffset(c.NotAfter.ToUniversalTime()));
        Assert.Equal(16, c.SerialNumberBytes.Length);
        Assert.Equal(ca.Fingerprint, Fingerprint.Of(c));
    }

    [Fact]
    public void An_issued_certificate_has_the_documented_profile()
    {
        using var ca = TestPki.Ca();
        using var identity = ca.Issue(SwarmRole.Sn, "sn-1", [], TestPki.Year, TestPki.Now);
        var c = identity.Certificate;

        Assert.Equal("CN=sn-1, OU=sn, O=SwarmLearning", c.Subject);
        Assert.Equal(ca.Certificate.Subject, c.Issuer);
        Assert.True(c.HasPrivateKey);
        Assert.Equal(256, c.GetECDsaPublicKey()!.KeySize);
        var constraints = Assert.Single(c.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(constraints is { CertificateAuthority: false, Critical: true });
        var usage = Assert.Single(c.Extensions.OfType<X509KeyUsageExtension>());
        Assert.True(usage is { KeyUsages: X509KeyUsageFlags.DigitalSignature, Critical: true });
        var eku = Assert.Single(c.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        var caKeyId = Assert.Single(ca.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>()).SubjectKeyIdentifierBytes.ToArray();
        var authorityKeyId = Assert.Single(c.Extensions.OfType<X509AuthorityKeyIdentifierExtension>()).KeyIdentifier;
        Assert.Equal(caKeyId, authorityKeyId!.Value.ToArray());
        Assert.Single(c.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        Assert.Equal(TestPki.Now.AddMinutes(-5), new DateTimeOffset(c.NotBefore.ToUniversalTime()));
        Assert.Equal(TestPki.Now.Add(TestPki.Year), new DateTimeOffset(c.NotAfter.ToUniversalTime()));
        Assert.Equal(SwarmRole.Sn, identity.Role);
        Assert.Equal("sn-1", identity.Name);
    }

    [Fact]
    public void Serial_numbers_are_16_random_positive_bytes()
    {
        using var ca = TestPki.Ca();
        var serials = Enumerable.Range(0, 20).Select(i =>
        {
            using var identity = TestPki.Issue(ca, name: $"n{i}");
            return identity.Certificate.SerialNumberBytes.ToArray();
        }).ToList();

        // SerialNumberBytes is big-endian: the first byte carries the sign bit.
        Assert.All(serials, s => Assert.Equal(16, s.Length));
        Assert.All(serials, s => Assert.True(s[0] is > 0 and < 0x80, "positive, and a full 16 bytes"));
        Assert.Equal(serials.Count, serials.Select(Convert.ToHexString).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(SwarmRole.Sn)]
    [InlineData(SwarmRole.Sl)]
    [InlineData(SwarmRole.Swci)]
    [InlineData(SwarmRole.Swop)]
    public void Role_and_name_read_back_from_the_certificate(SwarmRole role)
    {
        using var ca = TestPki.Ca();
        using var identity = ca.Issue(role, "node.7_x", [], TestPki.Year, TestPki.Now);
        using var publicOnly = X509CertificateLoader.LoadCertificate(identity.Certificate.RawData);

        Assert.True(SwarmIdentity.TryReadRole(publicOnly, out var readRole, out var readName));
        Assert.Equal(role, readRole);
        Assert.Equal("node.7_x", readName);
        Assert.Contains($"OU={SwarmRoles.ToName(role)}", publicOnly.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public void The_role_comes_from_the_SAN_URI_not_the_OU()
    {
        using var ca = TestPki.Ca();
        // OU=sl but no role URI: no role.
        using var noUri = TestPki.HandMade(ca, "x", [], [TestPki.ServerAuth, TestPki.ClientAuth]);
        // Two different role URIs: ambiguous, so no role.
        using var twoRoles = TestPki.HandMade(ca, "x", ["urn:swarmlearning:role:sl", "urn:swarmlearning:role:sn"], [TestPki.ServerAuth, TestPki.ClientAuth]);
        // OU=sl but the URI says swop: swop.
        using var swop = TestPki.HandMade(ca, "x", ["https://example.org/", "urn:swarmlearning:role:swop"], [TestPki.ServerAuth, TestPki.ClientAuth]);

        Assert.False(SwarmIdentity.TryReadRole(noUri, out _, out _));
        Assert.False(SwarmIdentity.TryReadRole(twoRoles, out _, out _));
        Assert.True(SwarmIdentity.TryReadRole(swop, out var role, out var name));
        Assert.Equal((SwarmRole.Swop, "x"), (role, name));
        Assert.False(SwarmIdentity.TryReadRole(ca.Certificate, out _, out _));
    }

    [Fact]
    public void Unknown_role_URI_or_an_invalid_name_gives_no_role()
    {
        using var ca = TestPki.Ca();
        using var unknownRole = TestPki.HandMade(ca, "x", ["urn:swarmlearning:role:admin"], [TestPki.ServerAuth, TestPki.ClientAuth]);
        using var badName = TestPki.HandMade(ca, "two words", ["urn:swarmlearning:role:sl"], [TestPki.ServerAuth, TestPki.ClientAuth]);

        Assert.False(SwarmIdentity.TryReadRole(unknownRole, out _, out _));
        Assert.False(SwarmIdentity.TryReadRole(badName, out _, out var name));
        Assert.Equal(string.Empty, name);
    }

    [Fact]
    public void Hosts_land_in_the_SANs_as_DNS_names_or_IP_addresses()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca, SwarmRole.Sn, "sn1", "SN1.Example.org", "10.0.0.5", "fe80::1", "sn1.example.org", "host-2");
        var san = Assert.Single(identity.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());

        Assert.Equal(["sn1.example.org", "host-2"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Parse("10.0.0.5"), IPAddress.Parse("fe80::1")], san.EnumerateIPAddresses());
        Assert.True(identity.Certificate.MatchesHostname("sn1.example.org"));
        Assert.True(identity.Certificate.MatchesHostname("10.0.0.5"));
        Assert.False(identity.Certificate.MatchesHostname("localhost"));
    }

    [Fact]
    public void Without_hosts_the_certificate_names_this_machine()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        var san = Assert.Single(identity.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());

        Assert.Equal(["localhost"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], san.EnumerateIPAddresses());
        Assert.Equal(["localhost", "127.0.0.1", "::1"], CertificateSummary.Of(identity.Certificate).Hosts);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("bad host", "'bad host'")]
    [InlineData("-lead.example.org", "'-lead.example.org'")]
    [InlineData("a..b", "'a..b'")]
    [InlineData("10.1", "'10.1'")]
    [InlineData("300.1.1.1", "'300.1.1.1'")]
    [InlineData("[::1]", "without brackets")]
    [InlineData("fe80::1%2", "zone")]
    [InlineData("*.example.org", "'*.example.org'")]
    public void Invalid_hosts_are_refused_with_the_host_named(string host, string expected)
    {
        using var ca = TestPki.Ca();
        var e = Assert.Throws<SwarmException>(() => TestPki.Issue(ca, SwarmRole.Sl, "sl1", host));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("two words")]
    [InlineData("a/b")]
    [InlineData("café")]
    [InlineData("x\n")]
    public void Invalid_names_are_refused_with_the_rule(string name)
    {
        using var ca = TestPki.Ca();
        var e = Assert.Throws<SwarmException>(() => TestPki.Issue(ca, SwarmRole.Sl, name));
        Assert.Contains("component name", e.Message, StringComparison.Ordinal);
        Assert.Contains("1 to 64 letters, digits, '.', '_' or '-'", e.Message, StringComparison.Ordinal);
        Assert.Throws<SwarmException>(() => CertificateAuthority.Create(name, TimeSpan.FromDays(1), TestPki.Now));
    }

    [Fact]
    public void Names_may_have_64_characters_but_not_65()
    {
        using var ca = TestPki.Ca();
        using var longest = TestPki.Issue(ca, SwarmRole.Sl, new string('n', 64));
        Assert.Equal(new string('n', 64), longest.Name);
        var e = Assert.Throws<SwarmException>(() => TestPki.Issue(ca, SwarmRole.Sl, new string('n', 65)));
        Assert.Contains("65 characters", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_identity_never_outlives_its_CA()
    {
        using var ca = TestPki.Ca(validity: TimeSpan.FromDays(30));
        using var identity = TestPki.Issue(ca);

        Assert.Equal(ca.Certificate.NotAfter, identity.Certificate.NotAfter);
        Assert.Equal(TestPki.Now.AddDays(30), new DateTimeOffset(identity.Certificate.NotAfter.ToUniversalTime()));
    }

    [Fact]
    public void An_identity_never_starts_before_its_CA()
    {
        using var ca = TestPki.Ca();
        // Issued one minute after the CA was made: "now − 5 min" would precede the CA's own start.
        using var identity = ca.Issue(SwarmRole.Sl, "sl1", [], TestPki.Year, TestPki.Now.AddMinutes(-4));
        Assert.Equal(ca.Certificate.NotBefore, identity.Certificate.NotBefore);
    }

    [Fact]
    public void An_expired_CA_issues_nothing_and_says_so()
    {
        using var ca = TestPki.Ca(validity: TimeSpan.FromDays(30));
        var e = Assert.Throws<SwarmException>(() => ca.Issue(SwarmRole.Sl, "sl1", [], TestPki.Year, TestPki.Now.AddDays(31)));
        Assert.Contains("expired on 2026-03-31 12:00:00 UTC", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validity_must_be_positive()
    {
        using var ca = TestPki.Ca();
        Assert.Throws<ArgumentOutOfRangeException>(() => ca.Issue(SwarmRole.Sl, "sl1", [], TimeSpan.Zero, TestPki.Now));
        Assert.Throws<ArgumentOutOfRangeException>(() => CertificateAuthority.Create("x", TimeSpan.FromSeconds(-1), TestPki.Now));
    }

    [Fact]
    public void An_issued_identity_has_its_own_key()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        using var caKey = ca.Certificate.GetECDsaPublicKey()!;
        using var identityKey = identity.Certificate.GetECDsaPublicKey()!;

        Assert.NotEqual(caKey.ExportSubjectPublicKeyInfo(), identityKey.ExportSubjectPublicKeyInfo());
    }
}
