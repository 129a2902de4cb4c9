using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>The record checksum against the published check value and a bit-at-a-time reference.</summary>
public sealed class Crc32CTests
{
    [Fact]
    public void The_check_value_of_123456789_is_E3069283()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Every_length_and_alignment_matches_the_bitwise_definition()
    {
        // Lengths 0..80 from offsets 0..8 cover every mix of the 8-byte body, the 4-byte step and the byte tail.
        var data = new byte[100];
        new Random(7).NextBytes(data);
        for (var offset = 0; offset <= 8; offset++)
        {
            for (var length = 0; length <= 80; length++)
            {
                var span = data.AsSpan(offset, length);
                Assert.Equal(Reference(span), Crc32C.Compute(span));
            }
        }
    }

    [Fact]
    public void Feeding_in_pieces_gives_the_checksum_of_the_whole()
    {
        var data = new byte[1000];
        new Random(8).NextBytes(data);
        for (var split = 0; split <= data.Length; split += 37)
        {
            var state = Crc32C.Append(Crc32C.Append(Crc32C.Initial, data.AsSpan(0, split)), data.AsSpan(split));
            Assert.Equal(Crc32C.Compute(data), Crc32C.Finish(state));
        }
    }

    [Fact]
    public void The_record_checksum_covers_the_length_bytes_then_the_payload()
    {
        var payload = new byte[] { 9, 8, 7, 6, 5 };
        Assert.Equal(Reference([5, 0, 0, 0, 9, 8, 7, 6, 5]), StoreFormat.Checksum(payload));
    }

    private static uint Reference(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFF_FFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
