using SwarmLearning.Cli.Ctl;

namespace SwarmLearning.Cli.Tests.Ctl;

public sealed class ContextStoreTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private ContextStore Store() => new(Path.Combine(_harness.Directory, "cfg", "contexts.json"));

    [Fact]
    public void The_first_context_becomes_active_and_switching_and_deleting_persist()
    {
        var store = Store();
        Assert.Null(store.Active());
        store.Save(new CtlContext("a", "sn1:30304", "/certs", "admin"));
        store.Save(new CtlContext("b", "sn2:30304", "/certs", "ops"));
        Assert.Equal("a", store.Active()!.Name);

        var reopened = Store();
        Assert.Equal("b", reopened.Switch("b").Name);
        Assert.Equal(new CtlContext("b", "sn2:30304", "/certs", "ops"), Store().Active());
        Assert.Equal(["a", "b"], Store().Load().Contexts.Select(c => c.Name));

        store.Save(new CtlContext("b", "sn3:31000", "/certs", "ops"));
        Assert.Equal("sn3:31000", Store().Get("b").Sn);

        store.Delete("b");
        Assert.Null(Store().Active());
        Assert.Equal("a", Assert.Single(Store().Load().Contexts).Name);
        Assert.False(File.Exists(store.Path + ".tmp"));
    }

    [Fact]
    public void Unknown_contexts_and_a_damaged_file_are_errors_naming_the_file()
    {
        var store = Store();
        var e = Assert.Throws<SwarmException>(() => store.Switch("nope"));
        Assert.Contains("no context 'nope'", e.Message, StringComparison.Ordinal);
        Assert.Contains(store.Path, e.Message, StringComparison.Ordinal);

        Directory.CreateDirectory(Path.GetDirectoryName(store.Path)!);
        File.WriteAllText(store.Path, "{ not json");
        e = Assert.Throws<SwarmException>(store.Load);
        Assert.Contains("is not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_file_is_SWARM_CTL_CONFIG_else_under_XDG_CONFIG_HOME_else_under_home_config()
    {
        Assert.Equal("/tmp/x/ctx.json", ContextStore.DefaultPath(v => v == "SWARM_CTL_CONFIG" ? "/tmp/x/ctx.json" : "/xdg"));
        Assert.Equal("/xdg/swarmlearning/contexts.json", ContextStore.DefaultPath(v => v == "XDG_CONFIG_HOME" ? "/xdg" : null));
        Assert.EndsWith("/.config/swarmlearning/contexts.json", ContextStore.DefaultPath(_ => null), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sn1", null, "sn1:30304")]
    [InlineData("sn1:31000", null, "sn1:31000")]
    [InlineData("sn1", 31000, "sn1:31000")]
    [InlineData("::1", 31000, "[::1]:31000")]
    public void Addresses_get_the_API_port_by_default(string address, int? port, string expected) =>
        Assert.Equal(expected, ContextStore.NormalizeAddress(address, port));
}
