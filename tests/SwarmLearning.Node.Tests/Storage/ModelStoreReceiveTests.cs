using System.Buffers.Binary;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Storage;

public sealed class ModelStoreReceiveTests : IDisposable
{
    private const string From = "SL node 'peer'";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Three dtypes, an empty tensor and a tensor longer than one read, so every path of the decoder runs.</summary>
    private static TensorModel Mixed()
    {
        var big = new float[(1 << 18) + 5];
        for (var i = 0; i < big.Length; i++)
        {
            big[i] = (i % 97) - 48;
        }

        return new TensorModel(
        [
            new NamedTensor("a.f32", TensorDType.F32, new TensorShape(big.Length), big),
            new NamedTensor("b.empty", TensorDType.F32, new TensorShape(0), []),
            new NamedTensor("c.f16", TensorDType.F16, new TensorShape(3), [0.5f, -2f, 1024f]),
            new NamedTensor("d.bf16", TensorDType.BF16, new TensorShape(2), [1.5f, -3f]),
        ], new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" });
    }

    private static string Sha(byte[] bytes) => ModelHash.Of(bytes);

    [Theory]
    [InlineData(true, int.MaxValue)]
    [InlineData(false, int.MaxValue)]
    [InlineData(true, 7)]
    [InlineData(false, 1 << 16)]
    public async Task A_model_received_in_any_pieces_equals_what_the_file_reader_makes_of_it_and_is_stored_only_when_kept(bool keep, int piece)
    {
        var store = new ModelStore(_dir.Path);
        var bytes = Models.Bytes(Mixed());
        var sha = Sha(bytes);

        var model = await store.ReceiveAsync(new Trickle(bytes, piece), sha, bytes.Length, From, keep, CancellationToken.None);

        var expected = Models.Parse(bytes);
        Assert.Equal(expected.Tensors, model.Tensors);
        Assert.Equal(expected.Metadata, model.Metadata);
        foreach (var tensor in expected.NamedTensors)
        {
            Assert.Equal(tensor.Values, model[tensor.Name].Values);
        }

        Assert.Equal(keep, store.Contains(sha));
        if (keep)
        {
            // Held in memory, and served as exactly the bytes that arrived.
            using var served = store.OpenRead(sha)!;
            using var copy = new MemoryStream();
            await served.CopyToAsync(copy);
            Assert.Equal(bytes, copy.ToArray());
            Assert.Equal(bytes.Length, served.Length);
        }

        Assert.Empty(Directory.EnumerateFiles(_dir.Path));
    }

    [Fact]
    public async Task A_model_in_another_writers_layout_is_returned_but_not_kept_since_the_store_could_not_serve_its_bytes()
    {
        var store = new ModelStore(_dir.Path);
        var canonical = Models.Bytes(Mixed());

        // The same header with two more spaces of padding: a valid file (8-byte aligned still), other bytes, another hash.
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(canonical);
        var bytes = new byte[canonical.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)headerLength + 8);
        canonical.AsSpan(8, headerLength).CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + headerLength, 8).Fill((byte)' ');
        canonical.AsSpan(8 + headerLength).CopyTo(bytes.AsSpan(16 + headerLength));
        var sha = Sha(bytes);

        var model = await store.ReceiveAsync(new MemoryStream(bytes), sha, bytes.Length, From, keep: true, CancellationToken.None);

        Assert.Equal(Mixed()["a.f32"].Values, model["a.f32"].Values);
        Assert.False(store.Contains(sha));
        Assert.Null(store.OpenRead(sha));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_model_too_long_too_short_or_with_another_hash_is_refused_with_the_ledger_figures_and_nothing_is_kept(bool keep)
    {
        var store = new ModelStore(_dir.Path);
        var bytes = Models.Bytes(Models.Tiny(1));
        var sha = Sha(bytes);

        var longer = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            store.ReceiveAsync(new MemoryStream([.. bytes, 0]), sha, bytes.Length, From, keep, CancellationToken.None));
        Assert.Equal($"{From} sent more than the {bytes.Length} bytes the ledger records for model {sha[..12]}; refused", longer.Message);

        var shorter = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            store.ReceiveAsync(new MemoryStream(bytes[..^3]), sha, bytes.Length, From, keep, CancellationToken.None));
        Assert.Equal($"{From} sent {bytes.Length - 3} bytes of model {sha[..12]}, but the ledger records {bytes.Length}; refused", shorter.Message);

        var other = Models.Bytes(Models.Tiny(2));
        var wrong = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            store.ReceiveAsync(new MemoryStream(other), sha, bytes.Length, From, keep, CancellationToken.None));
        Assert.Equal($"{From} served a model whose hash (BLAKE3) is {Sha(other)[..12]}, not {sha[..12]} as the ledger records; refused", wrong.Message);

        Assert.False(store.Contains(sha));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path));
    }

    [Fact]
    public async Task A_model_with_the_recorded_hash_but_a_non_finite_value_or_a_bad_header_is_refused_as_invalid()
    {
        var store = new ModelStore(_dir.Path);
        var nan = Models.Bytes(Models.Tiny(1));
        BinaryPrimitives.WriteSingleLittleEndian(nan.AsSpan(nan.Length - 4), float.NaN); // fc.bias[1], the last value

        var e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            store.ReceiveAsync(new MemoryStream(nan), Sha(nan), nan.Length, From, keep: true, CancellationToken.None));
        Assert.StartsWith($"{From} served model {Sha(nan)[..12]} with the recorded hash, but it is not a valid model:", e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'fc.bias': element 1 is NaN; models must hold finite values", e.Message, StringComparison.Ordinal);

        // A header length past the end: reported as invalid only once the whole body has arrived with the right hash.
        var header = Models.Bytes(Models.Tiny(1));
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)header.Length);
        e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            store.ReceiveAsync(new MemoryStream(header), Sha(header), header.Length, From, keep: true, CancellationToken.None));
        Assert.Contains($"not a valid model: model {Sha(header)[..12]}: the header length {header.Length} exceeds the file ({header.Length} bytes)", e.Message, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<ModelExchangeException>(() =>
            store.ReceiveAsync(new MemoryStream([.. header, 1]), Sha(header), header.Length, From, keep: true, CancellationToken.None));
        Assert.Contains("sent more than", e.Message, StringComparison.Ordinal);

        Assert.Empty(Directory.EnumerateFiles(_dir.Path));
    }

    [Fact]
    public async Task A_file_the_store_already_has_under_the_hash_is_kept_and_used()
    {
        var store = new ModelStore(_dir.Path);
        var bytes = Models.Bytes(Models.Tiny(1));
        var sha = Sha(bytes);
        var held = Models.Bytes(Models.Tiny(3));
        await File.WriteAllBytesAsync(store.PathOf(sha), held);

        var model = await store.ReceiveAsync(new MemoryStream(bytes), sha, bytes.Length, From, keep: true, CancellationToken.None);

        Assert.Equal(Models.Values(Models.Tiny(3), "fc.weight"), Models.Values(model, "fc.weight"));
        Assert.Equal(held, await File.ReadAllBytesAsync(store.PathOf(sha)));
    }

    /// <summary>A stream that hands out at most <c>piece</c> bytes per read, like a slow network.</summary>
    private sealed class Trickle(byte[] bytes, int piece) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, piece));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, piece)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, piece)], cancellationToken);
    }
}
