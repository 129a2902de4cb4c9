using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network;
using SwarmLearning.Network.Client;
using SwarmLearning.Network.Hosting;

namespace SwarmLearning.Cli.Tests.Ctl;

/// <summary>
/// A real sentinel SN on loopback with identities made by <c>swarm certs</c> in the test: 'admin' (SWCI, an
/// administrator) for ctl, two operators 'swop1' and 'swop2' and an SL node 'sl1' whose sides the tests play by
/// submitting their transactions, and a contexts file of its own.
/// </summary>
internal sealed class CtlSwarm : IAsyncDisposable
{
    private readonly CliHarness _harness = new();
    private readonly List<IDisposable> _owned = [];

    private CtlSwarm()
    {
    }

    public string Directory => _harness.Directory;

    public string Certs => Path.Combine(Directory, "certs");

    public string Config => Path.Combine(Directory, "config", "contexts.json");

    public string LedgerDirectory => Path.Combine(Directory, "sn0");

    public string Sn { get; private set; } = "";

    public int ApiPort { get; private set; }

    public RunningNetworkNode Node { get; private set; } = null!;

    public LedgerState State => Node.Node.Chain.State!;

    public static async Task<CtlSwarm> StartAsync()
    {
        var swarm = new CtlSwarm();
        await swarm.StartSentinelAsync();
        return swarm;
    }

