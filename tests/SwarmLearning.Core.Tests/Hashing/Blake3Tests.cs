using SwarmLearning.Hashing;

namespace SwarmLearning.Tests.Hashing;

/// <summary>
/// <see cref="Blake3"/> against the reference implementation: every expected digest below was made by Debian's
/// <c>b3sum</c> 1.2.0 (the BLAKE3 team's Rust crate) from the BLAKE3 test-vector input, byte i = i mod 251. The
/// lengths cover the empty input, partial and whole blocks and chunks, a chunk count that is and is not a power of two
/// (the tree's shape), and more than sixteen chunks (the AVX-512 path, then the one-chunk path for the rest).
/// </summary>
[Trait("Category", "Kernel")] // test.sh runs these again with AVX-512, AVX2, then all vector instructions off
public sealed class Blake3Tests
{
    public static TheoryData<int, string> Vectors => new()
    {
        { 0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262" },
        { 1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213" },
        { 63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b" },
        { 64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98" },
        { 65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee" },
        { 1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11" },
        { 1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7" },
        { 1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444" },
        { 2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a" },
        { 2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030" },
        { 3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2" },
        { 3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3" },
        { 4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969" },
        { 4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995" },
        { 8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63" },
        { 8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b" },
        { 16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4" },
        { 16385, "1dabe216be2578830263b049de1639f39f05a4da616b9b78c7a5e4e41662fd1f" },
        { 31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47" },
        { 32768, "162183d1f9184474f5a5c9e6224e66720cdb6523f822e52d9b1efa30893f48f9" },
        { 32769, "da589428d9b32c97658a04a21c0c8a38aad2ac402120819d956fd6d62bbfa36e" },
        { 102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085" },
        { 1048579, "dc51e3daeb5dbbb6a3eb12209fbb7cb14a74fc866a4ad82bc7eb703f536c1092" },
    };

    private static byte[] Input(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i % 251))];

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Hashes_the_reference_vectors(int length, string expected) =>
        Assert.Equal(expected, Convert.ToHexStringLower(Blake3.HashData(Input(length))));

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Hashes_the_reference_vectors_eight_chunks_at_a_time(int length, string expected)
    {
        var hash = new Blake3 { MaxLanes = 8 };
        hash.AppendData(Input(length));
        Assert.Equal(expected, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Hashes_the_reference_vectors_one_chunk_at_a_time(int length, string expected)
    {
        var hash = new Blake3 { MaxLanes = 1 };
        hash.AppendData(Input(length));
        Assert.Equal(expected, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 2)]
    [InlineData(4096, 3)]
    [InlineData(65536, 4)]
    [InlineData(16384, 5)]
    public void Pieces_of_any_size_give_the_hash_of_the_whole(int largestPiece, int seed)
    {
        const int length = 1048579;
        var input = Input(length);
        var random = new Random(seed);
        var hash = new Blake3 { MaxLanes = seed % 2 == 0 ? 16 : 8 };
        for (var at = 0; at < length;)
        {
            var piece = Math.Min(length - at, random.Next(0, largestPiece + 1));
            hash.AppendData(input.AsSpan(at, piece));
            at += piece;
        }

        Assert.Equal("dc51e3daeb5dbbb6a3eb12209fbb7cb14a74fc866a4ad82bc7eb703f536c1092", Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    [Fact]
    public void A_model_sized_input_in_TLS_records_and_whole_gives_the_reference_hash()
    {
        // 40 MB, as a 10M-parameter model: a tree 15 levels deep, in 16 KiB pieces (a receiver's TLS records), whole
        // (a publisher's arrays), eight chunks at a time and one at a time.
        const string expected = "aaf9859dad8f95a2f3eb1aba4c71aa5265588ccaae57ebabcae71c5eb26abd7e";
        var input = Input(40000019);
        var records = new Blake3();
        for (var at = 0; at < input.Length; at += 16384)
        {
            records.AppendData(input.AsSpan(at, Math.Min(16384, input.Length - at)));
        }

        var eight = new Blake3 { MaxLanes = 8 };
        eight.AppendData(input);
        var one = new Blake3 { MaxLanes = 1 };
        one.AppendData(input);
        Assert.Equal(expected, Convert.ToHexStringLower(records.GetHashAndReset()));
        Assert.Equal(expected, Convert.ToHexStringLower(Blake3.HashData(input)));
        Assert.Equal(expected, Convert.ToHexStringLower(eight.GetHashAndReset()));
        Assert.Equal(expected, Convert.ToHexStringLower(one.GetHashAndReset()));
    }

    [Fact]
    public void The_lanes_follow_the_runtime_switches()
    {
        // test.sh reruns these tests with AVX-512 off, then AVX2 off, then every vector instruction off: each must
        // move the hash to a narrower path (which the vectors above then check).
        var lanes = Blake3.LaneCount;
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0" || Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0")
        {
            Assert.Equal(1, lanes);
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
        {
            Assert.True(lanes is 8 or 1, $"AVX-512 is off but the hash takes {lanes} chunks at once");
        }
        else
        {
            Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 16 : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? 8 : 1, lanes);
        }
    }

    [Fact]
    public void A_reset_hash_starts_again_empty()
    {
        var hash = new Blake3();
        hash.AppendData(Input(40000));
        Assert.NotEqual("62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47", Convert.ToHexStringLower(hash.GetHashAndReset()));
        Assert.Equal("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", Convert.ToHexStringLower(hash.GetHashAndReset()));
        hash.AppendData(Input(31744));
        Assert.Equal("62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47", Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
