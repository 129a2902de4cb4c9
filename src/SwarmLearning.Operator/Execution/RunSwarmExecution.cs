using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;
using SwarmLearning.Operator.Processes;
using SwarmLearning.Operator.Profile;
using SwarmLearning.Operator.Tasks;

namespace SwarmLearning.Operator.Execution;

/// <summary>
/// RUN_SWARM on this host: for each profile node (at most the task's peer count) an SL node (<c>swarm sl</c>) and its ML
/// program (<c>Entrypoint Command</c> in <c>WorkingDir</c>) as processes. The outcome is <c>completed</c> once every ML
/// program exited 0, <c>failed</c> at the first that did not (or an SL node that died first). The processes keep
/// running until the execution is disposed (task runner reset, operator stop): the other nodes of the swarm may still
/// need this one's SL node for their last rounds.
/// </summary>
internal sealed class RunSwarmExecution : ITaskExecution
{
    private const int MaxMessage = 1000;
    private readonly List<Pair> _pairs = [];
    private readonly OperatorOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;

    private RunSwarmExecution(OperatorOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
    }

    public string Started { get; private set; } = string.Empty;

    public IReadOnlyList<TaskPeerReport>? Peers => [.. _pairs.Select(p => p.Report())];

    public Task<TaskOutcome> Outcome { get; private set; } = Task.FromResult(TaskOutcome.Failed("not started"));

    /// <summary>Starts the pairs; the returned execution's outcome says whether they started and how they ended.</summary>
    public static async Task<ITaskExecution> StartAsync(
        OperatorProfile profile, OperatorOptions options, SwarmNetworkClient client, string runner, RunSwarmBody body, int peers, ILogger logger, CancellationToken cancellationToken)
    {
        var execution = new RunSwarmExecution(options, logger);
        try
        {
            var nodes = profile.Nodes.Take(Math.Max(1, peers)).ToList();
            foreach (var node in nodes)
            {
                execution._pairs.Add(execution.StartSl(profile, runner, node));
            }

            await execution.WaitForSlNodesAsync(client, cancellationToken).ConfigureAwait(false);
            foreach (var pair in execution._pairs)
            {
                pair.Ml = execution.StartMl(profile, runner, body, pair);
            }

            execution.Started = string.Create(CultureInfo.InvariantCulture,
                $"started {nodes.Count} SL/ML pair(s) on {options.HostName}: {string.Join(", ", execution._pairs.Select(p => $"{p.Node.Name} (pids {p.Sl.Id}/{p.Ml!.Id})"))}");
            execution.Outcome = execution.SuperviseAsync();
        }
        catch (Exception e) when (e is SwarmException or IOException or UnauthorizedAccessException or FormatException)
        {
            var failure = TaskOutcome.Failed(Limit($"RUN_SWARM could not start on {options.HostName}: {e.Message}"), [.. execution._pairs.Select(p => p.Report(failed: true))]);
            await execution.DisposeAsync().ConfigureAwait(false);
            return new FinishedExecution(failure);
        }

        return execution;
    }

    private Pair StartSl(OperatorProfile profile, string runner, ProfileNode node)
    {
        // swarm sl reads CERTS/NAME.crt, CERTS/NAME.key and CERTS/ca.crt: links to the profile's files give it that layout.
        var nodeDirectory = Path.Combine(profile.WorkDirectory, "nodes", node.Name);
        var certs = Path.Combine(nodeDirectory, "certs");
        Directory.CreateDirectory(certs);
        Link(Path.Combine(certs, $"{node.Name}.crt"), node.Identity.Certificate);
        Link(Path.Combine(certs, $"{node.Name}.key"), node.Identity.Key);
        Link(Path.Combine(certs, "ca.crt"), node.Identity.CaCertificate);
        Directory.CreateDirectory(node.ModelDirectory);
        var socket = Path.Combine(node.ModelDirectory, "ml.sock");

        var info = new ProcessStartInfo(_options.Swarm.FileName);
        foreach (var a in _options.Swarm.LeadingArguments.Concat([
            "sl", "--name", node.Name, "--certs", certs, "--sn", $"{profile.SnHost}:{profile.SnPort.ToString(CultureInfo.InvariantCulture)}",
            "--dir", node.ModelDirectory, "--socket", socket, "--file-port", node.FilePort.ToString(CultureInfo.InvariantCulture),
            "--listen", node.ListenAddress, "--host", node.HostName]))
        {
            info.ArgumentList.Add(a);
        }

        Clean(info);
        foreach (var (k, v) in profile.EnvVars.Concat(node.SlEnvVars))
        {
            info.Environment[k] = v;
        }

        var logs = Path.Combine(profile.WorkDirectory, "logs", runner);
        var sl = SupervisedProcess.Start(node.Name, info, Path.Combine(logs, $"{node.Name}.log"));
        Log.Started(_logger, "SL node", node.Name, sl.Id, sl.LogPath);
        return new Pair(node, sl, socket, nodeDirectory);
    }

