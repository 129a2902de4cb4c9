using System.Buffers.Binary;
using System.Numerics;

namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF: the checksum of
/// iSCSI, ext4 and SSE4.2's <c>crc32</c> instruction). Check value: CRC-32C("123456789") = 0xE3069283.
/// </summary>
internal static class Crc32C
{
    /// <summary>The state to start a checksum from.</summary>
    public const uint Initial = 0xFFFF_FFFF;

    /// <summary>The checksum of <paramref name="data"/> in one call.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));

    /// <summary>The final checksum of a running state.</summary>
    public static uint Finish(uint state) => ~state;

    /// <summary>Feeds <paramref name="data"/> into a running state.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the hardware instruction where there is one (SSE4.2 crc32, Arm64 CRC32C) and a
        // table-driven fallback otherwise. The instruction takes 8 bytes per step, so the body goes 8 bytes at a
        // time; its operand's bytes are consumed low byte first, which is why the words are read little-endian:
        // the result is then the same as the byte-at-a-time definition on any machine.
        while (data.Length >= sizeof(ulong))
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        if (data.Length >= sizeof(uint))
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[sizeof(uint)..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }
}
