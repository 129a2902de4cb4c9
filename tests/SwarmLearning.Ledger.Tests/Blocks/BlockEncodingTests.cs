using SwarmLearning.Ledger.Blocks;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Ledger.Tests.Blocks;

public sealed class BlockEncodingTests : IDisposable
{
    private readonly TestSwarm _swarm = new();

    public void Dispose() => _swarm.Dispose();

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    [InlineData(Block.MaxTimestamp + 1)]
    [InlineData(long.MaxValue)]
    public void A_block_whose_timestamp_is_not_a_time_is_refused_by_the_decoder_naming_the_field(long timestamp)
    {
        // Found by fuzzing: a signed block with timestamp long.MaxValue decoded, then the contracts' conversion to a
        // DateTimeOffset threw ArgumentOutOfRangeException instead of the block being refused.
        var bytes = _swarm.Head.Encoded.ToArray();
        BitConverter.TryWriteBytes(bytes.AsSpan(TimestampOffset, 8), timestamp);
        var e = Assert.Throws<LedgerFormatException>(() => Block.Decode(bytes));
        Assert.Contains("'timestamp'", e.Message, StringComparison.Ordinal);
        Assert.Contains(timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(Block.MaxTimestamp)]
    public void Timestamps_at_the_ends_of_the_range_decode(long timestamp)
    {
        var bytes = _swarm.Head.Encoded.ToArray();
        BitConverter.TryWriteBytes(bytes.AsSpan(TimestampOffset, 8), timestamp);
        Assert.Equal(timestamp, Block.Decode(bytes).Timestamp);
    }

    [Fact]
    public void Create_refuses_a_timestamp_the_decoder_would_refuse()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Block.Create(_swarm.Sentinel, 1, _swarm.Head.Hash.Span, -1, [], new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Block.Create(_swarm.Sentinel, 1, _swarm.Head.Hash.Span, Block.MaxTimestamp + 1, [], new byte[32]));
    }

    // magic (4), version (1), height (8), previous hash (32).
    private const int TimestampOffset = 4 + 1 + 8 + Block.HashSize;
}
