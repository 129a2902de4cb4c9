using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Network.Tests;
using SwarmLearning.Node.Hosting;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests.Harness;

/// <summary>
/// A sentinel SN (the Network tests' <see cref="TestNetwork"/>) and SL hosts started in-process on loopback, each with
/// its own certificate, data directory, free file port and Unix socket; their logs go to the test's output.
/// </summary>
internal sealed class TestSwarm : IAsyncDisposable
{
    private readonly List<RunningLearningNode> _nodes = [];
    private readonly List<IDisposable> _owned = [];
    private readonly List<SlProcess> _processes = [];
    private string? _certificates;

    private TestSwarm(TestNetwork net, RunningNetworkNode sentinel, TestLog log)
    {
        Net = net;
        Sentinel = sentinel;
        Log = log;
    }

    /// <summary>Short timings, so rounds close and nodes count as gone quickly.</summary>
    public static LedgerDefaults Fast { get; } = new() { FullQuorumWaitSeconds = 2, MemberTimeoutSeconds = 5, MergeTimeoutSeconds = 60 };

    public TestNetwork Net { get; }

    public RunningNetworkNode Sentinel { get; }

    public TestLog Log { get; }

    public SwarmTrust Trust => Net.Trust;

    public static async Task<TestSwarm> StartAsync(ITestOutputHelper? output, LedgerDefaults? defaults = null)
    {
        var net = new TestNetwork(defaults ?? Fast);
        try
        {
            var sentinel = await net.StartSentinelAsync();
            return new TestSwarm(net, sentinel, new TestLog(output));
        }
        catch
        {
            await net.DisposeAsync();
            throw;
        }
    }

    public SwarmIdentity Identity(string name) => Net.Identity(name, SwarmRole.Sl);

    /// <summary>
    /// <paramref name="names"/> ordered by their identities' leader rank in round <paramref name="round"/> of the HPE
    /// default contract (docs/ledger.md, "Leader order": the first 8 bytes of SHA-256(contract ‖ round ‖ fingerprint)),
    /// lowest first: the first leads that round among them. Every run makes fresh identities, so a test that needs a
    /// given host to lead picks its name from here rather than trying names against a fixed one (which fails whenever
    /// the fixed one happens to rank first).
    /// </summary>
    public string[] ByLeaderRank(long round, params string[] names) =>
        [.. names.OrderBy(n => LeaderRank(LedgerDefaults.HpeDefaultContract, round, Identity(n).Fingerprint))];

    /// <summary>
    /// A participant driven by hand: SL member 'late', registered and ready for <paramref name="round"/> of the HPE
    /// default contract (minPeers 3, never leading), that submits nothing. The round's leader then waits for it, up to
    /// the submission wait, with the other submissions in hand: a test can act while the merge is pending.
    /// </summary>
    public async Task<Network.Client.SwarmNetworkClient> ReadyLateParticipantAsync(long round)
    {
        var late = Net.Client(Sentinel, "late", SwarmRole.Sl);
        await late.SubmitAsync(TransactionTypes.Register, new RegisterPayload
        {
            Role = "sl",
            Name = "late",
            Certificate = Convert.ToBase64String(late.Identity.Certificate.RawData),
            Host = "localhost",
            FilePort = TestNetwork.FreePort(),
        }, PayloadJson.Default.RegisterPayload);
        await late.SubmitAsync(TransactionTypes.RoundReady, new ReadyPayload { Contract = LedgerDefaults.HpeDefaultContract, Round = round, Weight = 1, MinPeers = 3, MakeMeAdmin = false }, PayloadJson.Default.ReadyPayload);
        return late;
    }

    /// <summary>Waits until the sentinel's chain has round <paramref name="round"/> closed with submissions from all of <paramref name="members"/>.</summary>
    public Task WaitForSubmissionsAsync(long round, params Fingerprint[] members) =>
        TestNetwork.WaitUntilAsync(Sentinel.Node.Chain, s => s.Contracts[LedgerDefaults.HpeDefaultContract].Round is { Phase: RoundPhase.Closed } r
            && r.Number == round && members.All(r.Submissions.ContainsKey), $"{members.Length} hosts submitted to round {round}");

