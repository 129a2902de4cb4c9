using System.Text;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>Files whose length prefix, JSON syntax or header limits are wrong are refused with a named error.</summary>
public sealed class SafetensorsMalformedHeaderTests : IDisposable
{
    private const string OneTensor = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public SafetensorsMalformedHeaderTests() => _path = _dir.File("model.safetensors");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Hand_built_file_with_unpadded_header_is_accepted()
    {
        // The baseline every malformed case below departs from in exactly one detail.
        RawSafetensors.Write(_path, OneTensor, RawSafetensors.F32(1.5f, -2f));

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(OneTensor.Length, file.HeaderLength);
        var w = Assert.Single(file.Tensors);
        Assert.Equal(new TensorInfo("w", TensorDType.F32, new TensorShape(2)), w);
        Assert.Equal([1.5f, -2f], file.LoadModel()["w"].Values);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void File_shorter_than_the_length_prefix_is_refused(int length)
    {
        File.WriteAllBytes(_path, new byte[length]);

        RawSafetensors.AssertRefused(_path, null, $"the file has {length} bytes, too few");
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue)]
    public void Header_length_above_the_default_limit_is_refused(ulong declared)
    {
        RawSafetensors.Write(_path, declared, Encoding.UTF8.GetBytes(OneTensor), RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, $"the header length {declared} exceeds the limit of 100000000 bytes");
    }

    [Fact]
    public void Header_length_above_a_custom_limit_is_refused_even_when_the_file_is_valid()
    {
        RawSafetensors.Write(_path, OneTensor, RawSafetensors.F32(1, 2));
        var limits = new SafetensorsLimits { MaxHeaderBytes = 32 };

        RawSafetensors.AssertRefused(_path, null, $"the header length {OneTensor.Length} exceeds the limit of 32 bytes", limits);
    }

    [Fact]
    public void Header_exactly_at_a_custom_limit_is_accepted()
    {
        RawSafetensors.Write(_path, OneTensor, RawSafetensors.F32(1, 2));

        using var file = SafetensorsFile.Open(_path, new SafetensorsLimits { MaxHeaderBytes = OneTensor.Length });
        Assert.Single(file.Tensors);
    }

    [Theory]
    [InlineData(48UL)]
    [InlineData(55UL)]
    [InlineData(1000UL)]
    public void Header_longer_than_the_file_is_refused(ulong declared)
    {
        // 8 + 47 header bytes: a declared length of 48 or more runs past the end.
        var header = Encoding.UTF8.GetBytes("{}" + new string(' ', 45));
        RawSafetensors.Write(_path, declared, header);

        RawSafetensors.AssertRefused(_path, null, $"the header length {declared} exceeds the file ({8 + header.Length} bytes)");
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    public void Header_length_below_two_is_refused(ulong declared)
    {
        RawSafetensors.Write(_path, declared, "{}"u8);

        RawSafetensors.AssertRefused(_path, null, $"the header length {declared} is too small for a JSON object");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData(" {}")]
    [InlineData("\"{}\"")]
    [InlineData("null")]
    [InlineData("42")]
    public void Header_not_starting_with_a_brace_is_refused(string header)
    {
        RawSafetensors.Write(_path, header);

        RawSafetensors.AssertRefused(_path, null, "the header does not start with '{'");
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,""")]
    [InlineData("""{"w""")]
    [InlineData("""{  """)]
    public void Truncated_json_is_refused(string header)
    {
        RawSafetensors.Write(_path, header, RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, "the header is not well-formed JSON");
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,],"data_offsets":[0,8]}}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],}}""")]
    public void Trailing_comma_is_refused(string header)
    {
        RawSafetensors.Write(_path, header, RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, "the header is not well-formed JSON");
    }

    [Theory]
    [InlineData("""{/* c */"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}// c""" + "\n}")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} // c""")]
    public void Json_comments_are_refused(string header)
    {
        RawSafetensors.Write(_path, header, RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, "the header is not well-formed JSON");
    }

    [Theory]
    [InlineData("""{'w':{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""")]
    [InlineData("""{w:{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""" + "\"")]
    [InlineData("""{"w":{"dtype":"F32","shape":[0x2],"data_offsets":[0,8]}}""")]
    [InlineData("""{"w":{"dtype":"F32" "shape":[2],"data_offsets":[0,8]}}""")]
    public void Other_malformed_json_is_refused(string header)
    {
        RawSafetensors.Write(_path, header, RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, "the header is not well-formed JSON");
    }

    [Fact]
    public void Invalid_utf8_in_a_tensor_name_is_refused()
    {
        byte[] header = [.. "{\"w"u8, 0xC3, 0x28, .. "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"u8];
        RawSafetensors.Write(_path, (ulong)header.Length, header, RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, "the header is not well-formed JSON");
    }

    [Theory]
    [InlineData("x")]
    [InlineData("{}")]
    [InlineData("]")]
    [InlineData("\"s\"")]
    [InlineData("\0")]
    public void Content_after_the_json_object_is_refused(string trailer)
    {
        RawSafetensors.Write(_path, OneTensor + "  " + trailer, RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, null, "the header is not well-formed JSON");
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("       ")]
    [InlineData("\n\t\r ")]
    public void Whitespace_after_the_json_object_is_accepted(string padding)
    {
        RawSafetensors.Write(_path, OneTensor + padding, RawSafetensors.F32(1, 2));

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(OneTensor.Length + padding.Length, file.HeaderLength);
    }

    [Fact]
    public void More_tensors_than_the_limit_are_refused()
    {
        RawSafetensors.Write(
            _path,
            """{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[],"data_offsets":[4,8]},"c":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}""",
            RawSafetensors.F32(1, 2, 3));

        RawSafetensors.AssertRefused(_path, null, "the header lists more than 2 tensors", new SafetensorsLimits { MaxTensors = 2 });
        using var atLimit = SafetensorsFile.Open(_path, new SafetensorsLimits { MaxTensors = 3 });
        Assert.Equal(3, atLimit.Tensors.Count);
    }

    [Fact]
    public void More_metadata_entries_than_the_limit_are_refused()
    {
        RawSafetensors.Write(_path, """{"__metadata__":{"a":"1","b":"2","c":"3"}}""");

        RawSafetensors.AssertRefused(_path, null, "'__metadata__' has more than 2 entries", new SafetensorsLimits { MaxMetadataEntries = 2 });
    }

    [Fact]
    public void Tensor_name_longer_than_the_limit_is_refused()
    {
        var name = new string('n', 5000);
        RawSafetensors.Write(_path, $$$"""{"{{{name}}}":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        RawSafetensors.AssertRefused(_path, null, "a tensor name is longer than 4096 bytes");
    }

    [Fact]
    public void Tensor_name_longer_than_a_small_custom_limit_is_refused()
    {
        RawSafetensors.Write(_path, """{"twelve-chars":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        RawSafetensors.AssertRefused(_path, null, "a tensor name is longer than 8 bytes", new SafetensorsLimits { MaxNameBytes = 8 });
    }

    [Fact]
    public void Tensor_name_limit_counts_utf8_bytes_not_characters()
    {
        // Four characters, eight UTF-8 bytes.
        RawSafetensors.Write(_path, """{"ÄÖÜß":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        RawSafetensors.AssertRefused(_path, null, "a tensor name is longer than 7 bytes", new SafetensorsLimits { MaxNameBytes = 7 });
        using var file = SafetensorsFile.Open(_path, new SafetensorsLimits { MaxNameBytes = 8 });
        Assert.Equal("ÄÖÜß", file.Tensors[0].Name);
    }
}
