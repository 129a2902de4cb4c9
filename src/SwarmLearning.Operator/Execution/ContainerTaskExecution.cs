using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Operator.Processes;
using SwarmLearning.Operator.Profile;

namespace SwarmLearning.Operator.Execution;

/// <summary>
/// MAKE_USER_CONTAINER and PULL_IMAGE, which need a container engine: with docker or podman on the PATH they run
/// <c>ENGINE pull ORG/REPO:TAG</c> and <c>ENGINE build -t OUTCOME</c> (BuildSteps as the Dockerfile, the BuildContext
/// volume as the context); without one they fail at once, saying so. They never pretend to succeed.
/// </summary>
internal sealed class ContainerTaskExecution : ITaskExecution
{
    private static readonly string[] Engines = ["docker", "podman"];
    private readonly CancellationTokenSource _stop = new();
    private SupervisedProcess? _process;
    private int _disposed;

    private ContainerTaskExecution(string started) => Started = started;

    public string Started { get; }

    public IReadOnlyList<TaskPeerReport>? Peers => null;

    public Task<TaskOutcome> Outcome { get; private set; } = Task.FromResult(TaskOutcome.Failed("not started"));

    /// <summary>docker, then podman, on <paramref name="searchPath"/> (PATH when null); null when neither is there.</summary>
    public static string? FindEngine(string? searchPath)
    {
        var directories = (searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return Engines
            .SelectMany(name => directories.Select(d => Path.Combine(d, name)))
            .FirstOrDefault(File.Exists);
    }

    public static ITaskExecution Start(OperatorProfile profile, OperatorOptions options, string runner, string taskType, string outcome, JsonElement body)
    {
        if (FindEngine(options.ContainerSearchPath) is not { } engine)
        {
            return new FinishedExecution(TaskOutcome.Failed(
                $"{taskType} needs a container engine: no container engine on host {options.HostName}: install docker or podman (or run this task on a host that has one)"));
        }

        var info = new ProcessStartInfo(engine);
        string what;
        if (taskType == "PULL_IMAGE")
        {
            var image = $"{body.GetProperty("OrgAndReg").GetString()}/{body.GetProperty("RepoName").GetString()}:{body.GetProperty("Tag").GetString()}";
            if (body.TryGetProperty("Auth", out var auth) && auth.ValueKind == JsonValueKind.String)
            {
                // A path to a docker config.json: the engine reads credentials from its directory.
                info.Environment["DOCKER_CONFIG"] = Path.GetDirectoryName(Path.GetFullPath(auth.GetString()!, profile.WorkDirectory));
            }
            else if (auth.ValueKind == JsonValueKind.Object)
            {
                return new FinishedExecution(TaskOutcome.Failed("PULL_IMAGE: Body.Auth with Username and Password is not supported by this operator; give the path of a docker config.json (docker login writes one)"));
            }

            info.ArgumentList.Add("pull");
            info.ArgumentList.Add(image);
            what = $"{engine} pull {image}";
        }
        else
        {
            if (body.GetProperty("BuildType").GetString() == "REMOTE")
            {
                return new FinishedExecution(TaskOutcome.Failed("MAKE_USER_CONTAINER: BuildType REMOTE is not implemented (neither is it in HPE's SWOP); use INLINE"));
            }

            var context = Path.Combine(profile.WorkDirectory, "build", runner);
            if (Directory.Exists(context))
            {
                Directory.Delete(context, recursive: true);
            }

            Directory.CreateDirectory(context);
            if (body.TryGetProperty("BuildContext", out var volume) && volume.ValueKind == JsonValueKind.String)
            {
                Copy(Path.Combine(profile.WorkDirectory, "volumes", volume.GetString()!), context);
            }

            File.WriteAllLines(Path.Combine(context, "Dockerfile"), body.GetProperty("BuildSteps").EnumerateArray().Select(s => s.GetString()!));
            info.ArgumentList.Add("build");
            info.ArgumentList.Add("-t");
            info.ArgumentList.Add(outcome.ToLowerInvariant());
            info.ArgumentList.Add(context);
            what = $"{engine} build -t {outcome.ToLowerInvariant()} {context}";
        }

        var execution = new ContainerTaskExecution(what);
        execution._process = SupervisedProcess.Start(taskType.ToLowerInvariant(), info, Path.Combine(profile.WorkDirectory, "logs", runner, $"{taskType.ToLowerInvariant()}.log"));
        execution.Outcome = execution.WaitAsync(what);
        return execution;
    }

    private async Task<TaskOutcome> WaitAsync(string what)
    {
        try
        {
#pragma warning disable VSTHRD003 // the child's own exit
            var code = await _process!.Exited.WaitAsync(_stop.Token).ConfigureAwait(false);
#pragma warning restore VSTHRD003
            return code == 0
                ? TaskOutcome.Completed($"{what}: done")
                : TaskOutcome.Failed(string.Create(CultureInfo.InvariantCulture, $"{what} exited with code {code}: {_process.Tail(6)}"));
        }
        catch (OperationCanceledException)
        {
            return TaskOutcome.Failed($"{what} was stopped before it ended");
        }
    }

    private static void Copy(string from, string to)
    {
        if (!Directory.Exists(from))
        {
            throw new SwarmException($"Body.BuildContext: there is no volume {from}; make it with a MAKE_SWARM_USER_CONTENT task (BUILDCONTENT) first");
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
