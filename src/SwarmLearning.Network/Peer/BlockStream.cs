using System.Buffers.Binary;
using SwarmLearning.Ledger.Blocks;

namespace SwarmLearning.Network.Peer;

/// <summary>
/// The peer port's block stream: each block as a u32 little-endian length and its canonical encoding, back to back,
/// content type <c>application/vnd.swarmlearning.blocks</c>. The receiver verifies every block; the stream only frames them.
/// </summary>
internal static class BlockStream
{
    public const string ContentType = "application/vnd.swarmlearning.blocks";

    public static async Task WriteAsync(Stream stream, Block block, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)block.Encoded.Length);
        await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(block.Encoded, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the next block's bytes, or null at the end of the stream.</summary>
    public static async Task<byte[]?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        var got = await stream.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < 4)
        {
            throw new IOException("the block stream ended inside a length prefix");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > Block.MaxEncodedSize)
        {
            throw new IOException($"the block stream announces a block of {length} bytes, more than the limit of {Block.MaxEncodedSize}");
        }

        var bytes = new byte[length];
        await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }
}
