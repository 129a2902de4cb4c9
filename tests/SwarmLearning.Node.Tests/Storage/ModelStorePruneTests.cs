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
    public void Prune_keeps_what_it_is_told_and_what_is_recent_and_deletes_the_rest()
    {
        var store = new ModelStore(_dir.Path);
        var kept = store.Put(Model(1));
        var old = store.Put(Model(2));
        var young = store.Put(Model(3));
        var other = Path.Combine(_dir.Path, "final.safetensors");
        File.WriteAllText(other, "not a hash-named model");
        foreach (var sha in new[] { kept.Sha256, old.Sha256 })
        {
            File.SetLastWriteTimeUtc(store.PathOf(sha), DateTime.UtcNow.AddMinutes(-5));
        }

        store.Prune(new HashSet<string>(StringComparer.Ordinal) { kept.Sha256 }, TimeSpan.FromMinutes(1));

        Assert.True(store.Contains(kept.Sha256));
        Assert.False(store.Contains(old.Sha256));
        Assert.True(store.Contains(young.Sha256));
        Assert.True(File.Exists(other));
        Assert.Equal([1f, 1f], store.Load(kept.Sha256)["w"].Values.ToArray());
    }
}
