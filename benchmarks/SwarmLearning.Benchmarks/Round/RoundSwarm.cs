using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// One cell's swarm: a fresh CA, a sentinel SN in this process (its chain is watched block by block), and N SL nodes
/// as separate <c>swarm sl</c> processes, each with its own certificate, data directory, file port and socket; this
/// process plays their N ML programs over the sockets. Every wait has a bound and prints a progress line on stderr.
/// </summary>
internal sealed class RoundSwarm : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The run stops (kills its SL processes) when the machine has less memory available than this: a swarm too big
    /// for the RAM must not push the kernel into killing other people's processes.
    /// </summary>
    private const long MinAvailableBytes = 3L << 30;

    private readonly string _root;
    private readonly string _label;
    private readonly RunningNetworkNode _sn;
    private readonly SwarmIdentity _snIdentity;
    private readonly List<SlProcess> _nodes = [];
    private readonly List<ChannelDriver> _drivers = [];
    private readonly Dictionary<Fingerprint, int> _index = [];

    private RoundSwarm(string root, string label, RunningNetworkNode sn, SwarmIdentity snIdentity)
    {
        _root = root;
        _label = label;
        _sn = sn;
        _snIdentity = snIdentity;
        Watch = new LedgerWatch(sn.Node.Chain, LedgerDefaults.HpeDefaultContract);
    }

    public LedgerWatch Watch { get; }

    public IReadOnlyList<SlProcess> Nodes => _nodes;

    /// <summary>Starts the SN and <paramref name="count"/> SL processes, waits until every node is on the ledger and serves its socket, and opens the sessions.</summary>
    public static async Task<RoundSwarm> StartAsync(string label, int count, string swarmDll, LedgerDefaults defaults, bool verbose, bool tiered, CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "swarm-round-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root); // the identities' keys are written 0600
        var certs = Path.Combine(root, "certs");
        using var ca = CertificateAuthority.Create("round", TimeSpan.FromDays(2));
        ca.Save(Path.Combine(certs, "ca.crt"), Path.Combine(certs, "ca.key"));
        var trust = new SwarmTrust([ca.Certificate]);
        var ports = FreePorts(count + 2);

        var snIdentity = ca.Issue(SwarmRole.Sn, "sn0", ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        RunningNetworkNode sn;
        try
        {
            sn = await SwarmNetworkHost.StartAsync(new SwarmNetworkOptions
            {
                Sentinel = true,
                DataDirectory = Path.Combine(root, "sn0"),
                ApiPort = ports[0],
                PeerPort = ports[1],
                SwarmName = "round",
                Defaults = defaults,
            }, snIdentity, trust, l => l.SetMinimumLevel(LogLevel.Warning), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            snIdentity.Dispose();
            throw;
        }

        var swarm = new RoundSwarm(root, label, sn, snIdentity);
        try
        {
#pragma warning disable VSTHRD003 // the node's own readiness signal
            await sn.Node.Ready.WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
#pragma warning restore VSTHRD003
            for (var k = 0; k < count; k++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"sl{k + 1}");
                using (var identity = ca.Issue(SwarmRole.Sl, name, ["localhost"], TimeSpan.FromDays(1)))
                {
                    identity.Save(Path.Combine(certs, $"{name}.crt"), Path.Combine(certs, $"{name}.key"));
                    swarm._index[identity.Fingerprint] = k;
                    await sn.Node.EnrolAsync(Enrolment(identity), cancellationToken).ConfigureAwait(false); // the sentinel admits it
                }

                var dir = Path.Combine(root, name);
                var socket = Path.Combine(dir, "ml.sock");
                swarm._nodes.Add(SlProcess.Start(name, swarmDll,
                [
                    "sl", "--name", name, "--certs", certs, "--sn", string.Create(CultureInfo.InvariantCulture, $"localhost:{ports[0]}"),
                    "--dir", dir, "--file-port", ports[k + 2].ToString(CultureInfo.InvariantCulture), "--socket", socket,
                    .. verbose ? ["--verbose"] : Array.Empty<string>(),
                ], Path.Combine(root, $"{name}.log"), tiered));
                swarm._drivers.Add(new ChannelDriver(name, socket));
            }

            await swarm.WaitForNodesAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(swarm._drivers.Select(d => d.OpenAsync(count, cancellationToken))).WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
            return swarm;
        }
        catch
        {
            await swarm.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The node a fingerprint belongs to.</summary>
    public int IndexOf(Fingerprint member) => _index[member];

    /// <summary>
    /// Posts every node's model to <paramref name="call"/> at once and waits for every answer (a dead node's excepted).
    /// <paramref name="duringRound"/> runs beside the calls (the failover measurement kills the leader from there).
    /// </summary>
    public async Task<CallTiming?[]> RoundAsync(string call, long round, IReadOnlyList<ModelBytes> models, TimeSpan timeout, Func<CancellationToken, Task>? duringRound, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var cpuBefore = _nodes.Select(n => n.CpuSeconds()).ToArray();
        var driverBefore = DriverCpuSeconds();
        var calls = _drivers.Select((d, k) => Task.Run(() => d.CallAsync(call, models[k], limit.Token), limit.Token)).ToArray();
        var side = duringRound is null ? Task.CompletedTask : Task.Run(() => duringRound(limit.Token), limit.Token);
        var started = Stopwatch.GetTimestamp();
        var lastLine = started;
        var results = new CallTiming?[calls.Length];
        while (true)
        {
            List<Task> pending = [.. calls.Where((c, k) => !c.IsCompleted && !_nodes[k].HasExited)];
            if (pending.Count == 0 && side.IsCompleted)
            {
                break;
            }

            if (!side.IsCompleted)
            {
                pending.Add(side);
            }

            await Task.WhenAny([.. pending, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken)]).ConfigureAwait(false);
            if (MemAvailableBytes() is var available and >= 0 and < MinAvailableBytes)
            {
                var rss = string.Join(", ", _nodes.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n.Name} {n.ResidentBytes() / 1e9:0.0}")));
                throw new MemoryGuardException(string.Create(CultureInfo.InvariantCulture,
                    $"{_label}: {call} of round {round} stopped: only {available / 1e9:0.0} GB of memory left on the machine; resident GB: {rss}"));
            }

            if (side.IsFaulted)
            {
                await side.ConfigureAwait(false);
            }

            var dead = _nodes.FirstOrDefault(n => n.HasExited && n.KilledAt == 0);
            if (dead is not null)
            {
                throw new InvalidOperationException($"{dead.Name} exited during {call} of round {round}; the end of {dead.LogPath}:\n{dead.Tail()}");
            }

            var failed = calls.Select((c, k) => (c, k)).FirstOrDefault(x => x.c.IsFaulted && _nodes[x.k].KilledAt == 0);
            if (failed.c is not null)
            {
                throw new InvalidOperationException($"{_drivers[failed.k].Name}: {call} of round {round} failed: {failed.c.Exception!.InnerException!.Message}; the end of {_nodes[failed.k].LogPath}:\n{_nodes[failed.k].Tail()}",
                    failed.c.Exception);
            }

            if (limit.IsCancellationRequested)
            {
                throw new TimeoutException($"{_label}: {call} of round {round} did not complete within {timeout.TotalSeconds:0} s: {Describe(round, calls)}");
            }

            if (calls.Any(c => !c.IsCompleted) && Stopwatch.GetElapsedTime(lastLine) >= ProgressInterval)
            {
                lastLine = Stopwatch.GetTimestamp();
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"round-overhead: {_label} {call} round {round}, {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s: {Describe(round, calls)}")).ConfigureAwait(false);
            }
        }

        LastNodeCpuSeconds = [.. _nodes.Select((n, k) => n.HasExited ? double.NaN : n.CpuSeconds() - cpuBefore[k])];
        LastDriverCpuSeconds = DriverCpuSeconds() - driverBefore;
        for (var k = 0; k < calls.Length; k++)
        {
            results[k] = calls[k].IsCompletedSuccessfully ? await calls[k].ConfigureAwait(false) : null;
        }

        return results;
    }

    /// <summary>CPU seconds each node's process used during the last <see cref="RoundAsync"/> (NaN for a dead one).</summary>
    public double[] LastNodeCpuSeconds { get; private set; } = [];

    /// <summary>CPU seconds this process (the ML programs and the SN) used during the last <see cref="RoundAsync"/>.</summary>
    public double LastDriverCpuSeconds { get; private set; }

    internal static double DriverCpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>Peak resident memory (VmHWM) of each node's process, in bytes (-1 for a process that is gone).</summary>
    public long[] PeakResidentBytes() => [.. _nodes.Select(n => n.PeakResidentBytes())];

    private string Describe(long round, Task<CallTiming>[] calls)
    {
        var answered = calls.Count(c => c.IsCompletedSuccessfully);
        var contract = Watch.Contract;
        var state = Watch.State;
        var ledger = "no contract yet";
        if (contract is not null && state is not null)
        {
            var r = contract.Round;
            var leader = r.Leader is { } l && state.Members.TryGetValue(l, out var m) ? m.Name : "none";
            ledger = string.Create(CultureInfo.InvariantCulture,
                $"ledger round {r.Number} {r.Phase.ToString().ToLowerInvariant()}, {r.Ready.Count} ready, {r.Submissions.Count}/{r.Participants.Count} submitted, leader {leader}, last merged round {contract.LastMerged?.Round.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{answered}/{calls.Length} answers (round {round}); {ledger}");
    }

    private async Task WaitForNodesAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var lastLine = started;
        while (true)
        {
            var state = Watch.State;
            var registered = state is null ? 0 : _index.Keys.Count(state.IsActive);
            var sockets = _drivers.Count(d => File.Exists(Path.Combine(_root, d.Name, "ml.sock")));
            if (registered == _nodes.Count && sockets == _nodes.Count)
            {
                return;
            }

            if (_nodes.FirstOrDefault(n => n.HasExited) is { } dead)
            {
                throw new InvalidOperationException($"{dead.Name} exited while starting; the end of {dead.LogPath}:\n{dead.Tail()}");
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed > StartTimeout)
            {
                throw new TimeoutException($"{_label}: only {registered} of {_nodes.Count} SL nodes registered and {sockets} opened their sockets within {StartTimeout.TotalSeconds:0} s; logs in {_root}");
            }

            if (Stopwatch.GetElapsedTime(lastLine) > ProgressInterval)
            {
                lastLine = Stopwatch.GetTimestamp();
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"round-overhead: {_label} starting, {elapsed.TotalSeconds:0} s: {registered}/{_nodes.Count} SL nodes registered, {sockets} sockets open")).ConfigureAwait(false);
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>MemAvailable from /proc/meminfo, in bytes, or -1.</summary>
    internal static long MemAvailableBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    return long.Parse(line["MemAvailable:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    private static List<int> FreePorts(int count)
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

    /// <summary>Kills every SL process, stops the SN and deletes the swarm's directory (logs of a failed run are kept).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var d in _drivers)
        {
            d.Dispose();
        }

        foreach (var n in _nodes)
        {
            n.Dispose();
        }

        await Watch.DisposeAsync().ConfigureAwait(false);
        await _sn.DisposeAsync().ConfigureAwait(false);
        _snIdentity.Dispose();
        try
        {
            if (KeepLogs)
            {
                // The models are gigabytes; the logs say what went wrong.
                foreach (var dir in Directory.EnumerateDirectories(_root).Where(d => Path.GetFileName(d) != "certs"))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            else
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Keep the node logs after the run (set when something failed), in <see cref="Root"/>.</summary>
    public bool KeepLogs { get; set; }

    /// <summary>The swarm's directory: certificates, the SN's ledger, the nodes' directories and logs.</summary>
    public string Root => _root;

    private static EnrolPayload Enrolment(SwarmIdentity identity) =>
        new() { Fingerprint = identity.Fingerprint.ToString(), Role = SwarmRoles.ToName(identity.Role), Name = identity.Name, Note = "round-overhead" };
}

/// <summary>A swarm was stopped because the machine was running out of memory.</summary>
internal sealed class MemoryGuardException(string message) : Exception(message);
