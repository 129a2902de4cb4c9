using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

/// <summary>
/// Certificates damaged by the fuzz harness (docs/fuzzing.md): each loads, then one of its fields fails to decode. The
/// trust must answer with its documented outcome (a <see cref="SwarmException"/>, an invalid check), never with the
/// decoder's CryptographicException.
/// </summary>
public sealed class DamagedCertificateTests
{
    // Genesis time of the fuzz swarm these certificates came from (2027-01-15), within the leaf's validity.
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

    [Fact]
    public void A_CA_certificate_whose_basic_constraints_do_not_decode_is_refused_with_a_swarm_exception()
    {
        using var ca = Load(BadBasicConstraintsCa);
        var e = Assert.Throws<SwarmException>(() => new SwarmTrust([ca]));
        Assert.Contains("does not decode", e.Message, StringComparison.Ordinal);
        Assert.Contains(Fingerprint.Of(ca).Short, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CA_certificate_whose_key_usage_does_not_decode_is_refused_with_a_swarm_exception()
    {
        // Its basic constraints decode and say CA; its key usage is a NULL where a bit string belongs. The trust decodes
        // every extension before it keeps the certificate, so this is refused here, not in a handshake later.
        using var ca = Load(BadKeyUsageCa);
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        var e = Assert.Throws<SwarmException>(() => new SwarmTrust([ca]));
        Assert.Contains("does not decode", e.Message, StringComparison.Ordinal);
        Assert.Contains(Fingerprint.Of(ca).Short, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_whose_subject_does_not_decode_is_an_invalid_check()
    {
        using var pki = TestPki.Ca();
        using var leaf = Load(BadSubjectLeaf);
        var check = new SwarmTrust([pki.Certificate]).Validate(leaf, At, SwarmRole.Sl);
        Assert.False(check.IsValid);
        Assert.Contains("does not decode", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leaf_under_a_CA_whose_validity_dates_do_not_decode_is_an_invalid_check()
    {
        using var ca = Load(BadValidityDatesCa);
        using var leaf = Load(LeafOfThatCa);
        var check = new SwarmTrust([ca]).Validate(leaf, At, SwarmRole.Sn);
        Assert.False(check.IsValid);
        Assert.Contains("does not decode", check.Reason, StringComparison.Ordinal);
    }

    private static X509Certificate2 Load(string base64) => X509CertificateLoader.LoadCertificate(Convert.FromBase64String(base64));

    private const string BadBasicConstraintsCa =
        "MIIBpDCCAUmgAwIBAgIQaLBTORdHuO1ddwtToNMY6DAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNDA3NTUwMFoXDTM3MDExMTA4MDAwMFowMDEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzEWMBQGA1UEAwwNZnV6eiBTd2FybSBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFxqVoOCmkv1Yo3rqqHkWB04P/DFhJ4l"
        + "Jc6x59TUssAQvcqBSflVrTKHKndzkdFXfMd/0SGegi2okGecu3CswOSjRTBDMBIGA1UdEwEB/wQIMAYBAf8FAQAwDgYDVR0PAQH/"
        + "BAQDAgEGMB0GA1UdDgQWBBRAzQvKZpO5rrH7EIsuaOWgEzbDZDAKBggqhkjOPQQDAgNJADBGAiEAy+31yGJ8mGq7CUKL3EydVv65"
        + "ta7T7r/scwxlfRxK9DgCIQDaEEq9LsK1VPiu7q5hQ1clh++58mljaDQbBSVUQl3xCg==";

    // Not from the fuzz harness: BadBasicConstraintsCa with its basic constraints repaired (CA, path length 0) and the
    // key usage's BIT STRING tag (03) changed to NULL (05).
    private const string BadKeyUsageCa =
        "MIIBpDCCAUmgAwIBAgIQaLBTORdHuO1ddwtToNMY6DAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNDA3NTUwMFoXDTM3MDExMTA4MDAwMFowMDEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzEWMBQGA1UEAwwNZnV6eiBTd2FybSBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFxqVoOCmkv1Yo3rqqHkWB04P/DFhJ4l"
        + "Jc6x59TUssAQvcqBSflVrTKHKndzkdFXfMd/0SGegi2okGecu3CswOSjRTBDMBIGA1UdEwEB/wQIMAYBAf8CAQAwDgYDVR0PAQH/"
        + "BAQFAgEGMB0GA1UdDgQWBBRAzQvKZpO5rrH7EIsuaOWgEzbDZDAKBggqhkjOPQQDAgNJADBGAiEAy+31yGJ8mGq7CUKL3EydVv65"
        + "ta7T7r/scwxlfRxK9DgCIQDaEEq9LsK1VPiu7q5hQ1clh++58mljaDQbBSVUQl3xCg==";

    private const string BadValidityDatesCa =
        "MIIBpDCCAUmgAwIBAgIQaLBTORdHuO1ddwtToNMY6DAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNDA3NTUwMFoXDTM3MDExMTA4MDhwMFowMDEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzEWMBQGA1UEAwwNZnV6eiBTd2FybSBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFxqVoOCmkv1Yo3rqqHkWB04P/DFhJ4l"
        + "Jc6x59TUssAQvcqBSflVrTKHKndzkdFXfMd/0SGegi2okGecu3CswOSjRTBDMBIGA1UdEwEB/wQIMAYBAf8CAQAwDgYDVR0PAQH/"
        + "BAQDAgEGMB0GA1UdDgQWBBRAzQvKZpO5rrH7EIsuaOWgEzbDZDAKBggqhkjOPQQDAgNJADBGAiEAy+31yGJ8mGq7CUKL3EydVv65"
        + "ta7T7r/scwxlfRxK9DgCIQDaEEq9LsK1VPiu7q5hQ1clh++58mljaDQbBSVUQl3xCg==";

    private const string LeafOfThatCa =
        "MIICFDCCAbmgAwIBAgIQfb1EDnBeyXfaeMOjvFc6BTAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNTA2NTUwMFoXDTI4MDExNTA3MDAwMFowMzEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzELMAkGA1UECwwCc24xDDAKBgNVBAMMA3NuMDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGX2b4onpe+cNYshvWU2+ukRJneO"
        + "zhwBB1iFPt+LF/GCMphf7zSY0n+f1BiG7Er+xj1BD5A0XHWbp0g5O5FnwTajgbEwga4wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8E"
        + "BAMCB4AwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMC8GA1UdEQQoMCaGGXVybjpzd2FybWxlYXJuaW5nOnJvbGU6c26C"
        + "CWxvY2FsaG9zdDAdBgNVHQ4EFgQU29SEUYTQdh0G48lfIHrmHREu+CYwHwYDVR0jBBgwFoAUQM0LymaTua6x+xCLLmjloBM2w2Qw"
        + "CgYIKoZIzj0EAwIDSQAwRgIhAKZtB/yURQjtCEyL/rHuS9z1u/qkI+pT6SpAVVkbrU71AiEA5ahuF5KfzVpNO7DzSBDtjdlZRe/S"
        + "z21CjMzHS30qlZc=";

    private const string BadSubjectLeaf =
        "MIICFDCCAbmgAwIBAgIQbx3toxJfb/RzwGyHgQbibTAKBggqhkjOPQQDAjAwMRYwFAYDVQQKDA1Td2FybUxlYXJuaW5nMRYwFAYD"
        + "VQQDDA1mdXp6IFN3YXJtIENBMB4XDTI3MDExNTA2NTUwMFoXDTI4MDExNTA3MDAwMFoQMzEWMBQGA1UECgwNU3dhcm1MZWFybmlu"
        + "ZzELMAkGA1UECwwCc2wxDDAKBgNVBAMMA3NsMzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJUfjfFaZorwX+yMQ+/M3ZdqhYLB"
        + "dAKYW5IwWlNqv2G7cKSq9mCd1tGWZHWfQG2OtwFHctpJZMjiC0BC688aPqCjgbEwga4wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8E"
        + "BAMCB4AwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMC8GA1UdEQQoMCaGGXVybjpzd2FybWxlYXJuaW5nOnJvbGU6c2yC"
        + "CWxvY2FsaG9zdDAdBgNVHQ4EFgQUBHvx1F0SsNril5GCvXTPKU7zM34wHwYDVR0jBBgwFoAUYqRrV2J7uxlAvKOlJJ591fMYONQw"
        + "CgYIKoZIzj0EAwIDSQAwRgIhAI9PaeQmlk1jZvnHHFBGLGZaLtpYelxK5sbd0tKXZwkRAiEAr6aUo+w8wvRDNXYEgGuo2/J067Vt"
        + "KzCv/pSLzol4j+c=";
}
