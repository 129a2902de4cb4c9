using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SwarmLearning.Identity;
using SwarmLearning.Operator.Processes;
using SwarmLearning.Training.Data.Partitioning;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// <c>swarm demo</c>: a complete local swarm as separate processes on loopback. It makes a fresh CA and identities,
/// splits Fashion-MNIST HPE-style (biased) among the nodes, starts a sentinel SN, N SL nodes and N ML programs
/// (<c>swarm train --swarm</c>), shows their progress from the ledger and the programs' lines, then trains the
/// local-only baselines and reports, per node, local-only against swarm accuracy and the final model's hash, which
/// must be the same on every node. Every child is this same executable; every child is stopped when the demo ends,
/// fails or is interrupted.
/// </summary>
internal sealed partial class DemoRunner : IAsyncDisposable
{
    private readonly CliIo _io;
    private readonly DemoOptions _options;
    private readonly SwarmExecutable _swarm;
    private readonly List<SupervisedProcess> _children = [];
    private readonly string _directory;
    private readonly bool _madeHere;
    private string? _socketDirectory;

    private DemoRunner(CliIo io, DemoOptions options, string directory, bool madeHere)
    {
        _io = io;
        _options = options;
        _swarm = SwarmExecutable.Current();
        _directory = directory;
        _madeHere = madeHere;
    }

    private string Logs => Path.Combine(_directory, "logs");

    /// <summary>Runs the demo; 0 when every node ends with the same final model.</summary>
    public static async Task<int> RunAsync(CliIo io, DemoOptions options, CancellationToken cancellationToken)
    {
        var (directory, madeHere) = PrepareDirectory(options.Directory);
        var runner = new DemoRunner(io, options, directory, madeHere);
        await using (runner.ConfigureAwait(false))
        {
            return await runner.RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var view = DemoView.Create(_io, _options.Json);
        var succeeded = false;
        try
        {
            if (!_options.Json)
            {
                await _io.Error.WriteLineAsync($"SwarmLearning demo in {_directory} (logs in {Logs})").ConfigureAwait(false);
            }

            var setup = Setup(cancellationToken);
            if (_options.ServesDashboard)
            {
                var dashboard = await StartDashboardAsync(setup, cancellationToken).ConfigureAwait(false);
                if (!_options.Json)
                {
                    await _io.Error.WriteLineAsync($"Dashboard: {dashboard} (open it in a browser; it is served while the demo runs)").ConfigureAwait(false);
                }
            }

            var state = new DemoState(Title(setup), setup.Nodes, _directory);
            view.Start(state);
            var summary = await RunSwarmAsync(setup, state, cancellationToken).ConfigureAwait(false);
            await view.StopAsync().ConfigureAwait(false);
            succeeded = summary.Identical;
            summary = summary with { Kept = !succeeded || !_madeHere || _options.Keep };
            if (summary.Kept)
            {
                await File.WriteAllTextAsync(Path.Combine(_directory, "summary.json"), CliIo.ToJson(summary), cancellationToken).ConfigureAwait(false);
            }

            if (_options.Json)
            {
                _io.WriteJson(summary);
            }
            else
            {
                await _io.Out.WriteLineAsync().ConfigureAwait(false);
                summary.WriteTable(_io.Out);
            }

            if (!succeeded)
            {
                await _io.Error.WriteLineAsync($"error: the nodes ended with different final models; the logs are in {Logs}").ConfigureAwait(false);
                return SwarmCli.Failure;
            }

            return SwarmCli.Success;
        }
        catch (OperationCanceledException) when (_children.Count > 0)
        {
            await StopEverythingAsync(view).ConfigureAwait(false);
            await _io.Error.WriteLineAsync($"The demo stopped every process it started; the logs are in {Logs}").ConfigureAwait(false);
            throw;
        }
        catch (SwarmException e) when (_children.Count > 0)
        {
            await StopEverythingAsync(view).ConfigureAwait(false);
            throw new SwarmException($"{e.Message}{Environment.NewLine}The demo stopped every process it started; the logs are in {Logs}", e);
        }
        finally
        {
            await StopEverythingAsync(view).ConfigureAwait(false);
            await view.DisposeAsync().ConfigureAwait(false);

            // A run that failed before any process started (no data, say) has no logs worth keeping.
            if ((succeeded || _children.Count == 0) && _madeHere && !_options.Keep)
            {
                TryDelete(_directory);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopDashboardAsync().ConfigureAwait(false);
        foreach (var child in _children)
        {
            await child.DisposeAsync().ConfigureAwait(false);
        }

        if (_socketDirectory is not null)
        {
            TryDelete(_socketDirectory);
        }
    }

    /// <summary>The demo's directory: the one given (new or empty), or a fresh one under the temporary directory.</summary>
    private static (string Directory, bool MadeHere) PrepareDirectory(string? given)
    {
        if (given is null)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"swarm-demo-{DateTime.Now:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");
            var fresh = Path.Combine(Path.GetTempPath(), name);
            CreatePrivateDirectory(fresh);
            return (fresh, true);
        }

        var full = Path.GetFullPath(given);
        if (File.Exists(full))
        {
            throw new SwarmException($"{given}: is a file; give --dir a new or empty directory for the demo's certificates, data, ledgers and logs");
        }

        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new SwarmException($"{given}: the directory is not empty; give --dir a new or empty directory (the demo writes certificates, data, ledgers and logs there)");
        }

        try
        {
            CreatePrivateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{given}: cannot create the demo's directory: {e.Message}; choose another with --dir", e);
        }

        return (full, false);
    }

