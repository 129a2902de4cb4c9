namespace SwarmLearning.Training.Data.Idx;

/// <summary>The element types of the IDX format, by their type code (the file's third byte). Multi-byte values are big-endian.</summary>
#pragma warning disable CA1028 // The underlying type is the format's one-byte type code.
public enum IdxElementType : byte
#pragma warning restore CA1028
{
    /// <summary>0x08: unsigned byte (images and labels of MNIST and Fashion-MNIST).</summary>
    U8 = 0x08,

    /// <summary>0x09: signed byte.</summary>
    I8 = 0x09,

    /// <summary>0x0B: 16-bit signed integer.</summary>
    I16 = 0x0B,

    /// <summary>0x0C: 32-bit signed integer.</summary>
    I32 = 0x0C,

    /// <summary>0x0D: 32-bit IEEE float.</summary>
    F32 = 0x0D,

    /// <summary>0x0E: 64-bit IEEE float.</summary>
    F64 = 0x0E,
}

/// <summary>Sizes and names of <see cref="IdxElementType"/>.</summary>
public static class IdxElementTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this IdxElementType type) => type switch
    {
        IdxElementType.U8 or IdxElementType.I8 => 1,
        IdxElementType.I16 => 2,
        IdxElementType.I32 or IdxElementType.F32 => 4,
        IdxElementType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an IDX element type"),
    };

    /// <summary>True for the integer types (the types a label file may have).</summary>
    public static bool IsInteger(this IdxElementType type) => type is IdxElementType.U8 or IdxElementType.I8 or IdxElementType.I16 or IdxElementType.I32;

    /// <summary>True when <paramref name="code"/> is a type code the format defines.</summary>
    public static bool IsDefined(byte code) => code is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E;

    /// <summary>A short name with the type code, for messages: "unsigned byte (0x08)".</summary>
    public static string Describe(this IdxElementType type) => type switch
    {
        IdxElementType.U8 => "unsigned byte (0x08)",
        IdxElementType.I8 => "signed byte (0x09)",
        IdxElementType.I16 => "int16 (0x0B)",
        IdxElementType.I32 => "int32 (0x0C)",
        IdxElementType.F32 => "float32 (0x0D)",
        IdxElementType.F64 => "float64 (0x0E)",
        _ => $"unknown (0x{(byte)type:X2})",
    };
}