    /// <summary>Waits until every SL node serves its socket and is an active member, failing at once if one exits.</summary>
    private async Task WaitForSlNodesAsync(SwarmNetworkClient client, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_pairs.FirstOrDefault(p => p.Sl.ExitCode is not null) is { } dead)
            {
                throw new SwarmException($"SL node {dead.Node.Name} exited with code {dead.Sl.ExitCode} while starting; the last lines of {dead.Sl.LogPath}:\n{dead.Sl.Tail(8)}");
            }

            var waiting = _pairs.Where(p => !File.Exists(p.Socket)).Select(p => p.Node.Name).ToList();
            if (waiting.Count == 0)
            {
                try
                {
                    var members = await client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
                    waiting = [.. _pairs.Where(p => !members.Any(m => m is { Role: "sl", Active: true } && m.Name == p.Node.Name)).Select(p => p.Node.Name)];
                }
                catch (SwarmException)
                {
                    waiting = [.. _pairs.Select(p => p.Node.Name)];
                }

                if (waiting.Count == 0)
                {
                    return;
                }
            }

            if (clock.Elapsed > _options.StartTimeout)
            {
                var first = _pairs.First(p => p.Node.Name == waiting[0]);
                throw new SwarmException(string.Create(CultureInfo.InvariantCulture,
                    $"SL node(s) {string.Join(", ", waiting)} did not serve their socket and register within {_options.StartTimeout.TotalSeconds:0} s; the last lines of {first.Sl.LogPath}:\n{first.Sl.Tail(8)}"));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }
    }

    private SupervisedProcess StartMl(OperatorProfile profile, string runner, RunSwarmBody body, Pair pair)
    {
        var node = pair.Node;
        var mapping = new PathMapping();
        if (body.PrivateContent is { Length: > 0 } privateContent)
        {
            mapping.Add(privateContent, node.PrivateData);
        }

        foreach (var shared in body.SharedContent)
        {
            mapping.Add(shared.Tgt, SharedSource(profile, pair, shared));
        }

        var words = CommandWords.Split(body.Command).Select(mapping.Map).ToList();
        if (body.Entrypoint is { Length: > 0 } entrypoint)
        {
            words.Insert(0, mapping.Map(entrypoint));
        }

        if (words.Count == 0)
        {
            throw new SwarmException("Body.Command and Body.Entrypoint name no program to run");
        }

        var workingDir = mapping.Map(body.WorkingDir);
        if (!Path.IsPathRooted(workingDir))
        {
            workingDir = Path.Combine(node.ModelDirectory, workingDir);
        }

        if (!Directory.Exists(workingDir))
        {
            throw new SwarmException($"Body.WorkingDir {body.WorkingDir} is {workingDir} on this host, which does not exist");
        }

        var info = new ProcessStartInfo(words[0]) { WorkingDirectory = workingDir };
        foreach (var w in words.Skip(1))
        {
            info.ArgumentList.Add(w);
        }

        Clean(info);
        foreach (var (k, v) in body.EnvVars.Concat(node.UserEnvVars))
        {
            info.Environment[k] = mapping.Map(v);
        }

        // How the ML program reaches its SL node, and where its data and models are (docs/operator.md).
        info.Environment["SWARM_SL_SOCKET"] = pair.Socket;
        info.Environment["SWARM_PRIVATE_DATA"] = node.PrivateData;
        info.Environment["SWARM_MODEL_DIR"] = node.ModelDirectory;
        info.Environment["SWARM_NODE_NAME"] = node.Name;
        var ml = SupervisedProcess.Start($"ml-{node.Name}", info, Path.Combine(profile.WorkDirectory, "logs", runner, $"ml-{node.Name}.log"));
        Log.Started(_logger, "ML program", node.Name, ml.Id, ml.LogPath);
        return ml;
    }

    /// <summary>BIND: a host path (relative to the work directory); VOLUME: the node's copy of the content, else the operator's.</summary>
    private static string SharedSource(OperatorProfile profile, Pair pair, SharedContent shared)
    {
        if (shared.MType == "BIND")
        {
            return Path.GetFullPath(shared.Src, profile.WorkDirectory);
        }

        var own = Path.Combine(pair.NodeDirectory, "volumes", shared.Src);
        return Directory.Exists(own) || File.Exists(own) ? own : Path.Combine(profile.WorkDirectory, "volumes", shared.Src);
    }

    private async Task<TaskOutcome> SuperviseAsync()
    {
        while (true)
        {
            if (_pairs.FirstOrDefault(p => p.Ml!.ExitCode is { } code && code != 0) is { } failed)
            {
                failed.Failure = string.Create(CultureInfo.InvariantCulture, $"its ML program exited with code {failed.Ml!.ExitCode}; the last lines of {failed.Ml.LogPath}:\n{failed.Ml.Tail(8)}");
                return TaskOutcome.Failed(Limit($"{failed.Node.Name} on {_options.HostName}: {failed.Failure}"), Peers);
            }

            if (_pairs.All(p => p.Ml!.ExitCode is not null))
            {
                return TaskOutcome.Completed(string.Create(CultureInfo.InvariantCulture,
                    $"{_pairs.Count} ML program(s) on {_options.HostName} exited 0 ({string.Join(", ", _pairs.Select(p => p.Node.Name))})"), Peers);
            }

            if (_pairs.FirstOrDefault(p => p.Sl.ExitCode is not null && p.Ml!.ExitCode is null) is { } orphaned)
            {
                orphaned.Failure = string.Create(CultureInfo.InvariantCulture,
                    $"its SL node exited with code {orphaned.Sl.ExitCode} while the ML program ran; the last lines of {orphaned.Sl.LogPath}:\n{orphaned.Sl.Tail(8)}");
                return TaskOutcome.Failed(Limit($"{orphaned.Node.Name} on {_options.HostName}: {orphaned.Failure}"), Peers);
            }

#pragma warning disable VSTHRD003 // the children's own exits
            var pending = _pairs.Where(p => p.Ml!.ExitCode is null).Select(p => p.Ml!.Exited)
                .Concat(_pairs.Where(p => p.Sl.ExitCode is null).Select(p => p.Sl.Exited));
            try
            {
                await Task.WhenAny(pending).WaitAsync(_stop.Token).ConfigureAwait(false);
            }
#pragma warning restore VSTHRD003
            catch (OperationCanceledException)
            {
                return TaskOutcome.Failed($"RUN_SWARM on {_options.HostName} was stopped before it ended", Peers);
            }
        }
    }

    private static void Clean(ProcessStartInfo info)
    {
        // The children get their sockets and modes from the operator: a SWARM_LOOPBACK=1 or SWARM_SL_SOCKET left in
        // the operator's own environment would send an ML program elsewhere.
        info.Environment.Remove("SWARM_LOOPBACK");
        info.Environment.Remove("SWARM_SL_SOCKET");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
    }

    private static void Link(string link, string target)
    {
        if (File.Exists(link) || new FileInfo(link).LinkTarget is not null)
        {
            File.Delete(link);
        }

        File.CreateSymbolicLink(link, target);
    }

    private static string Limit(string message) => message.Length <= MaxMessage ? message : message[..MaxMessage] + "…";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);

        // ML programs first (they may save a model on SIGTERM), then their SL nodes.
        await Task.WhenAll(_pairs.Where(p => p.Ml is not null).Select(p => p.Ml!.StopAsync(_options.StopGrace))).ConfigureAwait(false);
        await Task.WhenAll(_pairs.Select(p => p.Sl.StopAsync(_options.StopGrace))).ConfigureAwait(false);
        foreach (var p in _pairs)
        {
            Log.Stopped(_logger, p.Node.Name, p.Sl.ExitCode ?? -1, p.Ml?.ExitCode ?? -1);
            if (p.Ml is not null)
            {
                await p.Ml.DisposeAsync().ConfigureAwait(false);
            }

            await p.Sl.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private sealed class Pair(ProfileNode node, SupervisedProcess sl, string socket, string nodeDirectory)
    {
        public ProfileNode Node { get; } = node;

        public SupervisedProcess Sl { get; } = sl;

        public string Socket { get; } = socket;

        public string NodeDirectory { get; } = nodeDirectory;

        public SupervisedProcess? Ml { get; set; }

        public string? Failure { get; set; }

        public TaskPeerReport Report(bool failed = false)
        {
            var (state, message) = Ml?.ExitCode switch
            {
                _ when failed || Failure is not null => ("failed", Failure ?? "did not start"),
                0 => ("completed", "ML program exited 0"),
                { } code => ("failed", string.Create(CultureInfo.InvariantCulture, $"ML program exited with code {code}")),
                _ => ("running", string.Create(CultureInfo.InvariantCulture, $"SL pid {Sl.Id}, ML pid {Ml?.Id}")),
            };
            return new TaskPeerReport { Uid = Node.Name, State = state, Message = message.Length <= 1000 ? message : message[..1000] + "…" };
        }
    }
}
