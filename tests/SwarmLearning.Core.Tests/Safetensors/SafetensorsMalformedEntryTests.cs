using SwarmLearning.Safetensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>
/// Headers that are well-formed JSON but describe tensors wrongly (fields, dtypes, shapes, byte ranges, metadata) are
/// refused with an error naming the file and, where one tensor is at fault, that tensor.
/// </summary>
public sealed class SafetensorsMalformedEntryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public SafetensorsMalformedEntryTests() => _path = _dir.File("model.safetensors");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Duplicate_tensor_names_are_refused()
    {
        Write(
            """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""",
            RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "the name appears twice in the header");
    }

    [Theory]
    [InlineData("""{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}""", "dtype")]
    [InlineData("""{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}""", "shape")]
    [InlineData("""{"dtype":"F32","shape":[2],"data_offsets":[0,8],"data_offsets":[0,8]}""", "data_offsets")]
    public void Duplicate_fields_in_an_entry_are_refused(string entry, string field)
    {
        Write($$$"""{"w":{{{entry}}}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"field '{field}' appears twice");
    }

    [Theory]
    [InlineData("foo")]
    [InlineData("Dtype")]
    [InlineData("offsets")]
    [InlineData("")]
    public void Unknown_field_in_an_entry_is_refused(string field)
    {
        Write($$$"""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"{{{field}}}":1}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"unknown field '{field}'");
    }

    [Theory]
    [InlineData("""{"shape":[2],"data_offsets":[0,8]}""", "dtype")]
    [InlineData("""{"dtype":"F32","data_offsets":[0,8]}""", "shape")]
    [InlineData("""{"dtype":"F32","shape":[2]}""", "data_offsets")]
    [InlineData("{}", "dtype")]
    public void Missing_field_is_refused(string entry, string field)
    {
        Write($$$"""{"w":{{{entry}}}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"the entry has no '{field}'");
    }

    [Theory]
    [InlineData("5")]
    [InlineData("\"F32\"")]
    [InlineData("[]")]
    [InlineData("null")]
    public void Entry_that_is_not_an_object_is_refused(string entry)
    {
        Write($$$"""{"w":{{{entry}}}}""");

        RawSafetensors.AssertRefused(_path, "w", "the tensor entry must be a JSON object");
    }

    [Theory]
    [InlineData("F31")]
    [InlineData("f32")]
    [InlineData("FLOAT")]
    [InlineData("")]
    public void Unknown_dtype_is_refused(string dtype)
    {
        Write($$$"""{"w":{"dtype":"{{{dtype}}}","shape":[2],"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"unknown dtype '{dtype}' (expected F32, F16 or BF16)");
    }

    [Theory]
    [InlineData("I64")]
    [InlineData("F64")]
    [InlineData("BOOL")]
    [InlineData("I8")]
    [InlineData("F8_E4M3")]
    public void Known_but_unsupported_dtype_is_refused(string dtype)
    {
        Write($$$"""{"w":{"dtype":"{{{dtype}}}","shape":[8],"data_offsets":[0,8]}}""", new byte[8]);

        RawSafetensors.AssertRefused(_path, "w", $"dtype {dtype} is not supported");
    }

    [Theory]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("[\"F32\"]")]
    public void Dtype_that_is_not_a_string_is_refused(string dtype)
    {
        Write($$$"""{"w":{"dtype":{{{dtype}}},"shape":[2],"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "'dtype' must be a string");
    }

    [Theory]
    [InlineData("[-2]", "number -2")]
    [InlineData("[2,-1]", "number -1")]
    [InlineData("[1.5]", "number 1.5")]
    [InlineData("[2.0]", "number 2.0")]
    [InlineData("[2e0]", "number 2e0")]
    [InlineData("[9223372036854775808]", "number 9223372036854775808")]
    [InlineData("[\"2\"]", "a string")]
    [InlineData("[null]", "null")]
    [InlineData("[true]", "a boolean")]
    [InlineData("[[2]]", "an array")]
    [InlineData("[{}]", "an object")]
    public void Shape_entry_that_is_not_a_non_negative_integer_is_refused(string shape, string found)
    {
        Write($$$"""{"w":{"dtype":"F32","shape":{{{shape}}},"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"'shape' must hold non-negative integers, found {found}");
    }

    [Theory]
    [InlineData("2")]
    [InlineData("\"[2]\"")]
    [InlineData("{}")]
    [InlineData("null")]
    public void Shape_that_is_not_an_array_is_refused(string shape)
    {
        Write($$$"""{"w":{"dtype":"F32","shape":{{{shape}}},"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "'shape' must be an array of integers");
    }

    [Theory]
    [InlineData("F32", "[4294967296,4294967296]")]
    [InlineData("F32", "[3037000500,3037000500]")]
    [InlineData("F16", "[9223372036854775807,2]")]
    [InlineData("F32", "[1099511627776,1099511627776,0]")]
    public void Shape_whose_element_count_overflows_is_refused(string dtype, string shape)
    {
        Write($$$"""{"w":{"dtype":"{{{dtype}}}","shape":{{{shape}}},"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "is too large: its byte size overflows a 64-bit integer");
    }

    [Theory]
    [InlineData("F32", "[2305843009213693952]")]
    [InlineData("F32", "[4611686018427387904]")]
    [InlineData("F16", "[4611686018427387904]")]
    [InlineData("BF16", "[2,2305843009213693952]")]
    [InlineData("F32", "[9223372036854775807]")]
    public void Shape_whose_byte_size_overflows_is_refused(string dtype, string shape)
    {
        // The element count fits in a long; multiplied by the element size it does not.
        Write($$$"""{"w":{"dtype":"{{{dtype}}}","shape":{{{shape}}},"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "is too large: its byte size overflows a 64-bit integer");
    }

    [Fact]
    public void Huge_shape_whose_byte_size_fits_is_refused_by_the_range_checks()
    {
        // 2^60 f32 elements = 2^62 bytes: representable, but no file holds it.
        Write("""{"w":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "needs 4611686018427387904 bytes but data_offsets [0, 8] span 8");
    }

    [Fact]
    public void Rank_above_the_default_limit_is_refused()
    {
        var shape = "[" + string.Join(',', Enumerable.Repeat(1, 33)) + "]";
        Write($$$"""{"w":{"dtype":"F32","shape":{{{shape}}},"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        RawSafetensors.AssertRefused(_path, "w", "'shape' has more than 32 entries");
    }

    [Fact]
    public void Rank_at_the_default_limit_is_accepted()
    {
        var shape = "[" + string.Join(',', Enumerable.Repeat(1, 32)) + "]";
        Write($$$"""{"w":{"dtype":"F32","shape":{{{shape}}},"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(32, file.Tensors[0].Shape.Rank);
    }

    [Fact]
    public void Rank_above_a_custom_limit_is_refused()
    {
        Write("""{"w":{"dtype":"F32","shape":[1,1,2],"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "'shape' has more than 2 entries", new SafetensorsLimits { MaxRank = 2 });
    }

    [Theory]
    [InlineData("[]", "not 0")]
    [InlineData("[8]", "not 1")]
    public void Data_offsets_with_fewer_than_two_entries_are_refused(string offsets, string problem)
    {
        Write($$$"""{"w":{"dtype":"F32","shape":[2],"data_offsets":{{{offsets}}}}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"'data_offsets' must hold exactly two integers [begin, end], {problem}");
    }

    [Theory]
    [InlineData("[0,8,8]")]
    [InlineData("[0,4,8,12]")]
    public void Data_offsets_with_more_than_two_entries_are_refused(string offsets)
    {
        Write($$$"""{"w":{"dtype":"F32","shape":[2],"data_offsets":{{{offsets}}}}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "'data_offsets' has more than 2 entries");
    }

    [Theory]
    [InlineData("[-1,8]", "number -1")]
    [InlineData("[0,8.5]", "number 8.5")]
    [InlineData("[0,\"8\"]", "a string")]
    public void Data_offsets_that_are_not_non_negative_integers_are_refused(string offsets, string found)
    {
        Write($$$"""{"w":{"dtype":"F32","shape":[2],"data_offsets":{{{offsets}}}}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", $"'data_offsets' must hold non-negative integers, found {found}");
    }

    [Fact]
    public void Data_offsets_ending_before_they_begin_are_refused()
    {
        Write("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "data_offsets [8, 0] end before they begin");
    }

    [Fact]
    public void Data_offsets_beyond_the_data_section_are_refused()
    {
        Write("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "data_offsets [0, 16] reach beyond the data section (8 bytes)");
    }

    [Fact]
    public void Data_offsets_far_beyond_the_data_section_are_refused()
    {
        Write(
            """{"w":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775799,9223372036854775807]}}""",
            RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", "reach beyond the data section (8 bytes)");
    }

    [Theory]
    [InlineData("F32", "[3]", "[0,8]", "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8")]
    [InlineData("F16", "[2]", "[0,8]", "shape [2] of F16 needs 4 bytes but data_offsets [0, 8] span 8")]
    [InlineData("BF16", "[2,2]", "[0,4]", "shape [2, 2] of BF16 needs 8 bytes but data_offsets [0, 4] span 4")]
    [InlineData("F32", "[]", "[0,8]", "shape [] of F32 needs 4 bytes but data_offsets [0, 8] span 8")]
    [InlineData("F32", "[0]", "[0,8]", "shape [0] of F32 needs 0 bytes but data_offsets [0, 8] span 8")]
    public void Byte_range_that_disagrees_with_shape_and_dtype_is_refused(string dtype, string shape, string offsets, string problem)
    {
        Write($$$"""{"w":{"dtype":"{{{dtype}}}","shape":{{{shape}}},"data_offsets":{{{offsets}}}}}""", RawSafetensors.F32(1, 2));

        RawSafetensors.AssertRefused(_path, "w", problem);
    }

    [Fact]
    public void Overlapping_ranges_are_refused()
    {
        Write(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""",
            RawSafetensors.F32(1, 2, 3));

        RawSafetensors.AssertRefused(_path, "b", "data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    }

    [Fact]
    public void Two_tensors_sharing_one_range_are_refused()
    {
        Write(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            RawSafetensors.F32(1, 2));

        var e = RawSafetensors.AssertRefused(_path, "b", "overlap tensor 'a' [0, 8]");
        Assert.Contains("data_offsets [0, 8]", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Gap_between_ranges_is_refused()
    {
        Write(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}""",
            RawSafetensors.F32(1, 2, 3, 4, 5));

        RawSafetensors.AssertRefused(_path, "b", "data_offsets [12, 20] leave 4 unreferenced bytes before the tensor (at offset 8)");
    }

    [Fact]
    public void Gap_before_the_first_range_is_refused()
    {
        Write("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", RawSafetensors.F32(1, 2, 3));

        RawSafetensors.AssertRefused(_path, "a", "leave 4 unreferenced bytes before the tensor (at offset 0)");
    }

    [Fact]
    public void Trailing_bytes_after_the_last_tensor_are_refused()
    {
        Write("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", RawSafetensors.F32(1, 2, 3));

        RawSafetensors.AssertRefused(_path, null, "4 trailing bytes after the last tensor (data section is 12 bytes, tensors end at 8)");
    }

    [Fact]
    public void Data_without_any_tensor_is_refused()
    {
        Write("{}", [1, 2, 3]);

        RawSafetensors.AssertRefused(_path, null, "3 trailing bytes after the last tensor");
    }

    [Fact]
    public void Ranges_listed_out_of_order_are_accepted_and_reported_in_data_order()
    {
        // JSON order need not match data order; only the tiling matters.
        Write(
            """{"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            [.. RawSafetensors.F32(1, 2), .. RawSafetensors.Bits16(0x3C00, 0xC000)]);

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal(["a", "e", "b"], file.Tensors.Select(t => t.Name));
        var model = file.LoadModel();
        Assert.Equal([1f, 2f], model["a"].Values);
        Assert.Equal([1f, -2f], model["b"].Values);
        Assert.Empty(model["e"].Values);
    }

    [Fact]
    public void Metadata_with_a_non_string_value_is_refused()
    {
        Write("""{"__metadata__":{"epoch":5}}""");

        RawSafetensors.AssertRefused(_path, null, "'__metadata__' value of 'epoch' must be a string, found number 5");
    }

    [Theory]
    [InlineData("null", "null")]
    [InlineData("{}", "an object")]
    [InlineData("[\"x\"]", "an array")]
    [InlineData("false", "a boolean")]
    public void Metadata_with_other_non_string_values_is_refused(string value, string found)
    {
        Write($$$"""{"__metadata__":{"k":{{{value}}}}}""");

        RawSafetensors.AssertRefused(_path, null, $"'__metadata__' value of 'k' must be a string, found {found}");
    }

    [Theory]
    [InlineData("\"text\"", "a string")]
    [InlineData("[]", "an array")]
    [InlineData("7", "number 7")]
    public void Metadata_that_is_not_an_object_is_refused(string value, string found)
    {
        Write($$$"""{"__metadata__":{{{value}}}}""");

        RawSafetensors.AssertRefused(_path, null, $"'__metadata__' must be an object of strings, found {found}");
    }

    [Fact]
    public void Metadata_appearing_twice_is_refused()
    {
        Write("""{"__metadata__":{"a":"1"},"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"__metadata__":{"b":"2"}}""", RawSafetensors.F32(1));

        RawSafetensors.AssertRefused(_path, null, "'__metadata__' appears twice in the header");
    }

    [Fact]
    public void Metadata_key_appearing_twice_is_refused()
    {
        Write("""{"__metadata__":{"a":"1","a":"2"}}""");

        RawSafetensors.AssertRefused(_path, null, "'__metadata__' key 'a' appears twice");
    }

    [Fact]
    public void Empty_tensor_name_is_refused()
    {
        Write("""{"":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        RawSafetensors.AssertRefused(_path, null, "a tensor has an empty name");
    }

    [Fact]
    public void Escaped_tensor_names_are_decoded()
    {
        Write("""{"a\"b\\c\u00e9":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}""", RawSafetensors.F32(1));

        using var file = SafetensorsFile.Open(_path);
        Assert.Equal("a\"b\\cé", file.Tensors[0].Name);
        Assert.Equal(0, file.IndexOf("a\"b\\cé"));
    }

    private void Write(string header, byte[]? data = null) => RawSafetensors.Write(_path, header, data);
}
