using System.Buffers.Binary;
using SwarmLearning.Identity;

namespace SwarmLearning.Ledger.Serialization;

/// <summary>
/// Reads the canonical binary encoding written by <see cref="LedgerWriter"/>, strictly: a short buffer, an invalid
/// UTF-8 string or a length beyond its limit is a <see cref="LedgerFormatException"/> naming the field.
/// </summary>
internal ref struct LedgerReader(ReadOnlySpan<byte> data, string what)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private readonly string _what = what;
    private int _position;

    public readonly int Position => _position;

    public readonly int Remaining => _data.Length - _position;

    public readonly bool AtEnd => _position == _data.Length;

    public byte ReadU8(string field) => Take(1, field)[0];

    public bool ReadBool(string field)
    {
        var b = ReadU8(field);
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw Error(field, $"a boolean must be 0 or 1, not {b}"),
        };
    }

    public ushort ReadU16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));

    public uint ReadU32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    public int ReadI32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));

    public ulong ReadU64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    public long ReadI64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public ReadOnlySpan<byte> ReadFixed(int length, string field) => Take(length, field);

    public Fingerprint ReadFingerprint(string field) => Fingerprint.Read(Take(Fingerprint.Size, field));

    public ReadOnlySpan<byte> ReadBytes(string field, int maxLength)
    {
        var length = ReadU32(field);
        if (length > (uint)maxLength)
        {
            throw Error(field, $"claims {length} bytes, more than the limit of {maxLength}");
        }

        return Take((int)length, field);
    }

    public string ReadString(string field, int maxBytes = 1024)
    {
        var length = ReadU16(field);
        if (length > maxBytes)
        {
            throw Error(field, $"is {length} bytes long, more than the limit of {maxBytes}");
        }

        var bytes = Take(length, field);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw Error(field, "is not valid UTF-8");
        }
    }

    public readonly void ExpectEnd()
    {
        if (!AtEnd)
        {
            throw new LedgerFormatException($"{_what}: {Remaining} unexpected bytes after the end at offset {_position}");
        }
    }

    private ReadOnlySpan<byte> Take(int length, string field)
    {
        if (length > Remaining)
        {
            throw Error(field, $"needs {length} bytes at offset {_position} but only {Remaining} remain (truncated)");
        }

        var span = _data.Slice(_position, length);
        _position += length;
        return span;
    }

    private readonly LedgerFormatException Error(string field, string problem) => new($"{_what}: field '{field}' {problem}");

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}

/// <summary>Bytes that are not a valid ledger encoding (a transaction, a block, a genesis configuration).</summary>
public sealed class LedgerFormatException : SwarmException
{
    /// <summary>Creates the error with a message naming the field and the problem.</summary>
    public LedgerFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a message and its cause.</summary>
    public LedgerFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error with no message; prefer the overloads that say what is wrong.</summary>
    public LedgerFormatException()
    {
    }
}
