using System.Buffers.Binary;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Tests.Safetensors;

/// <summary>The writer's layout, hash, refusal of bad values and its all-or-nothing file creation.</summary>
public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;

    public SafetensorsWriterTests() => _path = _dir.File("model.safetensors");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("abc")]
    [InlineData("abcd")]
    [InlineData("abcde")]
    [InlineData("abcdef")]
    [InlineData("abcdefg")]
    [InlineData("abcdefgh")]
    public void Header_is_padded_with_spaces_to_an_eight_byte_boundary(string name)
    {
        // Eight consecutive name lengths hit every remainder modulo 8.
        SafetensorsWriter.Write(_path, new TensorModel([new NamedTensor(name, TensorDType.F32, new TensorShape(1), [1f])]));

        var bytes = File.ReadAllBytes(_path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 4, bytes.Length);
        var header = bytes.AsSpan(8, (int)headerLength);
        var close = header.LastIndexOf((byte)'}');
        var padding = header[(close + 1)..];
        Assert.InRange(padding.Length, 0, 7);
        Assert.True(padding.IndexOfAnyExcept((byte)' ') < 0, "padding must be spaces only");
        Assert.Equal(((close + 1 + 7) / 8 * 8) - (close + 1), padding.Length);
    }

    [Fact]
    public void BuildHeader_pads_to_a_multiple_of_eight_for_many_shapes()
    {
        for (var n = 0; n < 40; n++)
        {
            TensorInfo[] tensors = [.. Enumerable.Range(0, n % 5).Select(i => new TensorInfo(new string('t', n + 1) + i, TensorDType.F16, new TensorShape(n, i)))];
            var header = SafetensorsWriter.BuildHeader(tensors, n % 2 == 0 ? null : new Dictionary<string, string>(StringComparer.Ordinal) { ["k"] = new string('v', n) });

            Assert.Equal(0, header.Length % 8);
            Assert.Equal((byte)'{', header[0]);
            var end = Array.LastIndexOf(header, (byte)'}');
            Assert.True(header.Length - end - 1 < 8);
            Assert.All(header[(end + 1)..], b => Assert.Equal((byte)' ', b));
        }
    }

    [Fact]
    public void Data_section_starts_right_after_the_padded_header()
    {
        SafetensorsWriter.Write(_path, new TensorModel([new NamedTensor("abc", TensorDType.F32, new TensorShape(2), [1.5f, -2f])]));

        using var file = SafetensorsFile.Open(_path);
        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(0, (8 + file.HeaderLength) % 8);
        Assert.Equal(RawSafetensors.F32(1.5f, -2f), bytes[(int)(8 + file.HeaderLength)..]);
    }

    [Fact]
    public void Hash_returned_by_Complete_is_the_model_hash_of_the_file()
    {
        var random = new Random(1);
        var model = new TensorModel(
            [
                new NamedTensor("a", TensorDType.F32, new TensorShape(100, 3), SafetensorsRoundTripTests.Values(random, 300, TensorDType.F32)),
                new NamedTensor("b", TensorDType.BF16, new TensorShape(70_000), SafetensorsRoundTripTests.Values(random, 70_000, TensorDType.BF16)),
            ],
            new Dictionary<string, string>(StringComparer.Ordinal) { ["round"] = "3" });

        var info = SafetensorsWriter.Write(_path, model);

        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(_path, info.Path);
        Assert.Equal(bytes.Length, info.Length);
        Assert.Matches("^[0-9a-f]{64}$", info.Hash);
        Assert.Equal(ModelHash.Of(bytes), info.Hash);
        Assert.Equal(info.Hash, ModelHash.Compute(_path));
    }

    [Fact]
    public void One_read_of_a_file_gives_its_model_hash_and_its_sha256()
    {
        // 1.6 MB: more than one of the reader's 1 MiB pieces, so both hashes see every piece in order.
        var values = new float[400_000];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (i % 977) * 0.5f;
        }

        SafetensorsWriter.Write(_path, new TensorModel([new NamedTensor("w", TensorDType.F32, new TensorShape(values.Length), values)]));

        var (modelHash, sha256) = ModelHash.ComputeWithSha256(_path);

        var bytes = File.ReadAllBytes(_path);
        Assert.True(bytes.Length > 1 << 20);
        Assert.Equal(ModelHash.Of(bytes), modelHash);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), sha256);
        Assert.Equal(ModelHash.Sha256(_path), sha256);
    }

    [Fact]
    public async Task Hash_returned_by_Complete_equals_the_streamed_async_hash()
    {
        var info = SafetensorsWriter.Write(_path, new TensorModel([new NamedTensor("w", TensorDType.F16, new TensorShape(3), [1f, 2f, 3f])]));

        Assert.Equal(info.Hash, await ModelHash.ComputeAsync(_path));
    }

    [Fact]
    public void Chunking_of_appended_values_does_not_change_the_file()
    {
        var random = new Random(2);
        TensorInfo[] tensors =
        [
            new("a", TensorDType.F32, new TensorShape(1000)),
            new("empty", TensorDType.F16, new TensorShape(0)),
            new("b", TensorDType.F16, new TensorShape(70_000)),
            new("c", TensorDType.BF16, new TensorShape(5)),
        ];
        var all = SafetensorsRoundTripTests.Values(random, 71_005, TensorDType.F16);

        string WriteInChunks(string name, int[] chunkSizes)
        {
            var path = _dir.File(name);
            using var writer = SafetensorsWriter.Create(path, tensors);
            var done = 0;
            for (var i = 0; done < all.Length; i++)
            {
                var n = Math.Min(chunkSizes[i % chunkSizes.Length], all.Length - done);
                writer.Append(all.AsSpan(done, n));
                done += n;
            }

            return writer.Complete().Hash;
        }

        var whole = WriteInChunks("whole.safetensors", [all.Length]);
        Assert.Equal(whole, WriteInChunks("ones.safetensors", [1, 2, 3]));
        Assert.Equal(whole, WriteInChunks("odd.safetensors", [999, 1, 65_537, 7]));
        Assert.Equal(whole, WriteInChunks("spanning.safetensors", [1001, 70_003]));
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void Non_finite_value_is_refused_naming_file_tensor_and_element(float bad, string described)
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("a", TensorDType.F32, new TensorShape(2)), new TensorInfo("w", TensorDType.F32, new TensorShape(10))]);
        writer.Append([1f, 2f, 0f, 1f, 2f]);

        // Element 6 of "w": three values of "w" came with the first append.
        var e = RawSafetensors.AssertRefusedBy(() => writer.Append([3f, 4f, 5f, bad, 7f]), _path, "w", $"element 6 is {described}");
        Assert.Contains("refusing to write a non-finite model", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Non_finite_value_is_refused_for_16_bit_tensors(TensorDType dtype)
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("h", dtype, new TensorShape(4))]);

        RawSafetensors.AssertRefusedBy(() => writer.Append([0f, 0f, float.NaN, 0f]), _path, "h", "element 2 is NaN");
    }

    [Theory]
    [InlineData(70_000f)]
    [InlineData(-70_000f)]
    [InlineData(65_520f)]
    [InlineData(float.MaxValue)]
    public void Value_out_of_f16_range_is_refused(float value)
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("h", TensorDType.F16, new TensorShape(3))]);

        RawSafetensors.AssertRefusedBy(() => writer.Append([65_504f, value, 1f]), _path, "h", $"element 1 = {value} is out of the range of F16");
    }

    [Theory]
    [InlineData(float.MaxValue)]
    [InlineData(-float.MaxValue)]
    [InlineData(3.3961776e38f)] // 0x7F7F8000: a tie whose even neighbour is infinity
    public void Value_that_rounds_to_infinity_in_bf16_is_refused(float value)
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("b", TensorDType.BF16, new TensorShape(2))]);

        RawSafetensors.AssertRefusedBy(() => writer.Append([1f, value]), _path, "b", "element 1 = ");
    }

    [Fact]
    public void Complete_before_all_values_arrived_throws_and_leaves_no_file()
    {
        using (var writer = SafetensorsWriter.Create(_path, [new TensorInfo("a", TensorDType.F32, new TensorShape(2)), new TensorInfo("w", TensorDType.F32, new TensorShape(4))]))
        {
            writer.Append([1f, 2f, 3f, 4f, 5f]);

            var e = Assert.Throws<InvalidOperationException>(() => writer.Complete());
            Assert.Contains(_path, e.Message, StringComparison.Ordinal);
            Assert.Contains("tensor 'w' received 3 of 4 values", e.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(_path));
        }

        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void Complete_with_no_values_appended_names_the_first_tensor()
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("first", TensorDType.BF16, new TensorShape(1))]);

        var e = Assert.Throws<InvalidOperationException>(() => writer.Complete());
        Assert.Contains("tensor 'first' received 0 of 1 values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disposing_without_Complete_leaves_no_file_and_no_temporary_file()
    {
        using (var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, new TensorShape(4))]))
        {
            writer.Append([1f, 2f]);

            // While writing, the only file is the temporary one, and it is not at the target path.
            var temporary = Assert.Single(_dir.Entries());
            Assert.StartsWith(".model.safetensors.", temporary, StringComparison.Ordinal);
            Assert.EndsWith(".tmp", temporary, StringComparison.Ordinal);
            Assert.False(File.Exists(_path));
        }

        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void Disposing_after_a_refused_value_leaves_no_file()
    {
        using (var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, new TensorShape(4))]))
        {
            Assert.Throws<ModelFormatException>(() => writer.Append([1f, float.NaN]));
        }

        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void Disposing_without_Complete_keeps_an_existing_file_at_the_target()
    {
        File.WriteAllText(_path, "previous model");

        using (var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, new TensorShape(1))]))
        {
            writer.Append([1f]);
        }

        Assert.Equal("previous model", File.ReadAllText(_path));
        Assert.Equal(["model.safetensors"], _dir.Entries());
    }

    [Fact]
    public void Complete_replaces_an_existing_file_and_leaves_no_temporary_file()
    {
        File.WriteAllText(_path, "previous model");

        var info = SafetensorsWriter.Write(_path, new TensorModel([new NamedTensor("w", TensorDType.F32, new TensorShape(1), [4f])]));

        Assert.Equal(["model.safetensors"], _dir.Entries());
        Assert.Equal(info.Hash, ModelHash.Compute(_path));
        using var file = SafetensorsFile.Open(_path);
        Assert.Equal([4f], file.LoadModel()["w"].Values);
    }

    [Fact]
    public void Appending_more_values_than_the_tensors_hold_throws()
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, new TensorShape(2))]);

        var e = Assert.Throws<InvalidOperationException>(() => writer.Append([1f, 2f, 3f]));
        Assert.Contains(_path, e.Message, StringComparison.Ordinal);
        Assert.Contains("more values were appended than the model's tensors hold", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Appending_after_the_last_tensor_is_full_throws()
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, new TensorShape(2)), new TensorInfo("e", TensorDType.F32, new TensorShape(0))]);
        writer.Append([1f, 2f]);

        Assert.Throws<InvalidOperationException>(() => writer.Append([3f]));
        writer.Append([]);
        Assert.Equal(8 + SafetensorsWriter.BuildHeader(writer.Tensors, null).Length + 8, writer.Complete().Length);
    }

    [Fact]
    public void Appending_to_a_model_without_values_throws()
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("e", TensorDType.F16, new TensorShape(3, 0))]);

        Assert.Throws<InvalidOperationException>(() => writer.Append([1f]));
    }

    [Fact]
    public void Complete_twice_throws()
    {
        using var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, TensorShape.Scalar)]);
        writer.Append([1f]);
        writer.Complete();

        Assert.Throws<InvalidOperationException>(() => writer.Complete());
        Assert.True(File.Exists(_path));
    }

    [Fact]
    public void Writer_refuses_use_after_dispose()
    {
        var writer = SafetensorsWriter.Create(_path, [new TensorInfo("w", TensorDType.F32, TensorShape.Scalar)]);
        writer.Dispose();
        writer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => writer.Append([1f]));
        Assert.Throws<ObjectDisposedException>(() => writer.Complete());
        Assert.Empty(_dir.Entries());
    }

    [Theory]
    [InlineData("__metadata__")]
    [InlineData("twice")]
    public void Reserved_or_duplicate_tensor_names_are_refused_before_any_file_is_created(string name)
    {
        TensorInfo[] tensors = name == "twice"
            ? [new TensorInfo("twice", TensorDType.F32, TensorShape.Scalar), new TensorInfo("twice", TensorDType.F16, TensorShape.Scalar)]
            : [new TensorInfo(name, TensorDType.F32, TensorShape.Scalar)];

        var e = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Create(_path, tensors));
        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
        Assert.Empty(_dir.Entries());
    }

    [Fact]
    public void Create_in_a_missing_directory_is_a_swarm_error_naming_the_path()
    {
        var path = Path.Combine(_dir.Path, "missing", "model.safetensors");

        var e = Assert.Throws<SwarmException>(() => SafetensorsWriter.Create(path, [new TensorInfo("w", TensorDType.F32, TensorShape.Scalar)]));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_metadata_is_not_written()
    {
        SafetensorsWriter.Write(_path, new TensorModel([], new Dictionary<string, string>(StringComparer.Ordinal)));

        var bytes = File.ReadAllBytes(_path);
        Assert.Equal("{}      "u8.ToArray(), bytes[8..]);
    }
}
