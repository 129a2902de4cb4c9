using System.Security.Cryptography;

namespace SwarmLearning.Identity.Tests;

public sealed class FingerprintTests
{
    [Fact]
    public void Fingerprint_is_the_SHA256_of_the_certificate_DER()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        var der = identity.Certificate.RawData;

        var f = Fingerprint.Of(identity.Certificate);

        Assert.Equal(SHA256.HashData(der), f.AsSpan().ToArray());
        Assert.Equal(f, Fingerprint.Of(der));
        Assert.Equal(f, identity.Fingerprint);
        // What openssl x509 -fingerprint -sha256 prints, without the colons and in lowercase.
        Assert.Equal(identity.Certificate.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant(), f.ToString());
    }

    [Fact]
    public void Fingerprint_is_stable_for_the_same_certificate_and_differs_between_certificates()
    {
        using var ca = TestPki.Ca();
        using var a = TestPki.Issue(ca, name: "a");
        using var b = TestPki.Issue(ca, name: "a");

        Assert.Equal(Fingerprint.Of(a.Certificate), Fingerprint.Of(a.Certificate.RawData));
        Assert.NotEqual(a.Fingerprint, b.Fingerprint); // same name, new key and serial
    }

    [Fact]
    public void Text_form_is_64_lowercase_hex_digits_and_parses_back()
    {
        var f = Fingerprint.Of([1, 2, 3]);
        var text = f.ToString();

        Assert.Matches("^[0-9a-f]{64}$", text);
        Assert.Equal(f, Fingerprint.Parse(text));
        Assert.Equal(f, Fingerprint.Parse(text.ToUpperInvariant()));
        Assert.Equal(f, Fingerprint.Parse("  " + text + "\n"));
        Assert.True(Fingerprint.TryParse(text, out var parsed));
        Assert.Equal(f, parsed);
    }

    [Fact]
    public void Parse_accepts_the_colon_separated_form_openssl_prints()
    {
        var f = Fingerprint.Of([9, 9, 9]);
        var openssl = string.Join(':', Convert.ToHexString(f.AsSpan()).Chunk(2).Select(c => new string(c)));

        Assert.Equal(f, Fingerprint.Parse(openssl));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb8")] // 63 digits
    [InlineData("039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb811")] // 65 digits
    [InlineData("z39058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81")] // not hex
    [InlineData("03-90-58-c6-f2-c0-cb-49-2c-53-3b-0a-4d-14-ef-77-cc-0f-78-ab-cc-ce-d5-28-7d-84-a1-a2-01-1c-fb-81")] // wrong separator
    public void TryParse_refuses_what_is_not_a_fingerprint(string? text)
    {
        Assert.False(Fingerprint.TryParse(text, out var f));
        Assert.True(f.IsEmpty);
    }

    [Fact]
    public void Parse_says_what_a_fingerprint_looks_like()
    {
        var e = Assert.Throws<SwarmException>(() => Fingerprint.Parse("not-a-fingerprint"));
        Assert.Contains("'not-a-fingerprint'", e.Message, StringComparison.Ordinal);
        Assert.Contains("64 hex digits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Raw_bytes_round_trip_through_CopyTo_and_Read()
    {
        var f = Fingerprint.Of([4, 5, 6]);
        var buffer = new byte[Fingerprint.Size + 3];

        f.CopyTo(buffer.AsSpan(3));

        Assert.Equal(f, Fingerprint.Read(buffer.AsSpan(3)));
        Assert.Throws<ArgumentException>(() => Fingerprint.Read(buffer));
        Assert.Throws<ArgumentException>(() => Fingerprint.Read(buffer.AsSpan(0, Fingerprint.Size - 1)));
        Assert.Throws<ArgumentException>(() => f.CopyTo(new byte[Fingerprint.Size - 1]));
    }

    [Fact]
    public void Short_is_the_first_12_hex_digits()
    {
        var f = Fingerprint.Of([7]);
        Assert.Equal(f.ToString()[..12], f.Short);
    }

    [Fact]
    public void Default_is_empty_and_real_fingerprints_are_not()
    {
        Assert.True(default(Fingerprint).IsEmpty);
        Assert.True(Fingerprint.Read(new byte[Fingerprint.Size]).IsEmpty);
        Assert.Equal(new string('0', 64), default(Fingerprint).ToString());
        Assert.False(Fingerprint.Of([]).IsEmpty);
        var lastByteOnly = new byte[Fingerprint.Size];
        lastByteOnly[^1] = 1;
        Assert.False(Fingerprint.Read(lastByteOnly).IsEmpty);
    }

    [Fact]
    public void Equality_follows_the_bytes()
    {
        var a = Fingerprint.Of([1]);
        var sameAsA = Fingerprint.Parse(a.ToString());
        var b = Fingerprint.Of([2]);

        Assert.True(a == sameAsA);
        Assert.False(a != sameAsA);
        Assert.True(a.Equals((object)sameAsA));
        Assert.Equal(a.GetHashCode(), sameAsA.GetHashCode());
        Assert.True(a != b);
        Assert.False(a.Equals(b));
        Assert.False(a.Equals((object)a.ToString()));
        Assert.Single(new HashSet<Fingerprint> { a, sameAsA });
    }

    [Fact]
    public void Order_is_bytewise_and_agrees_with_the_hex_strings()
    {
        var fingerprints = Enumerable.Range(0, 50).Select(i => Fingerprint.Of([(byte)i, (byte)(i * 7)])).ToList();

        var byValue = fingerprints.Order().Select(f => f.ToString()).ToList();
        var byText = fingerprints.Select(f => f.ToString()).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(byText, byValue);
        Assert.Equal(byText, new SortedSet<Fingerprint>(fingerprints).Select(f => f.ToString()));
        var (low, high) = (Fingerprint.Parse(byText[0]), Fingerprint.Parse(byText[^1]));
        Assert.True(low < high && low <= high && high > low && high >= low);
        Assert.False(low > high || low >= high);
        Assert.Equal(0, low.CompareTo(Fingerprint.Parse(byText[0])));
        Assert.True(low <= Fingerprint.Parse(byText[0]) && low >= Fingerprint.Parse(byText[0]));
    }
}
