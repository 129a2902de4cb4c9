namespace SwarmLearning.Client.Tests;

/// <summary>Tests that set process-wide environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentTestGroup
{
    public const string Name = "Environment";
}

/// <summary>Sets an environment variable for the life of the scope, then puts back what was there.</summary>
internal sealed class EnvironmentScope : IDisposable
{
    private readonly (string Name, string? Value)[] _saved;

    public EnvironmentScope(params (string Name, string? Value)[] variables)
    {
        _saved = [.. variables.Select(v => (v.Name, Environment.GetEnvironmentVariable(v.Name)))];
        foreach (var (name, value) in variables)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }
}

[Collection(EnvironmentTestGroup.Name)]
public sealed class EnvironmentTests
{
    private static SwarmCallbackOptions Options => new() { SyncFrequency = 2, MinPeers = 1 };

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void SWARM_LOOPBACK_turns_loopback_on(string? value, bool on)
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", value), ("SWARM_SL_SOCKET", "/tmp/none.sock"));
        Assert.Equal(on, Options.IsLoopback);
        using var callback = new SwarmCallback(Options, new RecordingAdapter(TestModels.Make(0)), new ListLogger());
        Assert.Equal(on, callback.IsLoopback);
    }

    [Fact]
    public void The_option_wins_over_SWARM_LOOPBACK()
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", "1"));
        Assert.False((Options with { Loopback = false }).IsLoopback);
        Assert.True((Options with { Loopback = true }).IsLoopback);
    }

    [Fact]
    public void Without_a_socket_the_callback_says_how_to_name_one()
    {
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", null), ("SWARM_SL_SOCKET", null));
        var e = Assert.Throws<SwarmException>(() => new SwarmCallback(Options, new RecordingAdapter(TestModels.Make(0)), new ListLogger()));
        Assert.StartsWith("Init Swarm call to SL node failed - no SL node to talk to: set SWARM_SL_SOCKET", e.Message, StringComparison.Ordinal);
        Assert.Contains("SWARM_LOOPBACK=1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SWARM_SL_SOCKET_names_the_SL_node()
    {
        using var dir = new TempDirectory();
        await using var node = await FakeSlNode.StartAsync(dir.Path, TestModels.Make(100));
        using var scope = new EnvironmentScope(("SWARM_LOOPBACK", null), ("SWARM_SL_SOCKET", node.SocketPath));
        var model = new RecordingAdapter(TestModels.Make(0));
        await using var callback = new SwarmCallback(Options, model, new ListLogger());
        Assert.Equal(node.SocketPath, callback.SocketPath);
        await callback.OnTrainBeginAsync();
        Assert.Equal(TestModels.Flat(TestModels.Make(100)), TestModels.Flat(model.Current));
    }
}
