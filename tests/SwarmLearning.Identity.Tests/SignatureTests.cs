using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tests;

public sealed class SignatureTests
{
    private static readonly byte[] Data = [.. "transaction: register sl1, sequence 1"u8];

    [Fact]
    public void A_signature_is_64_bytes_that_verify_with_the_certificate_key()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        using var publicKey = identity.Certificate.GetECDsaPublicKey()!;

        var signature = identity.Sign(Data);

        Assert.Equal(SwarmSignature.Size, signature.Length);
        Assert.True(SwarmSignature.Verify(publicKey, Data, signature));
        Assert.True(SwarmSignature.Verify(identity.Certificate, Data, signature));
        // The IEEE P1363 form (r ‖ s), not DER.
        Assert.True(publicKey.VerifyData(Data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void Any_flipped_bit_in_signature_or_data_fails()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        using var publicKey = identity.Certificate.GetECDsaPublicKey()!;
        var signature = identity.Sign(Data);

        for (var bit = 0; bit < signature.Length * 8; bit += 7)
        {
            var tampered = (byte[])signature.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(SwarmSignature.Verify(publicKey, Data, tampered), $"signature bit {bit}");
        }

        for (var bit = 0; bit < Data.Length * 8; bit += 5)
        {
            var tampered = (byte[])Data.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(SwarmSignature.Verify(publicKey, tampered, signature), $"data bit {bit}");
        }
    }

    [Fact]
    public void Another_identity_key_does_not_verify()
    {
        using var ca = TestPki.Ca();
        using var signer = TestPki.Issue(ca, name: "a");
        using var other = TestPki.Issue(ca, name: "b");

        Assert.False(SwarmSignature.Verify(other.Certificate, Data, signer.Sign(Data)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(72)]
    public void Signatures_of_the_wrong_length_are_false_not_exceptions(int length)
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        using var publicKey = identity.Certificate.GetECDsaPublicKey()!;
        var signature = identity.Sign(Data);
        var resized = new byte[length];
        signature.AsSpan(0, Math.Min(length, signature.Length)).CopyTo(resized);

        Assert.False(SwarmSignature.Verify(publicKey, Data, resized));
        Assert.False(SwarmSignature.VerifyHash(publicKey, SHA256.HashData(Data), resized));
    }

    [Fact]
    public void All_zero_signature_is_false()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        Assert.False(SwarmSignature.Verify(identity.Certificate, Data, new byte[SwarmSignature.Size]));
    }

    [Fact]
    public void Signing_into_a_span_and_signing_a_hash_interoperate_with_Verify()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        using var publicKey = identity.Certificate.GetECDsaPublicKey()!;
        var hash = SHA256.HashData(Data);

        Span<byte> intoSpan = stackalloc byte[SwarmSignature.Size];
        identity.Sign(Data, intoSpan);
        var ofHash = identity.SignHash(hash);

        Assert.True(SwarmSignature.Verify(publicKey, Data, intoSpan));
        Assert.True(SwarmSignature.VerifyHash(publicKey, hash, intoSpan));
        Assert.True(SwarmSignature.Verify(publicKey, Data, ofHash));
        Assert.True(SwarmSignature.VerifyHash(publicKey, hash, ofHash));
        Assert.False(SwarmSignature.VerifyHash(publicKey, SHA256.HashData("other"u8), ofHash));
    }

    [Fact]
    public void Wrong_sizes_from_the_caller_are_argument_errors()
    {
        using var ca = TestPki.Ca();
        using var identity = TestPki.Issue(ca);
        using var publicKey = identity.Certificate.GetECDsaPublicKey()!;

        Assert.Throws<ArgumentException>(() => identity.SignHash(new byte[31]));
        Assert.Throws<ArgumentException>(() => identity.Sign(Data, new byte[63]));
        Assert.Throws<ArgumentException>(() => SwarmSignature.VerifyHash(publicKey, new byte[33], new byte[64]));
    }

    [Fact]
    public void A_disposed_identity_no_longer_signs()
    {
        using var ca = TestPki.Ca();
        var identity = TestPki.Issue(ca);
        identity.Dispose();
        identity.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => identity.Sign(Data));
    }
}
