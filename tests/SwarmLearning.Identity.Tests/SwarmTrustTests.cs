using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

public sealed class SwarmTrustTests
{
    [Fact]
    public void An_identity_is_valid_under_its_own_CA()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca, SwarmRole.Sn, "sn1");
        var trust = new SwarmTrust([ca.Certificate]);

        var check = trust.Validate(identity.Certificate, TestPki.Now);

        Assert.Equal(new CertificateCheck(true, null, SwarmRole.Sn, "sn1"), check);
    }

    [Fact]
    public void An_identity_from_another_CA_is_refused_even_with_the_same_swarm_name()
    {
        using var ours = TestPki.Ca("swarm");
        using var theirs = TestPki.Ca("swarm");
        using var stranger = TestPki.Issue(theirs, SwarmRole.Sl, "sl1");
        var trust = new SwarmTrust([ours.Certificate]);

        var check = trust.Validate(stranger.Certificate, TestPki.Now);

        Assert.False(check.IsValid);
        Assert.Equal($"certificate 'sl1' (fingerprint {stranger.Fingerprint.Short}) is not issued by this swarm's CA (its issuer is 'CN=swarm Swarm CA, O=SwarmLearning')", check.Reason);
    }

    [Fact]
    public void A_trust_of_several_CAs_accepts_identities_of_each()
    {
        using var a = TestPki.Ca("a");
        using var b = TestPki.Ca("b");
        using var c = TestPki.Ca("c");
        using var fromA = TestPki.Issue(a);
        using var fromB = TestPki.Issue(b);
        using var fromC = TestPki.Issue(c);
        var trust = new SwarmTrust([a.Certificate, b.Certificate, a.Certificate]);

        Assert.Equal(2, trust.Authorities.Count);
        Assert.True(trust.Validate(fromA.Certificate, TestPki.Now).IsValid);
        Assert.True(trust.Validate(fromB.Certificate, TestPki.Now).IsValid);
        Assert.False(trust.Validate(fromC.Certificate, TestPki.Now).IsValid);
    }

    [Fact]
    public void An_expired_identity_is_refused_with_the_date()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        var trust = new SwarmTrust([ca.Certificate]);
        var later = TestPki.Now.Add(TestPki.Year).AddSeconds(1);

        var check = trust.Validate(identity.Certificate, later);

        Assert.False(check.IsValid);
        Assert.Equal($"certificate 'sl1' (fingerprint {identity.Fingerprint.Short}) expired on 2027-03-01 12:00:00 UTC (checked at 2027-03-01 12:00:01 UTC)", check.Reason);
        Assert.True(trust.Validate(identity.Certificate, TestPki.Now.Add(TestPki.Year).AddSeconds(-1)).IsValid);
    }

    [Fact]
    public void A_not_yet_valid_identity_is_refused_with_the_date()
    {
        using var ca = TestPki.Ca(now: TestPki.Now.AddDays(-1));
        using var identity = TestPki.Issue(ca);
        var trust = new SwarmTrust([ca.Certificate]);

        var check = trust.Validate(identity.Certificate, TestPki.Now.AddMinutes(-6));

        Assert.False(check.IsValid);
        Assert.Contains("is not valid before 2026-03-01 11:55:00 UTC", check.Reason, StringComparison.Ordinal);
        // Five minutes of clock skew are allowed for.
        Assert.True(trust.Validate(identity.Certificate, TestPki.Now.AddMinutes(-4)).IsValid);
    }

    [Fact]
    public void Validation_uses_the_time_given_not_the_clock()
    {
        using var ca = CertificateAuthority.Create("old", TimeSpan.FromDays(3650), new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var identity = ca.Issue(SwarmRole.Sl, "sl1", [], TimeSpan.FromDays(10), new DateTimeOffset(2001, 1, 2, 0, 0, 0, TimeSpan.Zero));
        var trust = new SwarmTrust([ca.Certificate]);

        Assert.True(trust.Validate(identity.Certificate, new DateTimeOffset(2001, 1, 5, 0, 0, 0, TimeSpan.Zero)).IsValid);
        Assert.False(trust.Validate(identity.Certificate, DateTimeOffset.UtcNow).IsValid);
    }

    [Fact]
    public void The_expected_role_is_enforced()
    {
        using var ca = TestPki.Ca();
        using var sl = TestPki.Issue(ca, SwarmRole.Sl, "sl1");
        var trust = new SwarmTrust([ca.Certificate]);

        var wrong = trust.Validate(sl.Certificate, TestPki.Now, SwarmRole.Sn);
        var right = trust.Validate(sl.Certificate, TestPki.Now, SwarmRole.Sl);

        Assert.False(wrong.IsValid);
        Assert.Equal($"certificate 'sl1' (fingerprint {sl.Fingerprint.Short}) has role sl, but sn is required here", wrong.Reason);
        Assert.Equal(SwarmRole.Sl, wrong.Role);
        Assert.True(right.IsValid);
    }

    [Fact]
    public void A_CA_certificate_is_not_a_component_identity()
    {
        using var ca = TestPki.Ca();
        var trust = new SwarmTrust([ca.Certificate]);

        var check = trust.Validate(ca.Certificate, TestPki.Now);

        Assert.False(check.IsValid);
        Assert.Contains("is a CA certificate, not a component identity", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_without_a_swarm_role_is_refused()
    {
        using var ca = TestPki.Ca();
        using var noRole = TestPki.HandMade(ca, "web", [], [TestPki.ServerAuth, TestPki.ClientAuth]);
        var trust = new SwarmTrust([ca.Certificate]);

        var check = trust.Validate(noRole, TestPki.Now);

        Assert.False(check.IsValid);
        Assert.Contains("certificate 'web'", check.Reason, StringComparison.Ordinal);
        Assert.Contains("carries no swarm role", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_that_cannot_be_a_TLS_client_is_refused()
    {
        using var ca = TestPki.Ca();
        using var serverOnly = TestPki.HandMade(ca, "sn9", ["urn:swarmlearning:role:sn"], [TestPki.ServerAuth]);
        using var noEku = TestPki.HandMade(ca, "sn9", ["urn:swarmlearning:role:sn"], []);
        using var both = TestPki.HandMade(ca, "sn9", ["urn:swarmlearning:role:sn"], [TestPki.ServerAuth, TestPki.ClientAuth]);
        var trust = new SwarmTrust([ca.Certificate]);

        Assert.Contains("TLS server and client authentication", trust.Validate(serverOnly, TestPki.Now).Reason, StringComparison.Ordinal);
        Assert.False(trust.Validate(noEku, TestPki.Now).IsValid);
        Assert.True(trust.Validate(both, TestPki.Now).IsValid);
    }

    [Fact]
    public void A_tampered_certificate_is_refused()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        var trust = new SwarmTrust([ca.Certificate]);
        var der = identity.Certificate.RawData;
        der[^1] ^= 0x01; // the last byte of the CA's signature

        using var tampered = X509CertificateLoader.LoadCertificate(der);
        var check = trust.Validate(tampered, TestPki.Now);

        Assert.False(check.IsValid);
        Assert.Contains("is not issued by this swarm's CA", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_trust_keeps_its_own_copies_of_the_CA_certificates()
    {
        var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        var trust = new SwarmTrust([ca.Certificate]);
        ca.Dispose();

        Assert.True(trust.Validate(identity.Certificate, TestPki.Now).IsValid);
        Assert.False(Assert.Single(trust.Authorities).HasPrivateKey);
    }

    [Fact]
    public void A_trust_needs_at_least_one_CA_and_only_CAs()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);

        Assert.Contains("at least one CA", Assert.Throws<SwarmException>(() => new SwarmTrust([])).Message, StringComparison.Ordinal);
        Assert.Contains("is not a CA certificate", Assert.Throws<SwarmException>(() => new SwarmTrust([identity.Certificate])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_trust_loads_from_a_PEM_bundle()
    {
        using var dir = new TempDirectory();
        using var a = TestPki.Ca("a");
        using var b = TestPki.Ca("b");
        using var fromB = TestPki.Issue(b);
        File.WriteAllText(dir.File("trust.pem"), a.Certificate.ExportCertificatePem() + "\n" + b.Certificate.ExportCertificatePem() + "\n");

        var trust = SwarmTrust.Load(dir.File("trust.pem"));

        Assert.Equal([a.Fingerprint, b.Fingerprint], trust.Authorities.Select(Fingerprint.Of));
        Assert.True(trust.Validate(fromB.Certificate, TestPki.Now).IsValid);
    }

    [Fact]
    public void A_bundle_with_an_identity_in_it_is_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        File.WriteAllText(dir.File("trust.pem"), ca.Certificate.ExportCertificatePem() + "\n" + identity.Certificate.ExportCertificatePem() + "\n");

        var e = Assert.Throws<SwarmException>(() => SwarmTrust.Load(dir.File("trust.pem")));

        Assert.Contains($"{dir.File("trust.pem")}: certificate 'sl1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not a CA certificate", e.Message, StringComparison.Ordinal);
    }
}
