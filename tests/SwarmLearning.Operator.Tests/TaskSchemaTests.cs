using System.Text.Json;
using SwarmLearning.Operator.Tasks;

namespace SwarmLearning.Operator.Tests;

public sealed class TaskSchemaTests
{
    private const string RunSwarm = """
        Name: swarm_mnist_task
        TaskType: RUN_SWARM
        Author: HPE-TEST
        Prereq: user_env_tf_build_task
        Outcome: swarm_mnist_task
        Body:
          Command: model/mnist_tf.py
          Entrypoint: python3
          WorkingDir: /tmp/test
          Envvars: ["DATA_DIR": app-data, "MAX_EPOCHS": 2, "MIN_PEERS": 2]
          PrivateContent: /tmp/test/
          SharedContent:
          - Src: /opt/hpe/swarm-learning/examples/mnist/model
            Tgt: /tmp/test/model
            MType: BIND
          - Src: shared-volume
            Tgt: /tmp/test/shared
            MType: VOLUME
        """;

    private const string UserContent = """
        Name: content
        TaskType: MAKE_SWARM_USER_CONTENT
        Author: me
        Prereq: ROOTTASK
        Outcome: content
        Body:
          ContentType: SWARMCONTENT
          OpsList:
          - Operation: DOWNLOAD
            Target: https://example.org/data.tar.gz
            Options:
            - Out: data.tar.gz
          - Operation: EXTRACT
            Target: data.tar.gz
            Options: ~
        """;

    private const string Build = """
        Name: build
        TaskType: MAKE_USER_CONTAINER
        Author: me
        Prereq: ROOTTASK
        Outcome: user-env-tf2.7.0-swop
        Body:
          BuildContext: sl-cli-lib
          BuildSteps:
          - FROM tensorflow/tensorflow:2.7.0
          - RUN pip3 install --upgrade pip
          BuildType: INLINE
        """;

    private const string Pull = """
        Name: pull
        TaskType: PULL_IMAGE
        Author: me
        Prereq: ROOTTASK
        Outcome: image
        Body:
          Tag: 2.2.0
          RepoName: sl
          OrgAndReg: hub.myenterpriselicense.hpe.com/hpe/swarm-learning
          Auth: ~
        """;

    private static IReadOnlyList<string> Validate(string yaml)
    {
        var json = TaskYaml.ToJson(yaml)!.ToJsonString();
        using var document = JsonDocument.Parse(json);
        return TaskSchema.ValidateDefinition(document.RootElement);
    }

    [Theory]
    [InlineData(RunSwarm)]
    [InlineData(UserContent)]
    [InlineData(Build)]
    [InlineData(Pull)]
    public void HPEs_example_tasks_are_valid(string yaml) => Assert.Empty(Validate(yaml));

    [Theory]
    [InlineData(RunSwarm, "    MType: VOLUME", "    MType: NFS", "Body.SharedContent[1].MType: \"NFS\" is not one of BIND, VOLUME")]
    [InlineData(RunSwarm, "  Command: model/mnist_tf.py\n", "", "Body.Command: required")]
    [InlineData(RunSwarm, "  PrivateContent: /tmp/test/\n", "", "Body.PrivateContent: required (~ for none)")]
    [InlineData(RunSwarm, "  WorkingDir: /tmp/test", "  WorkingDir: ~", "Body.WorkingDir: must not be null")]
    [InlineData(RunSwarm, "  WorkingDir: /tmp/test", "  WorkingDir: /tmp/test\n  Workdir: /x", "Body.Workdir: is not a field here")]
    [InlineData(RunSwarm, "  Envvars: [", "  Envvars: [\"BAD\": [1], ", "Body.Envvars[0].BAD: must be a scalar value")]
    [InlineData(RunSwarm, "TaskType: RUN_SWARM", "TaskType: RUN_ANYTHING", "TaskType: \"RUN_ANYTHING\" is not one of")]
    [InlineData(RunSwarm, "Author: HPE-TEST\n", "", "Author: required")]
    [InlineData(UserContent, "  ContentType: SWARMCONTENT", "  ContentType: ALLCONTENT", "Body.ContentType: \"ALLCONTENT\" is not one of BUILDCONTENT, SWARMCONTENT")]
    [InlineData(UserContent, "  - Operation: EXTRACT", "  - Operation: UNZIP", "Body.OpsList[1].Operation")]
    [InlineData(UserContent, "    - Out: data.tar.gz", "    - Output: data.tar.gz", "Body.OpsList[0].Options[0].Output: is not a field here")]
    [InlineData(Build, "  BuildType: INLINE", "  BuildType: LOCAL", "Body.BuildType")]
    [InlineData(Build, "  BuildSteps:\n  - FROM tensorflow/tensorflow:2.7.0\n  - RUN pip3 install --upgrade pip\n", "  BuildSteps: []\n", "Body.BuildSteps: has 0 entries; HPE's schema allows 1 to 80")]
    [InlineData(Pull, "  Auth: ~", "  Auth:\n    Username: u", "Body.Auth.Password: required")]
    [InlineData(Pull, "  Tag: 2.2.0", "  Tag:\n  - 2.2.0", "Body.Tag: must be a string, not a list")]
    public void Each_schema_violation_names_its_field(string yaml, string from, string to, string expected)
    {
        Assert.Contains(from, yaml, StringComparison.Ordinal);
        var errors = Validate(yaml.Replace(from, to, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Strings_longer_than_160_characters_and_lists_longer_than_HPE_allows_are_refused()
    {
        var errors = Validate(RunSwarm.Replace("model/mnist_tf.py", new string('m', 161), StringComparison.Ordinal));
        Assert.Contains("Body.Command: is 161 characters; the limit is 160", errors);

        var shared = string.Concat(Enumerable.Range(0, 11).Select(k => $"  - Src: /s{k}\n    Tgt: /t{k}\n    MType: BIND\n"));
        var body = RunSwarm[..RunSwarm.IndexOf("  SharedContent:", StringComparison.Ordinal)] + "  SharedContent:\n" + shared;
        Assert.Contains("Body.SharedContent: has 11 entries; HPE's schema allows 1 to 10", Validate(body));

        var ops = string.Concat(Enumerable.Range(0, 21).Select(k => $"  - Operation: DOWNLOAD\n    Target: /f{k}\n"));
        var content = UserContent[..UserContent.IndexOf("  OpsList:", StringComparison.Ordinal)] + "  OpsList:\n" + ops;
        Assert.Contains("Body.OpsList: has 21 entries; HPE's schema allows 1 to 20", Validate(content));
    }

    [Fact]
    public void A_body_is_validated_for_its_task_type_alone()
    {
        using var body = JsonDocument.Parse("""{"Tag":"1","RepoName":"r","OrgAndReg":"o","Auth":null}""");
        Assert.Empty(TaskSchema.ValidateBody("PULL_IMAGE", body.RootElement));
        Assert.Contains(TaskSchema.ValidateBody("RUN_SWARM", body.RootElement), e => e.StartsWith("Body.Command: required", StringComparison.Ordinal));
        Assert.Contains(TaskSchema.ValidateBody("RUN_SWARM", body.RootElement), e => e.StartsWith("Body.Tag: is not a field here", StringComparison.Ordinal));
    }
}