    /// <summary>The ledger's leader rank of <paramref name="member"/> in a contract's round.</summary>
    public static ulong LeaderRank(string contract, long round, Fingerprint member)
    {
        var name = Encoding.UTF8.GetBytes(contract);
        var input = new byte[name.Length + 8 + Fingerprint.Size];
        name.CopyTo(input, 0);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(name.Length), round);
        member.CopyTo(input.AsSpan(name.Length + 8));
        return BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(input));
    }

    public SwarmLearningNodeOptions Options(string name) => new()
    {
        DataDirectory = Net.Directory.File(name),
        SwarmNetwork = $"localhost:{Sentinel.Node.Options.ApiPort}",
        FilePort = TestNetwork.FreePort(),
        Host = "localhost",
    };

    /// <summary>Starts an SL host and, unless told otherwise, waits until the ledger lists it.</summary>
    public async Task<RunningLearningNode> StartSlAsync(string name, SwarmLearningNodeOptions? options = null, bool waitForRegistration = true)
    {
        var node = await SwarmLearningHost.StartAsync(options ?? Options(name), Identity(name), Trust, logging => Log.Configure(logging, name));
        _nodes.Add(node);
        if (waitForRegistration)
        {
            await WaitForRegistrationAsync(node);
        }

        return node;
    }

    public static async Task WaitForRegistrationAsync(RunningLearningNode node)
    {
        try
        {
            await node.Registered.WaitAsync(TestNetwork.Patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"SL node '{node.Node.Identity.Name}' did not register within {TestNetwork.Patience.TotalSeconds} s (its replica is at height {node.Node.Ledger.Height})");
        }
    }

    /// <summary>Waits, block by block, until the SL node's own replica satisfies <paramref name="condition"/>.</summary>
    public static Task WaitUntilAsync(RunningLearningNode node, Func<LedgerState, bool> condition, string what) =>
        TestNetwork.WaitUntilAsync(node.Node.Ledger.Chain, condition, what);

    public ChannelClient Channel(RunningLearningNode node) => Channel(node.SocketPath);

    public ChannelClient Channel(string socketPath) => Own(new ChannelClient(socketPath));

    /// <summary>
    /// Starts SL nodes as real <c>swarm sl</c> processes (in parallel) and waits until each serves and is on the
    /// ledger. Their identities are issued by the test's CA and written, with the CA certificate, to a certs directory.
    /// </summary>
    public async Task<SlProcess[]> StartSlProcessesAsync(params string[] names)
    {
        var certificates = Certificates(names);
        var processes = names.Select(name => new SlProcess(this, name, certificates, makeMeAdmin: true)).ToArray();
        _processes.AddRange(processes);
        await Task.WhenAll(processes.Select(p => p.StartAsync()));
        return processes;
    }

    private string Certificates(IEnumerable<string> names)
    {
        _certificates ??= Net.Directory.File("certs");
        Directory.CreateDirectory(_certificates);
        File.WriteAllText(Path.Combine(_certificates, "ca.crt"), Net.Ca.Certificate.ExportCertificatePem());
        foreach (var name in names)
        {
            var crt = Path.Combine(_certificates, $"{name}.crt");
            if (!File.Exists(crt))
            {
                Identity(name).Save(crt, Path.Combine(_certificates, $"{name}.key"));
            }
        }

        return _certificates;
    }

    /// <summary>An HTTPS client of SL file servers, presenting <paramref name="identity"/>.</summary>
    public HttpClient FileClient(SwarmIdentity identity) =>
        Own(new HttpClient(SwarmTls.CreateClientHandler(identity, Trust, SwarmRole.Sl), disposeHandler: true) { Timeout = TestNetwork.Patience });

    public async Task StopAsync(RunningLearningNode node)
    {
        _nodes.Remove(node);
        await node.DisposeAsync();
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }

        foreach (var p in _processes)
        {
            await p.DisposeAsync();
        }

        foreach (var n in Enumerable.Reverse(_nodes))
        {
            await n.DisposeAsync();
        }

        await Net.DisposeAsync();
    }
}
