using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>The directory fsync that makes a new store's name durable goes through libc: check that it binds and works.</summary>
public sealed class DirectorySyncTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_directory_is_fsynced_through_libc_on_Linux()
    {
        var synced = DirectorySync.Flush(_dir.Path);
        Assert.Equal(OperatingSystem.IsLinux(), synced);
    }

    [Fact]
    public void A_missing_directory_is_an_error_that_names_it()
    {
        var missing = _dir.File("missing");
        var e = Assert.Throws<IOException>(() => DirectorySync.Flush(missing));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }
}
