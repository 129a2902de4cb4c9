using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Network.Tests;
using SwarmLearning.Operator.Content;
using SwarmLearning.Operator.Execution;
using SwarmLearning.Operator.Profile;
using SwarmLearning.Operator.Tasks;

namespace SwarmLearning.Operator.Tests;

/// <summary>MAKE_SWARM_USER_CONTENT (downloads and archives) and the container tasks on a host without an engine.</summary>
public sealed class ContentTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private OperatorProfile Profile(params string[] nodes) => new()
    {
        GroupName = "g",
        TaskRunner = "r",
        SnHost = "localhost",
        SnPort = 30304,
        Identity = new IdentityFiles("c", "k", "ca"),
        WorkDirectory = _dir.File("work"),
        EnvVars = new Dictionary<string, string>(),
        Nodes = [.. nodes.Select((n, k) => new ProfileNode
        {
            Index = k,
            Identity = new IdentityFiles("c", "k", "ca"),
            Name = n,
            HostName = "localhost",
            ListenAddress = "127.0.0.1",
            FilePort = 30305 + k,
            PrivateData = _dir.Path,
            ModelDirectory = _dir.File(n),
            SlEnvVars = new Dictionary<string, string>(),
            UserEnvVars = new Dictionary<string, string>(),
        })],
    };

    private static async Task<TaskOutcome> RunAsync(OperatorProfile profile, string bodyJson)
    {
        using var body = JsonDocument.Parse(bodyJson);
        Assert.Empty(TaskSchema.ValidateBody("MAKE_SWARM_USER_CONTENT", body.RootElement));
        var execution = UserContentExecution.Start(profile, UserContentBody.Parse(body.RootElement), NullLogger.Instance);
        await using (execution)
        {
            return await execution.Outcome.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static string Body(string contentType, params (string Op, string Target, string? Out)[] ops) => JsonSerializer.Serialize(new
    {
        ContentType = contentType,
        OpsList = ops.Select(o => new { Operation = o.Op, o.Target, Options = o.Out is null ? null : new[] { new { Out = o.Out } } }),
    });

    private string TarGz(string name, params (string Path, string Text)[] files)
    {
        var path = _dir.File(name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip);
        foreach (var (entry, text) in files)
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
        }

        return path;
    }

    private string Zip(string name, params (string Path, string Text)[] files)
    {
        var path = _dir.File(name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (entry, text) in files)
        {
            using var stream = zip.CreateEntry(entry).Open();
            stream.Write(Encoding.UTF8.GetBytes(text));
        }

        return path;
    }

    [Fact]
    public async Task A_tar_gz_is_downloaded_over_http_and_extracted_into_the_build_volume()
    {
        var archive = await File.ReadAllBytesAsync(TarGz("model.tar.gz", ("model/train.py", "print('hi')"), ("model/conf/a.txt", "a")));
        var port = TestNetwork.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serve = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            context.Response.StatusCode = context.Request.Url!.AbsolutePath == "/content/model.tar.gz" ? 200 : 404;
            await context.Response.OutputStream.WriteAsync(archive);
            context.Response.Close();
        });

        var outcome = await RunAsync(Profile("sl1"), Body("BUILDCONTENT",
            ("DOWNLOAD", $"http://127.0.0.1:{port}/content/model.tar.gz", "downloads/model.tar.gz"),
            ("EXTRACT", "downloads/model.tar.gz", "src")));
        await serve;

        Assert.True(outcome.Succeeded, outcome.Message);
        var volume = _dir.File("work/volumes");
        Assert.Equal("print('hi')", await File.ReadAllTextAsync(Path.Combine(volume, "src/model/train.py")));
        Assert.Equal("a", await File.ReadAllTextAsync(Path.Combine(volume, "src/model/conf/a.txt")));
        Assert.Contains("(2 files)", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zip_given_as_a_file_URI_is_extracted_once_per_node_for_SWARMCONTENT()
    {
        var zip = Zip("data.zip", ("data/x.csv", "1,2"), ("readme.txt", "r"));
        var outcome = await RunAsync(Profile("sl1", "sl2"), Body("SWARMCONTENT", ("EXTRACT", new Uri(zip).AbsoluteUri, null)));
        Assert.True(outcome.Succeeded, outcome.Message);
        foreach (var node in new[] { "sl1", "sl2" })
        {
            Assert.Equal("1,2", await File.ReadAllTextAsync(_dir.File($"work/nodes/{node}/volumes/data/x.csv")));
        }

        Assert.False(Directory.Exists(_dir.File("work/volumes")), "SWARMCONTENT makes the nodes' copies only");
    }

    [Fact]
    public async Task A_plain_file_path_is_downloaded_under_its_own_name()
    {
        var source = _dir.File("weights.bin");
        await File.WriteAllTextAsync(source, "w");
        var outcome = await RunAsync(Profile("sl1"), Body("BUILDCONTENT", ("DOWNLOAD", source, null)));
        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Equal("w", await File.ReadAllTextAsync(_dir.File("work/volumes/weights.bin")));
    }

    [Theory]
    [InlineData("evil.tar.gz")]
    [InlineData("evil.zip")]
    public async Task An_archive_entry_escaping_the_target_is_refused(string name)
    {
        (string, string)[] files = [("ok.txt", "fine"), ("../../escaped.txt", "gotcha")];
        var archive = name.EndsWith(".zip", StringComparison.Ordinal) ? Zip(name, files) : TarGz(name, files);
        var outcome = await RunAsync(Profile("sl1"), Body("BUILDCONTENT", ("EXTRACT", archive, "x")));
        Assert.False(outcome.Succeeded);
        Assert.Contains("Body.OpsList[0]", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("'../../escaped.txt' would be written outside", outcome.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("work/escaped.txt")));
        Assert.False(File.Exists(_dir.File("escaped.txt")));
    }

    [Fact]
    public async Task An_out_path_leaving_the_content_directory_is_refused()
    {
        var source = _dir.File("f.txt");
        await File.WriteAllTextAsync(source, "f");
        var outcome = await RunAsync(Profile("sl1"), Body("BUILDCONTENT", ("DOWNLOAD", source, "../../f.txt")));
        Assert.False(outcome.Succeeded);
        Assert.Contains("Body.OpsList[0].Options.Out '../../f.txt' is outside the content directory", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_download_fails_naming_it()
    {
        var outcome = await RunAsync(Profile("sl1"), Body("BUILDCONTENT", ("DOWNLOAD", _dir.File("nowhere.tar"), null)));
        Assert.False(outcome.Succeeded);
        Assert.Contains("there is no file", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("nowhere.tar", outcome.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PULL_IMAGE", """{"Tag":"2.2.0","RepoName":"sl","OrgAndReg":"hub.example/hpe","Auth":null}""")]
    [InlineData("MAKE_USER_CONTAINER", """{"BuildContext":null,"BuildSteps":["FROM python:3.11"],"BuildType":"INLINE"}""")]
    public async Task Container_tasks_fail_clearly_on_a_host_without_docker_or_podman(string type, string bodyJson)
    {
        var empty = Directory.CreateDirectory(_dir.File("empty-path")).FullName;
        var options = new OperatorOptions { Swarm = new SwarmCommand("swarm", []), ContainerSearchPath = empty, HostName = "host-x" };
        using var body = JsonDocument.Parse(bodyJson);
        Assert.Empty(TaskSchema.ValidateBody(type, body.RootElement));
        var execution = ContainerTaskExecution.Start(Profile("sl1"), options, "r", type, "image", body.RootElement);
        await using (execution)
        {
            var outcome = await execution.Outcome.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.False(outcome.Succeeded);
            Assert.Contains("no container engine on host host-x: install docker or podman", outcome.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_container_engine_is_found_on_the_search_path()
    {
        var bin = Directory.CreateDirectory(_dir.File("bin")).FullName;
        Assert.Null(ContainerTaskExecution.FindEngine(bin));
        File.WriteAllText(Path.Combine(bin, "podman"), "#!/bin/sh\n");
        Assert.Equal(Path.Combine(bin, "podman"), ContainerTaskExecution.FindEngine(bin));
    }
}
