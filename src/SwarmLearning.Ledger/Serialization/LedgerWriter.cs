using System.Buffers;
using System.Buffers.Binary;
using SwarmLearning.Identity;

namespace SwarmLearning.Ledger.Serialization;

/// <summary>
/// Writes the ledger's canonical binary encoding: little-endian integers, u16-length UTF-8 strings, u32-length byte
/// strings, fixed 32-byte hashes and fingerprints. Everything that is hashed or signed goes through this writer, so
/// one value has exactly one encoding.
/// </summary>
internal sealed class LedgerWriter
{
    private readonly ArrayBufferWriter<byte> _buffer;

    public LedgerWriter(int initialCapacity = 256) => _buffer = new ArrayBufferWriter<byte>(initialCapacity);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void Clear() => _buffer.Clear();

    public void WriteU8(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void WriteBool(bool value) => WriteU8(value ? (byte)1 : (byte)0);

    public void WriteU16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
    }

    public void WriteU32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void WriteI32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void WriteU64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void WriteI64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void WriteF64(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    /// <summary>Writes bytes with no length prefix: for fixed-size fields (hashes, signatures, magic numbers).</summary>
    public void WriteFixed(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer.GetSpan(bytes.Length));
        _buffer.Advance(bytes.Length);
    }

    public void WriteFingerprint(Fingerprint fingerprint)
    {
        fingerprint.CopyTo(_buffer.GetSpan(Fingerprint.Size));
        _buffer.Advance(Fingerprint.Size);
    }

    /// <summary>Writes a u32 length, then the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        WriteU32((uint)bytes.Length);
        WriteFixed(bytes);
    }

    /// <summary>Writes a u16 byte length, then the UTF-8 bytes. Strings on the ledger are short names.</summary>
    public void WriteString(string value)
    {
        var count = System.Text.Encoding.UTF8.GetByteCount(value);
        if (count > ushort.MaxValue)
        {
            throw new ArgumentException($"a string of {count} bytes does not fit the ledger's u16 length", nameof(value));
        }

        WriteU16((ushort)count);
        var span = _buffer.GetSpan(count);
        System.Text.Encoding.UTF8.GetBytes(value, span);
        _buffer.Advance(count);
    }

    public void WriteOptionalString(string? value)
    {
        WriteBool(value is not null);
        if (value is not null)
        {
            WriteString(value);
        }
    }
}
