using SwarmLearning.Client.Channel;

namespace SwarmLearning.Client.Tests;

/// <summary>The channel client on its own: staging files, and calls the callback does not make.</summary>
public sealed class SwarmChannelClientTests
{
    [Fact]
    public async Task Staged_models_are_deleted_once_used_and_a_given_directory_is_kept()
    {
        using var dir = new TempDirectory();
        await using var node = await FakeSlNode.StartAsync(dir.Path, TestModels.Make(5));
        var staging = dir.File("staging");
        Directory.CreateDirectory(staging);
        await using (var client = new SwarmChannelClient(node.SocketPath, scratchDirectory: staging))
        {
            var opened = await client.OpenSessionAsync(new SwarmSessionRequest(2, 1, "c", false, "snapshot", 1, "mean", 0));
            Assert.Equal(2, opened.SyncInterval);
            var result = await client.BeginAsync(opened.Session, TestModels.Make(1));
            Assert.Equal(TestModels.Flat(TestModels.Make(5)), TestModels.Flat(result.Model));
            Assert.Empty(Directory.EnumerateFileSystemEntries(staging));
            await client.AbandonAsync(opened.Session);
            Assert.Null(node.Session);
        }

        Assert.True(Directory.Exists(staging));
    }

    [Fact]
    public async Task An_unknown_session_is_the_nodes_notFound()
    {
        using var dir = new TempDirectory();
        await using var node = await FakeSlNode.StartAsync(dir.Path, TestModels.Make(5));
        await using var client = new SwarmChannelClient(node.SocketPath);
        var e = await Assert.ThrowsAsync<SwarmChannelException>(() => client.ReportProgressAsync("nope", new SwarmProgress(1, 0, 0, 0)));
        Assert.Equal("notFound", e.Kind);
        Assert.Equal(404, e.StatusCode);
        Assert.Equal("there is no session nope on this SL node", e.Message);
    }
}
