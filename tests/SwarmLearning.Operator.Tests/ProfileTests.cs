using SwarmLearning.Identity;
using SwarmLearning.Operator.Profile;
using SwarmLearning.Operator.Tests.Harness;

namespace SwarmLearning.Operator.Tests;

public sealed class ProfileTests : IDisposable
{
    private readonly Files _files = new();
    private readonly string _data;

    public ProfileTests()
    {
        _files.Identity("swop1", SwarmRole.Swop);
        _files.Identity("sl1", SwarmRole.Sl);
        _files.Identity("sl2", SwarmRole.Sl);
        _data = Directory.CreateDirectory(_files.Dir.File("data1")).FullName;
    }

    public void Dispose() => _files.Dispose();

    private string Good() => File.ReadAllText(_files.Profile("swop1", 30304, ("sl1", 30305, _data), ("sl2", 30306, _data)));

    private IReadOnlyList<string> Problems(string yaml)
    {
        var e = Assert.Throws<ProfileException>(() => ProfileLoader.Parse(yaml, _files.Dir.Path));
        return e.Problems;
    }

    [Fact]
    public void An_HPE_style_profile_loads_with_macros_resolved_and_container_fields_noted()
    {
        var loaded = ProfileLoader.Parse(Good(), _files.Dir.Path);
        var p = loaded.Profile;
        Assert.Equal("swop1-group", p.GroupName);
        Assert.Equal("defaulttaskbb.taskdb.sml.hpe", p.TaskRunner);
        Assert.Equal(new Uri("https://localhost:30304"), p.SnAddress);
        Assert.Equal(Path.Combine(_files.Dir.Path, "swop1"), p.WorkDirectory);
        Assert.Equal(Path.Combine(_files.Certs, "swop1.crt"), p.Identity.Certificate);
        Assert.Equal("INFO", p.EnvVars["SL_LOG_LEVEL"]);
        Assert.Equal(["sl1", "sl2"], p.Nodes.Select(n => n.Name));
        Assert.Equal([30305, 30306], p.Nodes.Select(n => n.FilePort));
        Assert.Equal(_data, p.Nodes[0].PrivateData);
        Assert.Equal(Path.Combine(_files.Dir.Path, "swop1-models", "sl2"), p.Nodes[1].ModelDirectory);
        Assert.Equal("sl2", p.Nodes[1].UserEnvVars["NODE_NOTE"]);
        Assert.Empty(p.Nodes[0].SlEnvVars);
        Assert.Contains("resourcemgr", loaded.Ignored);
        Assert.Contains("apls", loaded.Ignored);
        Assert.Contains("nodes[0].slnodedef.usrhostname", loaded.Ignored);
    }

    [Theory]
    [InlineData("groupname: swop1-group\n", "groupname")]
    [InlineData("taskrunner: defaulttaskbb.taskdb.sml.hpe\n", "taskrunner")]
    [InlineData("workdir: <CURRENT-PATH>/swop1\n", null)] // optional
    public void Each_missing_top_level_field_is_named(string line, string? field)
    {
        var yaml = Good().Replace(line, "", StringComparison.Ordinal);
        if (field is null)
        {
            Assert.Equal(Path.Combine(_files.Dir.Path, "swop-swop1-group"), ProfileLoader.Parse(yaml, _files.Dir.Path).Profile.WorkDirectory);
            return;
        }

        Assert.Contains(Problems(yaml), p => p.StartsWith($"{field} ", StringComparison.Ordinal) && p.Contains("required", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_SN_address_and_nodes_are_named()
    {
        var yaml = "groupname: g\ntaskrunner: r\nidentity:\n" + Files.IdentityYaml("swop1", "  ") + "\n";
        var problems = Problems(yaml);
        Assert.Contains(problems, p => p.StartsWith("apisrv", StringComparison.Ordinal) && p.Contains("required", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("nodes", StringComparison.Ordinal) && p.Contains("required", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("slport: 30306", "slport: 70000", "nodes[1].slnodedef.slport", "not a whole number from 1 to 65535")]
    [InlineData("slhostip: 127.0.0.1", "slhostip: local", "nodes[0].slnodedef.slhostip", "not an IP address")]
    [InlineData("- aType: CACERT", "- aType: CAPATH", "identity[2].aType", "\"CAPATH\" is not one of CERT, KEY, CACERT")]
    [InlineData("usrhostname: ml-sl2", "usrhostnam: ml-sl2", "nodes[1].slnodedef.usrhostnam", "is not a field here")]
    [InlineData("host: localhost\n    port: 30304", "host: localhost\n    port: https", "apisrv.locator.port", "not a whole number")]
    [InlineData("workdir: <CURRENT-PATH>/swop1", "workdir: <PROJECT>/swop1", "workdir", "the macro <PROJECT> is not replaced")]
    [InlineData("- NODE_NOTE: sl1", "- NODE_NOTE: [a, b]", "nodes[0].slnodedef.usrenvvars[0].NODE_NOTE", "must be a text value")]
    public void An_invalid_field_is_named_with_what_is_wrong(string from, string to, string field, string message)
    {
        var good = Good();
        var index = good.IndexOf(from, StringComparison.Ordinal);
        Assert.True(index >= 0, $"the test profile has no '{from}'");
        var yaml = good[..index] + to + good[(index + from.Length)..];
        var problems = Problems(yaml);
        Assert.Contains(problems, p => p.Contains(field, StringComparison.Ordinal) && p.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_private_data_directory_that_does_not_exist_is_named()
    {
        var yaml = Good().Replace(_data, _data + "-missing", StringComparison.Ordinal);
        Assert.Contains(Problems(yaml), p => p.Contains("nodes[0].slnodedef.privatedata.src", StringComparison.Ordinal) && p.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void An_identity_of_the_wrong_role_is_refused_with_the_role_to_issue()
    {
        var yaml = Good().Replace("certs/sl1.", "certs/swop1.", StringComparison.Ordinal);
        Assert.Contains(Problems(yaml), p => p.Contains("nodes[0].slnodedef.identity", StringComparison.Ordinal) && p.Contains("--role sl", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_nodes_with_one_port_or_one_identity_are_refused()
    {
        var yaml = Good().Replace("slport: 30306", "slport: 30305", StringComparison.Ordinal).Replace("certs/sl2.", "certs/sl1.", StringComparison.Ordinal);
        var problems = Problems(yaml);
        Assert.Contains(problems, p => p.Contains("slport '30305' is used by more than one node", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'sl1' is used by more than one node", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_line()
    {
        var yaml = Good().Replace("groupname: swop1-group\n", "", StringComparison.Ordinal).Replace("slport: 30306", "slport: 0", StringComparison.Ordinal);
        var problems = Problems(yaml);
        Assert.True(problems.Count >= 2, string.Join("\n", problems));
        Assert.Contains(problems, p => p.Contains("slport (line ", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_that_is_not_YAML_is_refused_with_the_line()
    {
        var e = Assert.Throws<ProfileException>(() => ProfileLoader.Parse("groupname: [unclosed\n", _files.Dir.Path));
        Assert.Contains("is not YAML: line", e.Message, StringComparison.Ordinal);
    }
}
