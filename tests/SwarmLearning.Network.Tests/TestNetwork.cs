using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Real SN hosts on loopback for integration tests: a CA made in the test, identities issued by it, free ports, Kestrel
/// with mutual TLS. Waits are on ledger growth, each with a bound and a message saying what did not happen. Every
/// identity issued here is enrolled, unless a test asks for one that is not: those issued before a sentinel starts
/// by its genesis, later ones at once by every running sentinel (an administrator).
/// </summary>
internal sealed class TestNetwork : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, SwarmIdentity> _identities = [];
    private readonly HashSet<string> _unenrolled = new(StringComparer.Ordinal);
    private readonly List<RunningNetworkNode> _nodes = [];
    private readonly List<SwarmNetworkClient> _clients = [];

    public TestNetwork(LedgerDefaults? defaults = null)
    {
        Defaults = defaults ?? new LedgerDefaults();
        Ca = CertificateAuthority.Create("it", TimeSpan.FromDays(30));
        Trust = new SwarmTrust([Ca.Certificate]);
    }

    public TempDirectory Directory { get; } = new();

    public CertificateAuthority Ca { get; }

    public SwarmTrust Trust { get; }

    public LedgerDefaults Defaults { get; }

    /// <summary>What every node started here logged at warning level and above.</summary>
    public CollectedLogs Logs { get; } = new();

    public SwarmIdentity Identity(string name, SwarmRole role = SwarmRole.Sn, bool enrol = true)
    {
        if (!_identities.TryGetValue(name, out var id))
        {
            id = Ca.Issue(role, name, ["localhost", "127.0.0.1"], TimeSpan.FromDays(7));
            _identities[name] = id;
            if (!enrol)
            {
                _unenrolled.Add(name);
            }
            else
            {
                // On every running sentinel: a test may run two swarms of one CA.
                foreach (var sentinel in _nodes.Where(n => n.Node.Options.Sentinel).ToList())
                {
#pragma warning disable VSTHRD002 // a test harness without a synchronization context; the enrolment is one block on loopback
                    Task.Run(() => EnrolAsync(sentinel, id)).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
                }
            }
        }

        return id;
    }

    /// <summary>The enrolment of <paramref name="id"/>, with the role and name of its certificate.</summary>
    public static EnrolPayload Enrolment(SwarmIdentity id) =>
        new() { Fingerprint = id.Fingerprint.ToString(), Role = SwarmRoles.ToName(id.Role), Name = id.Name, Note = "test identity" };

    private static async Task EnrolAsync(RunningNetworkNode sentinel, SwarmIdentity id)
    {
        var state = sentinel.Node.Chain.State;
        if (state is null || !state.Enrolments.ContainsKey(id.Fingerprint))
        {
            await sentinel.Node.EnrolAsync(Enrolment(id)).WaitAsync(Patience).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A loopback port free right now and not handed out before in this test run: the kernel can give the same
    /// ephemeral port to two listeners opened one after the other, and a test that asks for an API and a peer port
    /// must get two (a CrashTests run once got 39435 twice).
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, 0))
            {
                return port;
            }
        }

        throw new InvalidOperationException("the kernel kept offering loopback ports this test run has already handed out");
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    public SwarmNetworkOptions Options(string name, bool sentinel, RunningNetworkNode? join = null, string? directory = null)
    {
        var options = new SwarmNetworkOptions
        {
            DataDirectory = directory ?? Directory.File(name),
            Sentinel = sentinel,
            Join = join is null ? null : $"localhost:{join.Node.Options.PeerPort}",
            Host = "localhost",
            ApiPort = FreePort(),
            PeerPort = FreePort(),
            SwarmName = "it",
            Defaults = Defaults,
        };
        return options;
    }

    public async Task<RunningNetworkNode> StartAsync(SwarmNetworkOptions options, string name)
    {
        var identity = Identity(name);
        if (options.Sentinel)
        {
            // Genesis enrols every identity issued so far; a sentinel that reopens a ledger enrols the missing ones below.
            foreach (var (_, id) in _identities.Where(i => !_unenrolled.Contains(i.Key) && options.Enrolled.All(e => e.Fingerprint != i.Value.Fingerprint.ToString())))
            {
                options.Enrolled.Add(Enrolment(id));
            }
        }

        var node = await SwarmNetworkHost.StartAsync(options, identity, Trust, logging => logging.SetMinimumLevel(LogLevel.Warning).AddProvider(Logs)).ConfigureAwait(false);
        _nodes.Add(node);
        await node.Node.Ready.WaitAsync(Patience).ConfigureAwait(false);
        if (options.Sentinel)
        {
            foreach (var (_, id) in _identities.Where(i => !_unenrolled.Contains(i.Key)).ToList())
            {
                await EnrolAsync(node, id).ConfigureAwait(false);
            }
        }

        return node;
    }

    public Task<RunningNetworkNode> StartSentinelAsync(string name = "sn0") => StartAsync(Options(name, sentinel: true), name);

    /// <summary>Starts a follower joined through <paramref name="join"/> and waits until the sentinel lists it as a member.</summary>
    public async Task<RunningNetworkNode> StartFollowerAsync(string name, RunningNetworkNode join, RunningNetworkNode sentinel)
    {
        var node = await StartAsync(Options(name, sentinel: false, join), name).ConfigureAwait(false);
        var id = Identity(name);
        await WaitUntilAsync(sentinel.Node.Chain, s => s.Members.ContainsKey(id.Fingerprint), $"SN '{name}' registered on the sentinel's ledger").ConfigureAwait(false);
        return node;
    }

    public SwarmNetworkClient Client(RunningNetworkNode node, string identity, SwarmRole role, bool enrol = true) => Client(node.Node.Options.ApiPort, identity, role, enrol);

    public SwarmNetworkClient Client(int apiPort, string identity, SwarmRole role, bool enrol = true)
    {
        var client = new SwarmNetworkClient(new Uri($"https://localhost:{apiPort}"), Identity(identity, role, enrol), Trust);
        _clients.Add(client);
        return client;
    }

    /// <summary>Waits, block by block, until <paramref name="condition"/> holds on <paramref name="chain"/>'s state.</summary>
    public static async Task WaitUntilAsync(LedgerChain chain, Func<Ledger.Contracts.LedgerState, bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (chain.State is not { } state || !condition(state))
            {
                await chain.WaitForHeightAsync(chain.Height + 1, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"timed out after {Patience.TotalSeconds} s waiting for: {what} (height {chain.Height})");
        }
    }

    public static async Task WaitForHeightAsync(LedgerChain chain, long height, string who)
    {
        try
        {
            await chain.WaitForHeightAsync(height, CancellationToken.None).WaitAsync(Patience).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out after {Patience.TotalSeconds} s waiting for {who} to reach height {height} (it is at {chain.Height})");
        }
    }

    public async Task StopAsync(RunningNetworkNode node)
    {
        _nodes.Remove(node);
        await node.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }

        foreach (var n in Enumerable.Reverse(_nodes))
        {
            await n.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var id in _identities.Values)
        {
            id.Dispose();
        }

        Ca.Dispose();
        Directory.Dispose();
    }
}