    private async Task StartSentinelAsync()
    {
        Assert.Equal(0, (await CliHarness.RunAsync("certs", "init", "--dir", Certs)).Code);
        foreach (var (role, name) in new[] { ("sn", "sn0"), ("swci", "admin"), ("swop", "swop1"), ("swop", "swop2"), ("sl", "sl1") })
        {
            Assert.Equal(0, (await CliHarness.RunAsync("certs", "issue", "--role", role, "--name", name, "--dir", Certs)).Code);
        }

        ApiPort = FreePort();
        Sn = $"127.0.0.1:{ApiPort}";
        var options = new SwarmNetworkOptions { Sentinel = true, DataDirectory = LedgerDirectory, ApiPort = ApiPort, PeerPort = FreePort() };
        options.Administrators.Add(CertificateSummary.Read(Path.Combine(Certs, "admin.crt"))[0].Fingerprint.ToString());
        foreach (var (role, name) in new[] { ("swop", "swop1"), ("swop", "swop2"), ("sl", "sl1") })
        {
            options.Enrolled.Add(new EnrolPayload { Fingerprint = CertificateSummary.Read(Path.Combine(Certs, $"{name}.crt"))[0].Fingerprint.ToString(), Role = role, Name = name });
        }

        var identity = Own(SwarmIdentity.Load(Path.Combine(Certs, "sn0.crt"), Path.Combine(Certs, "sn0.key")));
        Node = await SwarmNetworkHost.StartAsync(options, identity, SwarmTrust.Load(Path.Combine(Certs, "ca.crt")));
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <c>swarm ctl ARGS</c> in-process as 'admin' on this SN, with this swarm's contexts file.</summary>
    public Task<(int Code, string Out, string Error)> CtlAsync(params string[] args) =>
        CliHarness.RunAsync(["ctl", .. args, "--config", Config, "--sn", Sn, "--certs", Certs, "--name", "admin"]);

    /// <summary>Runs <c>swarm ctl ARGS --json</c>, asserts success and parses the output.</summary>
    public async Task<JsonElement> CtlJsonAsync(params string[] args)
    {
        var (code, output, error) = await CtlAsync([.. args, "--json"]);
        Assert.True(code == 0, $"swarm ctl {string.Join(' ', args)} failed ({code}): {error}");
        using var json = JsonDocument.Parse(output);
        return json.RootElement.Clone();
    }

    /// <summary>A client of the SN as one of the identities, registered.</summary>
    public async Task<SwarmNetworkClient> MemberAsync(string name)
    {
        var identity = Own(SwarmIdentity.Load(Path.Combine(Certs, $"{name}.crt"), Path.Combine(Certs, $"{name}.key")));
        var client = Own(new SwarmNetworkClient(new Uri($"https://{Sn}"), identity, SwarmTrust.Load(Path.Combine(Certs, "ca.crt"))));
        var members = await client.GetMembersAsync();
        if (!members.Exists(m => m.Fingerprint == identity.Fingerprint.ToString()))
        {
            await client.SubmitAsync(TransactionTypes.Register, new RegisterPayload
            {
                Role = SwarmRoles.ToName(identity.Role),
                Name = identity.Name,
                Certificate = Convert.ToBase64String(identity.Certificate.RawData),
                Host = "127.0.0.1",
            }, PayloadJson.Default.RegisterPayload);
        }

        return client;
    }

    /// <summary>An operator's report on a task runner's task.</summary>
    public static Task ReportAsync(SwarmNetworkClient swop, string runner, string state, string message) =>
        swop.SubmitAsync(TransactionTypes.TaskRunnerReport, new TaskReportPayload { Runner = runner, State = state, Message = message }, PayloadJson.Default.TaskReportPayload);

    /// <summary>Plays an SL node through a whole (one-round) training on a contract: join, ready, progress, end; the contract completes.</summary>
    public static async Task TrainAsync(SwarmNetworkClient sl, string contract, double loss, double metric)
    {
        await sl.SubmitAsync(TransactionTypes.TrainingJoin, new ContractPayload { Contract = contract }, PayloadJson.Default.ContractPayload);
        await sl.SubmitAsync(TransactionTypes.RoundReady, new ReadyPayload { Contract = contract, Round = 1, Weight = 1, MinPeers = 1 }, PayloadJson.Default.ReadyPayload);
        await sl.SubmitAsync(TransactionTypes.Progress, new ProgressPayload { Contract = contract, Loss = loss, Metric = metric, EpochsDone = 2, TotalEpochs = 2 }, PayloadJson.Default.ProgressPayload);
        await sl.SubmitAsync(TransactionTypes.TrainingEnd, new TrainingEndPayload { Contract = contract, Mode = "snapshot" }, PayloadJson.Default.TrainingEndPayload);
    }

    /// <summary>Writes an HPE-style task definition (HPE's examples' shape) and returns its path.</summary>
    public string TaskFile(string name, string type = "RUN_SWARM", string? directory = null)
    {
        var dir = directory ?? Path.Combine(Directory, "taskdefs");
        System.IO.Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{name}.yaml");
        var body = type == "RUN_SWARM"
            ? """
              Body:
                  Command: model/mnist_pyt.py
                  Entrypoint: python3
                  WorkingDir: /tmp/test
                  Envvars: ["DATA_DIR": app-data, "MODEL_DIR": model, "MAX_EPOCHS": 5, "MIN_PEERS": 2]
                  PrivateContent: /tmp/test/
                  SharedContent:
                  -   Src: /opt/hpe/swarm-learning/examples/mnist-pyt/model
                      Tgt: /tmp/test/model
                      MType: BIND
              """
            : """
              Body:
                  BuildContext: sl-cli-lib
                  BuildSteps:
                  - FROM pytorch/pytorch:1.11.0-cuda11.3-cudnn8-runtime
                  - RUN pip3 install --upgrade pip && pip3 install matplotlib opencv-python pandas protobuf==3.15.6 scikit-learn
                  BuildType: INLINE
              """;
        File.WriteAllText(path, $"""
            ######################################################################
            # (C)Copyright-style header, as in HPE's examples
            ######################################################################
            Name: {name}
            TaskType: {type}
            Author: HPE-TEST
            Prereq: ROOTTASK
            Outcome: {name}
            {body}
            """);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        foreach (var d in _owned)
        {
            d.Dispose();
        }

        _harness.Dispose();
    }
}
