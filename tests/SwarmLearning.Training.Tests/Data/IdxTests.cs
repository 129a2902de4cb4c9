using System.Buffers.Binary;
using SwarmLearning.Training.Data;
using SwarmLearning.Training.Data.Idx;

namespace SwarmLearning.Training.Tests;

public sealed class IdxTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(IdxElementType.U8, true)]
    [InlineData(IdxElementType.I8, false)]
    [InlineData(IdxElementType.I16, true)]
    [InlineData(IdxElementType.I32, false)]
    [InlineData(IdxElementType.F32, true)]
    [InlineData(IdxElementType.F64, false)]
    public void Written_arrays_read_back_unchanged(IdxElementType type, bool compress)
    {
        var data = new byte[5 * 2 * 3 * type.SizeInBytes()];
        new Random(7).NextBytes(data);
        var array = new IdxArray(type, [5, 2, 3], data, "mem");
        var path = _temp.File("array.idx");
        IdxWriter.Write(path, array, compress);

        var read = IdxReader.Read(path);
        Assert.Equal(type, read.ElementType);
        Assert.Equal([5, 2, 3], read.Dimensions);
        Assert.Equal(data, read.Data);
        Assert.Equal(compress, File.ReadAllBytes(path) is [0x1f, 0x8b, ..]);
    }

    [Fact]
    public void A_subset_is_written_record_for_record_in_the_given_order()
    {
        var array = SyntheticData.Images(6, 3, 2, 2, salt: 0);
        var path = _temp.File("subset.gz");
        IdxWriter.Write(path, array, [4, 0, 4]);

        var read = IdxReader.Read(path);
        Assert.Equal([3, 2, 2], read.Dimensions);
        Assert.Equal([.. array.Record(4), .. array.Record(0), .. array.Record(4)], read.Data);
    }

    [Fact]
    public void Multi_byte_elements_are_big_endian()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteInt16BigEndian(data, 258);
        BinaryPrimitives.WriteInt16BigEndian(data.AsSpan(2), -3);
        BinaryPrimitives.WriteSingleBigEndian(data.AsSpan(4), 1.5f);
        var shorts = new IdxArray(IdxElementType.I16, [2], data[..4], "mem");
        var floats = new IdxArray(IdxElementType.F32, [1], data[4..], "mem");

        var converted = new float[2];
        shorts.ConvertToSingle(converted);
        Assert.Equal([258f, -3f], converted);
        Assert.Equal([258, -3], shorts.ToInt32());
        floats.ConvertToSingle(converted);
        Assert.Equal(1.5f, converted[0]);
    }

    [Fact]
    public void A_gzip_file_is_recognised_by_its_magic_whatever_its_name()
    {
        var path = _temp.File("no-suffix");
        IdxWriter.Write(path, SyntheticData.Labels(4, 2, 0), compress: true);
        Assert.Equal(4, IdxReader.Read(path).RecordCount);
    }

    public static TheoryData<string, byte[], string[]> MalformedFiles => new()
    {
        { "bad magic", [0x01, 0x00, 0x08, 0x01, 0, 0, 0, 1, 9], ["not an IDX file", "0x01 0x00", "byte offset 0"] },
        { "unknown type", [0, 0, 0x07, 0x01, 0, 0, 0, 1, 9], ["unknown IDX element type code 0x07", "byte offset 2"] },
        { "no dimensions", [0, 0, 0x08, 0x00], ["0 dimensions"] },
        { "zero dimension", [0, 0, 0x08, 0x02, 0, 0, 0, 1, 0, 0, 0, 0], ["dimension 2 of 2 is 0", "byte offset 8"] },
        { "negative dimension", [0, 0, 0x08, 0x01, 0xFF, 0xFF, 0xFF, 0xFE], ["dimension 1 of 1 is -2"] },
        { "overflowing dimensions", [0, 0, 0x0E, 0x03, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2], ["more than the limit"] },
        { "short header", [0, 0, 0x08, 0x03, 0, 0, 0, 1], ["header is truncated", "3 dimension(s)"] },
        { "tiny", [0, 0], ["only 2 byte(s)"] },
        { "truncated data", [0, 0, 0x08, 0x02, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4], ["truncated", "6 data bytes", "holds only 4"] },
        { "trailing bytes", [0, 0, 0x08, 0x01, 0, 0, 0, 2, 1, 2, 3, 4, 5], ["3 byte(s) of trailing data", "byte offset 10"] },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void A_malformed_plain_file_is_refused_with_the_reason(string name, byte[] bytes, string[] expected)
    {
        var path = _temp.File(name.Replace(' ', '-') + ".idx");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        foreach (var text in expected)
        {
            Assert.Contains(text, e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void A_malformed_gzip_file_is_refused_with_the_same_reason(string name, byte[] bytes, string[] expected)
    {
        var path = _temp.File(name.Replace(' ', '-') + ".gz");
        File.WriteAllBytes(path, SyntheticData.Gzip(bytes));
        var e = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        foreach (var text in expected.Where(t => !t.StartsWith("holds only", StringComparison.Ordinal)))
        {
            Assert.Contains(text, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_truncated_gzip_file_says_how_much_data_it_holds()
    {
        var path = _temp.File("cut.gz");
        IdxWriter.Write(path, SyntheticData.Images(200, 3, 8, 8, salt: 0));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains("12,800 data bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("gzip stream ends", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_gzip_stream_is_reported_as_damage()
    {
        var path = _temp.File("corrupt.gz");
        IdxWriter.Write(path, SyntheticData.Images(200, 3, 8, 8, salt: 0));
        var bytes = File.ReadAllBytes(path);
        for (var i = 20; i < bytes.Length - 8; i += 7)
        {
            bytes[i] ^= 0x5A;
        }

        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("gzip stream is corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hostile_gzip_header_claiming_gigabytes_does_not_allocate_them()
    {
        // 2 × 30000 × 30000 bytes = 1.8 GB declared, a few bytes present.
        var path = _temp.File("bomb.gz");
        File.WriteAllBytes(path, SyntheticData.Gzip([0, 0, 0x08, 0x03, 0, 0, 0, 2, 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 1, 2, 3]));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64L << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var path = _temp.File("absent.gz");
        var e = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot open", e.Message, StringComparison.Ordinal);
    }
}
