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
