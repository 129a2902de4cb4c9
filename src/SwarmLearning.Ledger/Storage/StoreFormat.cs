using System.Buffers.Binary;

namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// The on-disk layout of <c>chain.dat</c> (docs/ledger.md, "Storage format"). All integers are little-endian.
/// <code>
/// file header (16 bytes): "SWLEDGR\0" | u32 version = 1 | u32 reserved = 0
/// record (16 + n bytes):  u32 magic "SBLK" | u32 n | u32 crc | n payload bytes | u32 crc again
///                         crc = CRC-32C(the 4 length bytes ‖ payload)
/// </code>
/// The trailer repeats the checksum so that a write cut short inside the payload can never look complete: the
/// record is whole only when its last four bytes are there and agree with its header.
/// </summary>
internal static class StoreFormat
{
    /// <summary>The store's file in its directory.</summary>
    public const string FileName = "chain.dat";

    /// <summary>Where a new store's header is written before it is renamed into place.</summary>
    public const string TemporaryFileName = "chain.dat.tmp";

    /// <summary>The format this build writes and reads.</summary>
    public const uint Version = 1;

    /// <summary>Size of the file header.</summary>
    public const int FileHeaderSize = 16;

    /// <summary>"SBLK" read as a little-endian u32.</summary>
    public const uint RecordMagic = 0x4B4C4253;

    /// <summary>Magic, length and checksum before the payload.</summary>
    public const int RecordHeaderSize = 12;

    /// <summary>The checksum again after the payload.</summary>
    public const int TrailerSize = 4;

    /// <summary>Bytes a record takes beyond its payload.</summary>
    public const int FrameOverhead = RecordHeaderSize + TrailerSize;

    /// <summary>The largest payload a record may hold (64 MiB); a header claiming more is corrupt.</summary>
    public const int MaxRecordLength = 64 << 20;

    /// <summary>The first eight bytes of every store file.</summary>
    public static ReadOnlySpan<byte> FileMagic => "SWLEDGR\0"u8;

    /// <summary>Writes the 16-byte file header.</summary>
    public static void WriteFileHeader(Span<byte> destination)
    {
        FileMagic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], 0);
    }

    /// <summary>
    /// What is wrong with a file header, or null when it is a version-1 header; <paramref name="newerVersion"/> is
    /// set when the header is sound but names a version this build does not know.
    /// </summary>
    public static string? CheckFileHeader(ReadOnlySpan<byte> header, out bool newerVersion)
    {
        newerVersion = false;
        if (header.Length < FileHeaderSize)
        {
            return $"the file is {header.Length} bytes long, shorter than the {FileHeaderSize}-byte ledger file header";
        }

        if (!header[..8].SequenceEqual(FileMagic))
        {
            return $"it does not start with the ledger file magic \"SWLEDGR\\0\" (found {Convert.ToHexString(header[..8])})";
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != Version)
        {
            newerVersion = version > Version;
            return $"its format version is {version}; this build reads version {Version}";
        }

        var reserved = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        return reserved == 0 ? null : $"the reserved field of its header is 0x{reserved:X8}, not 0";
    }

    /// <summary>The size on disk of a record holding <paramref name="payloadLength"/> bytes.</summary>
    public static long FrameLength(long payloadLength) => payloadLength + FrameOverhead;

    /// <summary>The checksum of a record: CRC-32C over its little-endian length bytes, then its payload.</summary>
    public static uint Checksum(ReadOnlySpan<byte> payload)
    {
        Span<byte> length = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)payload.Length);
        return Crc32C.Finish(Crc32C.Append(Crc32C.Append(Crc32C.Initial, length), payload));
    }

    /// <summary>Writes <paramref name="payload"/> framed as a record and returns the bytes written.</summary>
    public static int WriteFrame(Span<byte> destination, ReadOnlySpan<byte> payload)
    {
        var crc = Checksum(payload);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, RecordMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], crc);
        payload.CopyTo(destination[RecordHeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(RecordHeaderSize + payload.Length)..], crc);
        return RecordHeaderSize + payload.Length + TrailerSize;
    }

    /// <summary>
    /// Checks a record header on its own: what is wrong with it, or null with the payload length it declares.
    /// </summary>
    public static string? CheckRecordHeader(ReadOnlySpan<byte> header, out int payloadLength)
    {
        payloadLength = 0;
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic != RecordMagic)
        {
            return $"no record starts there (found 0x{magic:X8} where the record magic 0x{RecordMagic:X8} \"SBLK\" belongs)";
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (length > MaxRecordLength)
        {
            return $"its length field claims {length} bytes, over the {MaxRecordLength}-byte limit of a record";
        }

        payloadLength = (int)length;
        return null;
    }

    /// <summary>
    /// Checks a whole record given as its header, payload and trailer: what is wrong with it, or null when its
    /// magic, checksum and trailer agree and its length field equals the length of <paramref name="payload"/>.
    /// </summary>
    public static string? CheckFrame(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> trailer)
    {
        var problem = CheckRecordHeader(header, out var length);
        if (problem is not null)
        {
            return problem;
        }

        if (length != payload.Length)
        {
            return $"its length field says {length} bytes where the index expects {payload.Length}";
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var computed = Checksum(payload);
        if (stored != computed)
        {
            return $"its checksum does not match (stored 0x{stored:X8}, computed 0x{computed:X8} over its {length} bytes)";
        }

        var repeated = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        return repeated == stored ? null : $"its trailer 0x{repeated:X8} does not repeat its checksum 0x{stored:X8}";
    }

    /// <summary><see cref="CheckFrame(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> on one contiguous frame.</summary>
    public static string? CheckFrame(ReadOnlySpan<byte> frame) =>
        CheckFrame(frame[..RecordHeaderSize], frame[RecordHeaderSize..^TrailerSize], frame[^TrailerSize..]);
}