    /// <summary>What the demo sets up before any process starts: identities, data, ports.</summary>
    private sealed record DemoSetup(
        string Certs,
        IReadOnlyList<NodeState> Nodes,
        IReadOnlyList<string> DataDirectories,
        IReadOnlyList<string> Sockets,
        int ApiPort,
        int PeerPort,
        IReadOnlyList<int> FilePorts,
        int SyncFrequency);

    private DemoSetup Setup(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Logs);
        Directory.CreateDirectory(Path.Combine(_directory, "models"));
        var n = _options.Nodes;
        var names = Enumerable.Range(1, n).Select(i => string.Create(CultureInfo.InvariantCulture, $"sl{i}")).ToArray();

        // A fresh CA and an identity per component, as 'swarm certs init' and 'swarm certs issue' make them.
        var certs = Path.Combine(_directory, "certs");
        var fingerprints = new List<string>();
        using (var ca = CertificateAuthority.Create("demo", TimeSpan.FromDays(7)))
        {
            ca.Save(Path.Combine(certs, "ca.crt"), Path.Combine(certs, "ca.key"));
            Issue(ca, certs, SwarmRole.Sn, "sn0");
            Issue(ca, certs, SwarmRole.Swci, "swci");
            fingerprints.AddRange(names.Select(name => Issue(ca, certs, SwarmRole.Sl, name)));
        }

        // HPE's biased split, as 'swarm data split --method biased' makes it.
        cancellationToken.ThrowIfCancellationRequested();
        var split = DataSplitter.Split(
            _options.Data, Path.Combine(_directory, "data"), n, new PartitionOptions { Method = PartitionMethod.Biased, Seed = _options.Seed }, cancellationToken: cancellationToken);
        var samples = split.Partition.Nodes.Select(p => p.Length).ToArray();
        var syncFrequency = _options.EffectiveSyncFrequency(samples.Min());
        var nodes = names.Select((name, k) => new NodeState
        {
            Name = name,
            Fingerprint = fingerprints[k],
            Samples = _options.TrainedSamples(samples[k]),
            FavouredClasses = split.Partition.FavouredClasses?[k] ?? [],
            BatchesPerEpoch = _options.BatchesPerEpoch(samples[k]),
            Epochs = _options.Epochs,
        }).ToList();

        var ports = FreeLoopbackPorts(n + 2);
        return new DemoSetup(certs, nodes, split.NodeDirectories, Sockets(names), ports[0], ports[1], ports[2..], syncFrequency);
    }

    private static string Issue(CertificateAuthority ca, string certs, SwarmRole role, string name)
    {
        using var identity = ca.Issue(role, name, [], TimeSpan.FromDays(7));
        identity.Save(Path.Combine(certs, $"{name}.crt"), Path.Combine(certs, $"{name}.key"));
        return identity.Fingerprint.ToString();
    }

    /// <summary>
    /// The SL nodes' sockets: in their own directories, unless that path is too long for a Unix socket (about 100
    /// bytes); then in a short directory of their own under the temporary directory.
    /// </summary>
    private List<string> Sockets(string[] names)
    {
        var inPlace = names.Select(name => Path.Combine(_directory, name, "ml.sock")).ToList();
        if (inPlace.All(s => Encoding.UTF8.GetByteCount(s) <= 100))
        {
            return inPlace;
        }

        _socketDirectory = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"swarm-demo-{Environment.ProcessId}"));
        CreatePrivateDirectory(_socketDirectory);
        return [.. names.Select(name => Path.Combine(_socketDirectory, $"{name}.sock"))];
    }

    /// <summary>
    /// Free TCP ports on 127.0.0.1, as the OS hands them out. All are held open until every one is picked, so they
    /// differ; another program could still take one before a child binds it, and that child then fails with its log.
    /// </summary>
    private static List<int> FreeLoopbackPorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    private string Title(DemoSetup setup)
    {
        var limit = _options.Limit is { } l ? string.Create(CultureInfo.InvariantCulture, $" · at most {l:N0} samples per node") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"{_options.Nodes} nodes · Fashion-MNIST, biased split{limit} · {_options.Model} · {_options.Epochs} epoch(s) · {_options.MergeMethod}{(_options.MergeMomentum > 0 ? FormattableString.Invariant($" with momentum {_options.MergeMomentum:0.###}") : "")} · sync every {setup.SyncFrequency} batches");
    }

    /// <summary>Creates a directory only this user can enter: it holds the CA's key and the identities' keys.</summary>
    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the OS to clean (it is under the temporary directory); the run itself succeeded.
        }
    }
}
