using SwarmLearning.Identity;
using SwarmLearning.Network.Tests;

namespace SwarmLearning.Node.Tests.Harness;

/// <summary>
/// An SL node run as a real <c>swarm sl</c> process (the CLI built next to these tests) against a
/// <see cref="TestSwarm"/>'s in-process sentinel, with an identity issued by the test's CA. It can be killed with
/// SIGKILL and started again on the same data directory and file port. Its output goes to the swarm's log, under
/// its name.
/// </summary>
internal sealed class SlProcess : IAsyncDisposable
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(90);
    private readonly TestSwarm _swarm;
    private readonly string _certificates;
    private SwarmProcess? _process;

    public SlProcess(TestSwarm swarm, string name, string certificates, bool makeMeAdmin)
    {
        _swarm = swarm;
        _certificates = certificates;
        Name = name;
        MakeMeAdmin = makeMeAdmin;
        Fingerprint = swarm.Identity(name).Fingerprint;
        DataDirectory = swarm.Net.Directory.File(name);
        FilePort = TestNetwork.FreePort();
    }

    public string Name { get; }

    public Fingerprint Fingerprint { get; }

    public string DataDirectory { get; }

    public int FilePort { get; }

    public bool MakeMeAdmin { get; }

    public string SocketPath => Path.Combine(DataDirectory, "ml.sock");

    /// <summary>
    /// Starts the process (again, after a kill: same directory, same port) and waits until it serves its socket and
    /// the sentinel's ledger lists it with its file server.
    /// </summary>
    public async Task StartAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _process = SwarmProcess.Start(
            ["sl", "--name", Name, "--certs", _certificates, "--dir", DataDirectory,
             "--sn", $"localhost:{_swarm.Sentinel.Node.Options.ApiPort}", "--file-port", $"{FilePort}", "--host", "localhost",
             "--make-me-admin", MakeMeAdmin ? "true" : "false"],
            line => _swarm.Log.Add(Name, line));
        await _process.WaitForLineAsync(l => l.Contains($"SL node '{Name}'", StringComparison.Ordinal) && l.Contains("serving", StringComparison.Ordinal), $"SL node '{Name}' to serve", Startup);
        await TestNetwork.WaitUntilAsync(_swarm.Sentinel.Node.Chain,
            s => s.Members.TryGetValue(Fingerprint, out var m) && m.FilePort == FilePort && s.IsActive(Fingerprint),
            $"SL node '{Name}' registered and heartbeating on the sentinel's ledger");
    }

    /// <summary>SIGKILL: no shutdown code runs; the socket file, the ledger replica and the models stay as they were.</summary>
    public void Kill() => _process?.KillHard();

    public ChannelClient Channel() => _swarm.Channel(SocketPath);

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
