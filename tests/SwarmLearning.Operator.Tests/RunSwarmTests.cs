using System.Diagnostics;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;
using SwarmLearning.Network.Hosting;
using SwarmLearning.Network.Tests;
using SwarmLearning.Operator.Profile;
using SwarmLearning.Operator.Tests.Harness;
using Xunit.Abstractions;

namespace SwarmLearning.Operator.Tests;

/// <summary>
/// RUN_SWARM end to end: a sentinel SN in-process, two operators in-process, each starting a real <c>swarm sl</c> and a
/// real ML program (<c>dotnet swarm.dll train --swarm</c>) on a small CSV data set. The test does what SWCI would:
/// contract, task, task runner, assignment with 2 peers, wait, PERFDATA, reset.
/// </summary>
public sealed class RunSwarmTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private const string Runner = "optest.runner";
    private const string Contract = "optest.contract";
    private const int Epochs = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private static readonly string[] Nodes = ["sl1", "sl2"];
    private readonly TestNetwork _net = new(new LedgerDefaults { FullQuorumWaitSeconds = 2, MemberTimeoutSeconds = 4, MergeTimeoutSeconds = 60 });
    private readonly List<(Task Run, TestOutputLogger Log)> _operators = [];
    private readonly CancellationTokenSource _stop = new();
    private Files? _files;
    private RunningNetworkNode? _sentinel;

    public async Task InitializeAsync()
    {
        // Every identity is issued before the sentinel starts, so genesis enrols them all.
        _files = new Files(_net.Ca);
        foreach (var (name, role) in new[] { ("sl1", SwarmRole.Sl), ("sl2", SwarmRole.Sl), ("swop1", SwarmRole.Swop), ("swop2", SwarmRole.Swop), ("ctl", SwarmRole.Swci) })
        {
            _files.Identity(name, role, _net.Identity(name, role));
        }

        _sentinel = await _net.StartSentinelAsync();
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var (run, _) in _operators)
        {
            try
            {
                await run.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                output.WriteLine($"an operator did not stop in time: {e.Message}");
            }
        }

        await _net.DisposeAsync();
    }

    public void Dispose()
    {
        _stop.Dispose();
        _files?.Dispose();
    }

    private TestOutputLogger StartOperator(string swop, string node, string data, int? snPort = null)
    {
        var path = _files!.Profile(swop, snPort ?? _sentinel!.Node.Options.ApiPort, (node, TestNetwork.FreePort(), data));
        var profile = ProfileLoader.Load(path).Profile with { TaskRunner = Runner };
        var log = new TestOutputLogger(output, swop);
        var options = new OperatorOptions
        {
            Swarm = new SwarmCommand("dotnet", [Path.Combine(AppContext.BaseDirectory, "swarm.dll")]),
            StopGrace = TimeSpan.FromSeconds(5),
            PollWait = TimeSpan.FromSeconds(2),
            HostName = swop,
        };
        _operators.Add((Task.Run(() => new SwarmOperator(profile, options, log).RunAsync(_stop.Token)), log));
        return log;
    }

    private static async Task<JsonElement> RunnerAsync(SwarmNetworkClient ctl) =>
        (await ctl.GetTaskRunnersAsync()).Single(r => r.GetProperty("name").GetString() == Runner);

    /// <summary>Polls <paramref name="read"/> until it holds, at most <see cref="Patience"/>; the operators' logs say why not.</summary>
    private async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > Patience)
            {
                Assert.Fail($"timed out after {Patience.TotalSeconds} s waiting for {what}; last: {value}\n{string.Join('\n', _operators.SelectMany(o => o.Log.Lines.TakeLast(15)))}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    [Fact]
    public async Task Two_operators_run_a_RUN_SWARM_task_with_two_peers_to_completion_and_stop_it_on_reset()
    {
        var log1 = StartOperator("swop1", "sl1", _files!.Data("data1", seed: 1));
        var log2 = StartOperator("swop2", "sl2", _files.Data("data2", seed: 2));
        var ctl = _net.Client(_sentinel!, "ctl", SwarmRole.Swci);
        await ctl.RegisterAsync();

        // What SWCI does: CREATE CONTRACT, CREATE TASK + FINALIZE, CREATE TASKRUNNER, ASSIGN TASK ... WITH 2 PEERS.
        await ctl.SubmitAsync(TransactionTypes.ContractCreate, new NamePayload { Name = Contract }, PayloadJson.Default.NamePayload);
        var body = JsonSerializer.SerializeToElement(new Dictionary<string, object?>
        {
            // The ML program sees its node's private data at PrivateContent, as in a container (docs/operator.md).
            ["Command"] = $"swarm.dll train -d /platform/swarm/data -e {Epochs} -b 16 --threads 1 --swarm --sync-frequency 4 --min-peers 2 --training-contract {Contract}",
            ["Entrypoint"] = "dotnet",
            ["WorkingDir"] = AppContext.BaseDirectory,
            ["Envvars"] = new[] { new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "0" } },
            ["PrivateContent"] = "/platform/swarm/data",
            ["SharedContent"] = null,
        });
        Assert.Empty(Tasks.TaskSchema.ValidateBody("RUN_SWARM", body));
        await ctl.SubmitAsync(TransactionTypes.TaskCreate, new TaskPayload
        {
            Name = "swarm_task",
            TaskType = "RUN_SWARM",
            Author = "test",
            Prereq = "ROOTTASK",
            Outcome = "swarm_task",
            Body = body,
        }, PayloadJson.Default.TaskPayload);
        await ctl.SubmitAsync(TransactionTypes.TaskFinalize, new NamePayload { Name = "swarm_task" }, PayloadJson.Default.NamePayload);
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerCreate, new NamePayload { Name = Runner }, PayloadJson.Default.NamePayload);

        // Both operators are members before the task is assigned: they report on it.
        var swops = new[] { _net.Identity("swop1", SwarmRole.Swop).Fingerprint.ToString(), _net.Identity("swop2", SwarmRole.Swop).Fingerprint.ToString() };
        await UntilAsync(() => ctl.GetMembersAsync(), m => swops.All(s => m.Any(x => x.Fingerprint == s && x.Active)), "both operators to register");
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerAssign, new AssignPayload { Runner = Runner, Task = "swarm_task", Peers = 2 }, PayloadJson.Default.AssignPayload);

        var runner = await UntilAsync(() => RunnerAsync(ctl), r => r.GetProperty("status").GetString() is "completed" or "failed", "the task runner to complete");
        Assert.True(runner.GetProperty("status").GetString() == "completed", $"the task runner failed: {runner}");

        // GET TASKRUNNER PEER STATUS: each operator reported its one SL/ML pair as completed.
        foreach (var (swop, node) in swops.Zip(Nodes))
        {
            var report = runner.GetProperty("reports").GetProperty(swop);
            Assert.Equal("completed", report.GetProperty("state").GetString());
            var peer = Assert.Single(report.GetProperty("peers").EnumerateArray());
            Assert.Equal(node, peer.GetProperty("uid").GetString());
            Assert.Equal("completed", peer.GetProperty("state").GetString());
        }

        // PERFDATA: every node's epochs reached the total, and its loss fell from its first report to its last.
        var contract = await ctl.GetContractAsync(Contract);
        var progress = contract.GetProperty("progress");
        var losses = await LossesAsync(ctl);
        foreach (var node in Nodes)
        {
            var fingerprint = _net.Identity(node, SwarmRole.Sl).Fingerprint.ToString();
            var last = progress.GetProperty(fingerprint);
            Assert.Equal(Epochs, last.GetProperty("totalEpochs").GetInt32());
            Assert.Equal(Epochs, last.GetProperty("epochsDone").GetInt32());
            var series = losses[fingerprint];
            Assert.True(series.Count >= 2, $"{node} reported its loss {series.Count} time(s)");
            Assert.True(series[^1] < series[0], $"{node}'s loss did not fall: {string.Join(", ", series)}");
        }

        // Until the reset, the SL nodes keep running (other nodes of a swarm may still need them): past the member
        // timeout after completion, on the ledger's own clock, they are still active members.
        var completedAt = (await ctl.GetStatusAsync()).Time;
        await UntilAsync(() => ctl.GetStatusAsync(), s => s.Time > completedAt + ((_net.Defaults.MemberTimeoutSeconds + 1) * 1000), "the ledger's clock to pass the member timeout");
        var members = await ctl.GetMembersAsync();
        foreach (var node in Nodes)
        {
            Assert.True(members.Single(m => m.Name == node).Active, $"{node} stopped before the task runner was reset");
        }

        Assert.DoesNotContain(log1.Lines, l => l.Contains("Stopped sl1", StringComparison.Ordinal));

        // RESET TASKRUNNER: the operators stop their SL nodes, which then stop heartbeating.
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerReset, new NamePayload { Name = Runner }, PayloadJson.Default.NamePayload);
        var sls = Nodes.Select(n => _net.Identity(n, SwarmRole.Sl).Fingerprint.ToString()).ToList();
        await UntilAsync(() => ctl.GetMembersAsync(), m => sls.All(s => m.Any(x => x.Fingerprint == s && !x.Active)), "the SL nodes to stop after the reset");
        Assert.Contains(log1.Lines, l => l.Contains("Stopped sl1", StringComparison.Ordinal));
        Assert.Contains(log2.Lines, l => l.Contains("Stopped sl2", StringComparison.Ordinal));
        Assert.Equal("idle", (await RunnerAsync(ctl)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_swci_script_creates_and_assigns_a_RUN_SWARM_task_that_two_operators_complete_reads_PERFDATA_and_resets()
    {
        StartOperator("swop1", "sl1", _files!.Data("data1", seed: 1));
        StartOperator("swop2", "sl2", _files.Data("data2", seed: 2));
        var ctl = _net.Client(_sentinel!, "ctl", SwarmRole.Swci);
        var swops = new[] { _net.Identity("swop1", SwarmRole.Swop).Fingerprint.ToString(), _net.Identity("swop2", SwarmRole.Swop).Fingerprint.ToString() };
        await UntilAsync(() => ctl.GetMembersAsync(), m => swops.All(s => m.Any(x => x.Fingerprint == s && x.Active)), "both operators to register");

        // The task in HPE's YAML, and an HPE-style SWCI script; the operators are real, the script runs as `swarm ctl run`.
        var yaml = _files.Dir.File("swarm_task.yaml");
        await File.WriteAllTextAsync(yaml, $"""
            Name: swarm_task
            TaskType: RUN_SWARM
            Author: test
            Prereq: ROOTTASK
            Outcome: swarm_task
            Body:
              Command: swarm.dll train -d /platform/swarm/data -e {Epochs} -b 16 --threads 1 --swarm --sync-frequency 4 --min-peers 2 --training-contract {Contract}
              Entrypoint: dotnet
              WorkingDir: {AppContext.BaseDirectory}
              Envvars:
                - DOTNET_TieredPGO: "0"
              PrivateContent: /platform/swarm/data
              SharedContent: ~
            """);
        var script = _files.Dir.File("swci-init");
        await File.WriteAllTextAsync(script, $"""
            # HPE's swci-init flow, with this test's SN address
            CREATE CONTEXT test WITH IP localhost {_sentinel!.Node.Options.ApiPort}
            SWITCH CONTEXT test
            EXIT ON FAILURE ON
            CREATE CONTRACT {Contract}
            CREATE TASK FROM {yaml}
            FINALIZE TASK swarm_task
            CREATE TASKRUNNER {Runner}
            ASSIGN TASK swarm_task TO {Runner} WITH 2 PEERS
            WAIT FOR TASKRUNNER {Runner}
            PERFDATA {Contract}
            RESET TASKRUNNER {Runner}
            EXIT
            """);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "swarm.dll"), "ctl", "run", script, "--certs", _files.Certs, "--name", "ctl", "--json" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SWARM_CTL_CONFIG"] = _files.Dir.File("contexts.json");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(Patience))
        {
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"the script did not end within {Patience.TotalSeconds} s:\n{await stderr}\n{string.Join('\n', _operators.SelectMany(o => o.Log.Lines.TakeLast(15)))}");
            }
        }

        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        output.WriteLine(await stderr);
        Assert.True(process.ExitCode == 0, $"swarm ctl run exited {process.ExitCode}: {await stderr}\n{await stdout}");
        Assert.All(lines, l => Assert.True(l.GetProperty("ok").GetBoolean(), l.ToString()));

        // PERFDATA, as the script printed it: both ML nodes at their total epochs.
        var perfdata = lines.Single(l => l.GetProperty("statement").GetString()!.StartsWith("PERFDATA", StringComparison.Ordinal)).GetProperty("result");
        var nodes = perfdata.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(Nodes, nodes.Select(n => n.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.All(nodes, n => Assert.Equal(Epochs, n.GetProperty("epochsDone").GetInt32()));
        Assert.All(nodes, n => Assert.Equal(Epochs, n.GetProperty("totalEpochs").GetInt32()));

        // The losses each node reported along the way fell (the ledger's training.progress history).
        var losses = await LossesAsync(ctl);
        foreach (var node in Nodes)
        {
            var series = losses[_net.Identity(node, SwarmRole.Sl).Fingerprint.ToString()];
            Assert.True(series.Count >= 2 && series[^1] < series[0], $"{node}'s loss did not fall: {string.Join(", ", series)}");
        }

        // The script's RESET TASKRUNNER: the operators stop their SL nodes.
        var sls = Nodes.Select(n => _net.Identity(n, SwarmRole.Sl).Fingerprint.ToString()).ToList();
        await UntilAsync(() => ctl.GetMembersAsync(), m => sls.All(s => m.Any(x => x.Fingerprint == s && !x.Active)), "the SL nodes to stop after the reset");
        Assert.Equal("idle", (await RunnerAsync(ctl)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_operator_that_cannot_reach_its_SN_says_so_once_and_not_at_every_heartbeat()
    {
        // Nothing listens on this port: every registration attempt (one a second) fails the same way.
        var log = StartOperator("swop1", "sl1", _files!.Data("data1", seed: 1), snPort: TestNetwork.FreePort());
        var failed = () => log.Lines.Count(l => l.Contains("Registration or heartbeat failed", StringComparison.Ordinal));
        await UntilAsync(() => Task.FromResult(failed()), n => n >= 1, "the operator to report the failure");

        // Within the 30 s warning interval it says nothing more, though it keeps trying.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(1, failed());
        Assert.Contains(log.Lines, l => l.Contains("Registration or heartbeat failed (1 time(s) in a row", StringComparison.Ordinal) && l.Contains("cannot reach the SN", StringComparison.Ordinal));
    }

    private static async Task CreateTaskAsync(SwarmNetworkClient ctl, string name, string type, object body)
    {
        await ctl.SubmitAsync(TransactionTypes.TaskCreate, new TaskPayload
        {
            Name = name,
            TaskType = type,
            Author = "test",
            Prereq = "ROOTTASK",
            Outcome = name,
            Body = JsonSerializer.SerializeToElement(body),
        }, PayloadJson.Default.TaskPayload);
        await ctl.SubmitAsync(TransactionTypes.TaskFinalize, new NamePayload { Name = name }, PayloadJson.Default.NamePayload);
    }

    [Fact]
    public async Task An_ML_program_that_fails_fails_the_task_with_its_exit_code_and_log_and_a_task_off_schema_is_refused()
    {
        StartOperator("swop1", "sl1", _files!.Data("data1", seed: 1));
        var ctl = _net.Client(_sentinel!, "ctl", SwarmRole.Swci);
        await ctl.RegisterAsync();
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerCreate, new NamePayload { Name = Runner }, PayloadJson.Default.NamePayload);
        var swop = _net.Identity("swop1", SwarmRole.Swop).Fingerprint.ToString();
        await UntilAsync(() => ctl.GetMembersAsync(), m => m.Any(x => x.Fingerprint == swop && x.Active), "the operator to register");

        // The ML program runs in its private data (WorkingDir under PrivateContent), lists it, and exits 3.
        await CreateTaskAsync(ctl, "failing", "RUN_SWARM", new Dictionary<string, object?>
        {
            ["Command"] = "-c 'ls; echo \"note=$NODE_NOTE socket=$SWARM_SL_SOCKET\"; echo boom >&2; exit 3'",
            ["Entrypoint"] = "sh",
            ["WorkingDir"] = "/platform/data",
            ["Envvars"] = null,
            ["PrivateContent"] = "/platform/data",
            ["SharedContent"] = null,
        });
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerAssign, new AssignPayload { Runner = Runner, Task = "failing", Peers = 1 }, PayloadJson.Default.AssignPayload);
        var runner = await UntilAsync(() => RunnerAsync(ctl), r => r.GetProperty("status").GetString() is "completed" or "failed", "the task runner to end");
        Assert.Equal("failed", runner.GetProperty("status").GetString());
        var message = runner.GetProperty("reports").GetProperty(swop).GetProperty("message").GetString()!;
        output.WriteLine($"report: {message}");
        Assert.Contains("sl1 on swop1: its ML program exited with code 3", message, StringComparison.Ordinal);
        Assert.Contains("train.csv", message, StringComparison.Ordinal); // WorkingDir under PrivateContent is the node's data directory
        Assert.Contains("note=sl1 socket=", message, StringComparison.Ordinal); // usrenvvars, and the channel's socket
        Assert.Contains("boom", message, StringComparison.Ordinal);
        var peer = Assert.Single(runner.GetProperty("reports").GetProperty(swop).GetProperty("peers").EnumerateArray());
        Assert.Equal("failed", peer.GetProperty("state").GetString());

        // A body the ledger takes (any JSON object) but HPE's schema does not: refused with the field named.
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerReset, new NamePayload { Name = Runner }, PayloadJson.Default.NamePayload);
        await CreateTaskAsync(ctl, "offschema", "RUN_SWARM", new Dictionary<string, object?> { ["Command"] = "x", ["Entrypoint"] = "y" });
        await ctl.SubmitAsync(TransactionTypes.TaskRunnerAssign, new AssignPayload { Runner = Runner, Task = "offschema", Peers = 1 }, PayloadJson.Default.AssignPayload);
        runner = await UntilAsync(() => RunnerAsync(ctl), r => r.GetProperty("status").GetString() is "completed" or "failed", "the off-schema task to be refused");
        Assert.Equal("failed", runner.GetProperty("status").GetString());
        Assert.Contains("Body.WorkingDir: required", runner.GetProperty("reports").GetProperty(swop).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Each SL node's reported losses, in ledger order (training.progress transactions).</summary>
    private static async Task<Dictionary<string, List<double>>> LossesAsync(SwarmNetworkClient ctl)
    {
        var losses = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        long from = 0;
        while (true)
        {
            var blocks = await ctl.GetBlocksAsync(from, 500);
            if (blocks.Count == 0)
            {
                return losses;
            }

            foreach (var tx in blocks.SelectMany(b => b.Transactions).Where(t => t.Type == TransactionTypes.Progress && t.Payload.GetProperty("contract").GetString() == Contract))
            {
                if (!losses.TryGetValue(tx.Sender, out var list))
                {
                    losses[tx.Sender] = list = [];
                }

                list.Add(tx.Payload.GetProperty("loss").GetDouble());
            }

            from = blocks[^1].Height + 1;
        }
    }
}
