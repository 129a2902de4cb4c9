using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>
/// Problems found only when values are read: NaN and infinities stored in the file, a file that shrank after it was
/// opened, a file that is not there. Each is a <see cref="ModelFormatException"/> naming the file (and the tensor and
/// element where there is one), never an <see cref="IOException"/> or another type.
/// </summary>
public sealed class SafetensorsBadValueTests : IDisposable
{
    private const int BadIndex = 5;
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public SafetensorsBadValueTests() => _path = _dir.File("model.safetensors");

    public static TheoryData<uint, string> F32Patterns => new()
    {
        { 0x7FC0_0000u, "NaN" },
        { 0xFFC0_0001u, "NaN" },
        { 0x7F80_0001u, "NaN" },
        { 0x7F80_0000u, "+Infinity" },
        { 0xFF80_0000u, "-Infinity" },
    };

    public static TheoryData<string, ushort, string> Patterns16 => new()
    {
        { "F16", 0x7E00, "NaN" },
        { "F16", 0x7C01, "NaN" },
        { "F16", 0xFE00, "NaN" },
        { "F16", 0x7C00, "+Infinity" },
        { "F16", 0xFC00, "-Infinity" },
        { "BF16", 0x7FC0, "NaN" },
        { "BF16", 0x7F81, "NaN" },
        { "BF16", 0xFFC0, "NaN" },
        { "BF16", 0x7F80, "+Infinity" },
        { "BF16", 0xFF80, "-Infinity" },
    };

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(F32Patterns))]
    public void Non_finite_f32_value_is_reported_by_ReadF32_with_its_element(uint bits, string described)
    {
        WriteF32WithBadValue(bits);
        using var file = SafetensorsFile.Open(_path);

        var e = RawSafetensors.AssertRefusedBy(() => ReadAll(file, 1), _path, "w", $"element {BadIndex} is {described}");
        Assert.Contains("finite", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(F32Patterns))]
    public void Non_finite_f32_value_is_reported_by_VerifyValues_with_its_element(uint bits, string described)
    {
        WriteF32WithBadValue(bits);
        using var file = SafetensorsFile.Open(_path);

        RawSafetensors.AssertRefusedBy(() => file.VerifyValues(), _path, "w", $"element {BadIndex} is {described}");
    }

    [Theory]
    [MemberData(nameof(Patterns16))]
    public void Non_finite_16_bit_value_is_reported_by_ReadF32_with_its_element(string dtype, ushort bits, string described)
    {
        Write16WithBadValue(dtype, bits);
        using var file = SafetensorsFile.Open(_path);

        RawSafetensors.AssertRefusedBy(() => ReadAll(file, 1), _path, "w", $"element {BadIndex} is {described}");
    }

    [Theory]
    [MemberData(nameof(Patterns16))]
    public void Non_finite_16_bit_value_is_reported_by_VerifyValues_with_its_element(string dtype, ushort bits, string described)
    {
        Write16WithBadValue(dtype, bits);
        using var file = SafetensorsFile.Open(_path);

        RawSafetensors.AssertRefusedBy(() => file.VerifyValues(), _path, "w", $"element {BadIndex} is {described}");
    }

    [Theory]
    [InlineData("F32")]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Non_finite_value_is_reported_with_its_index_in_the_tensor_when_a_sub_range_is_read(string dtype)
    {
        if (dtype == "F32")
        {
            WriteF32WithBadValue(0x7FC0_0000u);
        }
        else
        {
            Write16WithBadValue(dtype, dtype == "F16" ? (ushort)0x7E00 : (ushort)0x7FC0);
        }

        using var file = SafetensorsFile.Open(_path);

        // Elements 3..6 hold the bad element 5: the message gives its index in the tensor, not in the buffer.
        RawSafetensors.AssertRefusedBy(() => file.ReadF32(1, 3, new float[4]), _path, "w", $"element {BadIndex} is NaN");

        // Ranges that avoid the bad element read normally.
        var before = new float[5];
        file.ReadF32(1, 0, before);
        Assert.Equal([0f, 1f, 2f, 3f, 4f], before);
        var after = new float[2];
        file.ReadF32(1, 6, after);
        Assert.Equal([6f, 7f], after);
    }

    [Theory]
    [InlineData("F32", 300_001)]
    [InlineData("F16", 600_003)]
    [InlineData("BF16", 524_289)]
    public void Non_finite_value_past_the_first_read_chunk_is_reported_with_its_absolute_element(string dtype, int badIndex)
    {
        // Large enough that the reader's staging buffers and VerifyValues' buffer wrap at least once.
        var count = badIndex + 17;
        var size = dtype == "F32" ? 4 : 2;
        var data = new byte[count * size];
        if (dtype == "F32")
        {
            BitConverter.TryWriteBytes(data.AsSpan(badIndex * 4), float.PositiveInfinity);
        }
        else
        {
            BitConverter.TryWriteBytes(data.AsSpan(badIndex * 2), dtype == "F16" ? (ushort)0x7C00 : (ushort)0x7F80);
        }

        RawSafetensors.Write(_path, $$$"""{"big":{"dtype":"{{{dtype}}}","shape":[{{{count}}}],"data_offsets":[0,{{{data.Length}}}]}}""", data);
        using var file = SafetensorsFile.Open(_path);

        RawSafetensors.AssertRefusedBy(() => file.VerifyValues(), _path, "big", $"element {badIndex} is +Infinity");
        RawSafetensors.AssertRefusedBy(() => ReadAll(file, 0), _path, "big", $"element {badIndex} is +Infinity");
    }

    [Fact]
    public void VerifyValues_reports_the_first_bad_tensor_in_data_order()
    {
        RawSafetensors.Write(
            _path,
            """{"late":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"early":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""",
            RawSafetensors.F32Bits(0xFF80_0000u, 0x7FC0_0000u));
        using var file = SafetensorsFile.Open(_path);

        RawSafetensors.AssertRefusedBy(() => file.VerifyValues(), _path, "early", "element 0 is -Infinity");
    }

    [Fact]
    public void Non_finite_values_do_not_prevent_opening()
    {
        // Open validates only the header; values are checked as they are read.
        WriteF32WithBadValue(0x7FC0_0000u);

        using var file = SafetensorsFile.Open(_path);
        var ok = new float[3];
        file.ReadF32(0, 0, ok);
        Assert.Equal([10f, 11f, 12f], ok);
    }

    [Fact]
    public void File_truncated_after_open_is_reported_by_ReadF32()
    {
        WriteTwoTensors();
        using var file = SafetensorsFile.Open(_path);
        Truncate(file.Length - 6);

        var e = RawSafetensors.AssertRefusedBy(() => ReadAll(file, 1), _path, "w", "truncated after it was opened");
        Assert.Contains("the file ended at offset", e.Problem, StringComparison.Ordinal);

        // The untouched first tensor still reads.
        Assert.Equal([10f, 11f, 12f], ReadAll(file, 0));
    }

    [Fact]
    public void File_truncated_after_open_is_reported_by_VerifyValues_and_LoadModel()
    {
        WriteTwoTensors();
        using var file = SafetensorsFile.Open(_path);
        Truncate(file.Length - 6);

        RawSafetensors.AssertRefusedBy(() => file.VerifyValues(), _path, "w", "truncated after it was opened");
        RawSafetensors.AssertRefusedBy(file.LoadModel, _path, "w", "truncated after it was opened");
    }

    [Fact]
    public void File_truncated_to_nothing_after_open_is_reported_for_the_first_tensor()
    {
        WriteTwoTensors();
        using var file = SafetensorsFile.Open(_path);
        Truncate(0);

        RawSafetensors.AssertRefusedBy(() => file.VerifyValues(), _path, "a", "the file ended at offset");
    }

    [Fact]
    public void Missing_file_is_reported_as_a_model_format_error()
    {
        var missing = _dir.File("absent.safetensors");

        var e = RawSafetensors.AssertRefused(missing, null, "cannot open the file");
        Assert.IsType<FileNotFoundException>(e.InnerException);
    }

    [Fact]
    public void File_in_a_missing_directory_is_reported_as_a_model_format_error()
    {
        var missing = Path.Combine(_dir.Path, "no-such-dir", "model.safetensors");

        var e = RawSafetensors.AssertRefused(missing, null, "cannot open the file");
        Assert.IsType<DirectoryNotFoundException>(e.InnerException);
    }

    [Fact]
    public void Directory_in_place_of_a_file_is_reported_as_a_model_format_error()
    {
        var directory = _dir.File("model.safetensors.d");
        Directory.CreateDirectory(directory);

        RawSafetensors.AssertRefused(directory, null, "cannot open the file");
    }

    private static float[] ReadAll(SafetensorsFile file, int tensor)
    {
        var values = new float[file.Tensors[tensor].ElementCount];
        file.ReadF32(tensor, 0, values);
        return values;
    }

    /// <summary>A good tensor "a" (3 f32) followed by "w" (8 f32: 0..7), with element <see cref="BadIndex"/> of "w" replaced.</summary>
    private void WriteF32WithBadValue(uint bits)
    {
        var w = Enumerable.Range(0, 8).Select(i => BitConverter.SingleToUInt32Bits(i)).ToArray();
        w[BadIndex] = bits;
        RawSafetensors.Write(
            _path,
            """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"w":{"dtype":"F32","shape":[2,4],"data_offsets":[12,44]}}""",
            [.. RawSafetensors.F32(10, 11, 12), .. RawSafetensors.F32Bits(w)]);
    }

    /// <summary>Like <see cref="WriteF32WithBadValue"/> with "w" stored as F16 or BF16.</summary>
    private void Write16WithBadValue(string dtype, ushort bits)
    {
        var w = new ushort[8];
        var encoded = new byte[16];
        var floats = Enumerable.Range(0, 8).Select(i => (float)i).ToArray();
        var overflow = FloatConversions.FromSingle(dtype == "F16" ? TensorDType.F16 : TensorDType.BF16, floats, encoded);
        Assert.Equal(-1, overflow);
        Buffer.BlockCopy(encoded, 0, w, 0, 16);
        w[BadIndex] = bits;
        RawSafetensors.Write(
            _path,
            $$$"""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"w":{"dtype":"{{{dtype}}}","shape":[8],"data_offsets":[12,28]}}""",
            [.. RawSafetensors.F32(10, 11, 12), .. RawSafetensors.Bits16(w)]);
    }

    private void WriteTwoTensors() => RawSafetensors.Write(
        _path,
        """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"w":{"dtype":"BF16","shape":[4],"data_offsets":[12,20]}}""",
        [.. RawSafetensors.F32(10, 11, 12), .. RawSafetensors.Bits16(0x3F80, 0x4000, 0x4040, 0x4080)]);

    private void Truncate(long length)
    {
        using var stream = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.SetLength(length);
    }
}
