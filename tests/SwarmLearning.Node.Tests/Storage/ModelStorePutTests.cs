using System.Text;
using SwarmLearning.Node.Channel;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Node.Storage;
using SwarmLearning.Node.Tests.Harness;
using SwarmLearning.Safetensors;

namespace SwarmLearning.Node.Tests.Storage;

/// <summary>
/// Publishing a model: the store names it by the SHA-256 of the bytes it serves, and a model that arrived over the
/// channel as exactly those bytes is not measured a second time.
/// </summary>
public sealed class ModelStorePutTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Sha(byte[] bytes) => ModelHash.Of(bytes);

    private static async Task<byte[]> ServedAsync(ModelStore store, string sha)
    {
        var stream = store.OpenRead(sha) ?? throw new InvalidOperationException($"the store does not serve {sha}");
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    [Fact]
    public async Task A_model_put_is_named_by_the_hash_of_the_writers_bytes_and_served_as_them()
    {
        var store = new ModelStore(_dir.Path);
        var model = Models.Tiny(3);
        var bytes = Models.Bytes(model);

        var published = store.Put(model);

        Assert.Equal(new PublishedModel(Sha(bytes), bytes.Length), published);
        Assert.Equal(bytes, await ServedAsync(store, published.Hash));
    }

    [Fact]
    public void A_remembered_encoding_is_what_put_returns_so_the_model_is_not_measured_again()
    {
        var store = new ModelStore(_dir.Path);
        var model = Models.Tiny(4);
        var vouched = new PublishedModel(new string('a', 64), 12345);

        store.RememberEncoding(model, vouched);

        Assert.Same(vouched, store.Put(model));
        Assert.True(store.Contains(vouched.Hash));
        Assert.Equal(Sha(Models.Bytes(Models.Tiny(4))), store.Put(Models.Tiny(4)).Hash); // another instance: measured
    }

    [Fact]
    public async Task A_channel_body_in_the_writers_layout_is_published_under_the_bodys_own_hash_without_a_second_pass()
    {
        var store = new ModelStore(_dir.Path);
        var bytes = Models.Bytes(Models.Tiny(5));

        var model = await ChannelModels.ReadAsync(new MemoryStream(bytes), bytes.Length, store, CancellationToken.None);

        // Change a value behind the store's back: if Put measured the model, the hash would follow the change.
        model.NamedTensors[0].Values[0] += 1;
        Assert.Equal(new PublishedModel(Sha(bytes), bytes.Length), store.Put(model));
    }

    [Fact]
    public async Task A_channel_body_in_another_writers_layout_is_measured_when_put()
    {
        var store = new ModelStore(_dir.Path);
        var model = Models.Tiny(6);
        var canonical = Models.Bytes(model);

        // The same tensors with the header's keys spaced out: valid safetensors, other bytes, another hash.
        var headerLength = (int)BitConverter.ToUInt64(canonical, 0);
        var header = Encoding.UTF8.GetString(canonical, 8, headerLength).Replace(",", ", ", StringComparison.Ordinal);
        var spaced = Encoding.UTF8.GetBytes(header);
        var other = new byte[8 + spaced.Length + canonical.Length - 8 - headerLength];
        BitConverter.TryWriteBytes(other.AsSpan(0, 8), (ulong)spaced.Length);
        spaced.CopyTo(other, 8);
        canonical.AsSpan(8 + headerLength).CopyTo(other.AsSpan(8 + spaced.Length));

        var read = await ChannelModels.ReadAsync(new MemoryStream(other), other.Length, store, CancellationToken.None);

        Assert.NotEqual(Sha(canonical), Sha(other));
        Assert.Equal(new PublishedModel(Sha(canonical), canonical.Length), store.Put(read));
        Assert.Equal(canonical, await ServedAsync(store, Sha(canonical)));
    }

    [Fact]
    public void Put_refuses_a_non_finite_model_it_has_to_measure()
    {
        var store = new ModelStore(_dir.Path);
        var model = Models.Tiny(7);
        model.NamedTensors[0].Values[1] = float.NaN;

        var e = Assert.Throws<ModelFormatException>(() => store.Put(model));
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
    }
}
