using SwarmLearning.Node.Storage;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Tests.Storage;

public sealed class ModelStorePruneTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TensorModel Model(float value) =>
        new([new NamedTensor("w", TensorDType.F32, new TensorShape(2), [value, value])], name: "test");

    [Fact]
    public void Prune_lets_go_of_every_held_model_but_those_it_is_told_to_keep_and_deletes_old_files_but_those_kept()
    {
        var store = new ModelStore(_dir.Path);
        var kept = store.Put(Model(1));
        var dropped = store.Put(Model(2));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path)); // held in memory: no file

        // Files under hashes (a model of an earlier run): an old one, a young one, a kept one, and another file.
        var oldFile = WriteFile(Model(4), DateTime.UtcNow.AddMinutes(-5));
        var youngFile = WriteFile(Model(5), DateTime.UtcNow);
        var keptFile = WriteFile(Model(6), DateTime.UtcNow.AddMinutes(-5));
        var other = Path.Combine(_dir.Path, "final.safetensors");
        File.WriteAllText(other, "not a hash-named model");

        store.Prune(new HashSet<string>(StringComparer.Ordinal) { kept.Hash, keptFile }, TimeSpan.FromMinutes(1));

        Assert.True(store.Contains(kept.Hash));
        Assert.False(store.Contains(dropped.Hash));
        Assert.False(store.Contains(oldFile));
        Assert.True(store.Contains(youngFile));
        Assert.True(store.Contains(keptFile));
        Assert.True(File.Exists(other));
        Assert.Equal([1f, 1f], store.Load(kept.Hash)["w"].Values.ToArray());
        Assert.Equal([6f, 6f], store.Load(keptFile)["w"].Values.ToArray());
    }

    [Fact]
    public void A_model_let_go_of_is_handed_back_at_once_when_nothing_reads_it_and_can_no_longer_be_opened()
    {
        var store = new ModelStore(_dir.Path);
        var model = Model(1);
        var put = store.Put(model);
        var released = new List<TensorModel>();

        store.Prune(new HashSet<string>(StringComparer.Ordinal), TimeSpan.Zero, released.Add);

        Assert.Same(model, Assert.Single(released));
        Assert.Null(store.OpenRead(put.Hash));
        store.Prune(new HashSet<string>(StringComparer.Ordinal), TimeSpan.Zero, released.Add); // only once
        Assert.Single(released);
    }

    [Fact]
    public void A_model_let_go_of_while_peers_read_it_is_handed_back_only_when_the_last_reader_is_done_and_reads_whole()
    {
        var store = new ModelStore(_dir.Path);
        var model = Model(3);
        var put = store.Put(model);
        var kept = store.Put(Model(4));
        var released = new List<TensorModel>();
        var first = store.OpenRead(put.Hash)!;
        var second = store.OpenRead(put.Hash)!;
        var head = new byte[8];
        first.ReadExactly(head);

        store.Prune(new HashSet<string>(StringComparer.Ordinal) { kept.Hash }, TimeSpan.Zero, released.Add);
        Assert.Empty(released);
        Assert.Null(store.OpenRead(put.Hash));

        var rest = new MemoryStream();
        first.CopyTo(rest);
        Assert.Equal(put.Size, head.Length + rest.Length);
        first.Dispose();
        first.Dispose(); // a second dispose counts nothing
        Assert.Empty(released);
        second.Dispose();
        Assert.Same(model, Assert.Single(released));
        Assert.NotNull(store.OpenRead(kept.Hash));
    }

    [Fact]
    public void A_file_the_store_has_under_a_hash_is_kept_and_served_instead_of_the_model_put_under_it()
    {
        var store = new ModelStore(_dir.Path);
        var sha = WriteFile(Model(7), DateTime.UtcNow);

        var put = store.Put(Model(7));

        Assert.Equal(sha, put.Hash);
        using var served = store.OpenRead(sha)!;
        Assert.IsType<FileStream>(served);
    }

    private string WriteFile(TensorModel model, DateTime writtenAt)
    {
        var temp = Path.Combine(_dir.Path, "temp.safetensors");
        var info = SwarmLearning.Safetensors.SafetensorsWriter.Write(temp, model);
        var path = Path.Combine(_dir.Path, info.Hash + ".safetensors");
        File.Move(temp, path);
        File.SetLastWriteTimeUtc(path, writtenAt);
        return info.Hash;
    }
}
