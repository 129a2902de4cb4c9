using System.Text.Json;
using SwarmLearning.Ledger.Storage;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Cli.Tests.Ctl;

/// <summary>Every <c>swarm ctl</c> subcommand against a real sentinel SN, human output and <c>--json</c>.</summary>
public sealed class CtlSubcommandTests
{
    private const string DefaultRunner = LedgerDefaults.HpeDefaultTaskRunner;

    [Fact]
    public async Task Contexts_contracts_perfdata_nodes_and_ledger_work_through_a_context_and_as_json()
    {
        await using var swarm = await CtlSwarm.StartAsync();

        // A context holds the SN and the identity; the first one is active, so later commands need only --config.
        var (code, output, error) = await CliHarness.RunAsync("ctl", "context", "create", "lab", "--sn", swarm.Sn, "--certs", swarm.Certs, "--name", "admin", "--config", swarm.Config);
        Assert.True(code == 0, error);
        Assert.Contains("context 'lab' created", output, StringComparison.Ordinal);
        Assert.True(File.Exists(swarm.Config));
        (code, output, _) = await CliHarness.RunAsync("ctl", "context", "list", "--json", "--config", swarm.Config);
        Assert.Equal(0, code);
        using (var contexts = JsonDocument.Parse(output))
        {
            var lab = Assert.Single(contexts.RootElement.EnumerateArray());
            Assert.Equal("lab", lab.GetProperty("name").GetString());
            Assert.Equal(swarm.Sn, lab.GetProperty("sn").GetString());
            Assert.True(lab.GetProperty("active").GetBoolean());
        }

        (code, output, error) = await CliHarness.RunAsync("ctl", "contract", "create", "mnist", "--config", swarm.Config);
        Assert.True(code == 0, error);
        Assert.Contains("training contract 'mnist' created in block", output, StringComparison.Ordinal);
        Assert.True(swarm.State.Contracts.ContainsKey("mnist"));

        (code, output, _) = await CliHarness.RunAsync("ctl", "contract", "list", "--config", swarm.Config);
        Assert.Equal(0, code);
        Assert.Contains(output.Split('\n'), l => l.StartsWith("mnist ", StringComparison.Ordinal) && l.Contains("created", StringComparison.Ordinal));
        Assert.Contains(LedgerDefaults.HpeDefaultContract, output, StringComparison.Ordinal);

        // PERFDATA: an SL node trains one round and reports its loss, metric and epochs; it led the round.
        var sl = await swarm.MemberAsync("sl1");
        await CtlSwarm.TrainAsync(sl, "mnist", loss: 0.25, metric: 0.875);
        var perf = await swarm.CtlJsonAsync("contract", "perfdata", "mnist");
        Assert.Equal("completed", perf.GetProperty("status").GetString());
        var node = Assert.Single(perf.GetProperty("nodes").EnumerateArray());
        Assert.Equal("sl1", node.GetProperty("name").GetString());
        Assert.Equal(0.25, node.GetProperty("loss").GetDouble());
        Assert.Equal(0.875, node.GetProperty("metric").GetDouble());
        Assert.Equal(2, node.GetProperty("epochsDone").GetInt32());
        Assert.Equal(2, node.GetProperty("totalEpochs").GetInt32());
        Assert.True(node.GetProperty("leader").GetBoolean());
        Assert.Equal("finished", node.GetProperty("state").GetString());
        (code, output, _) = await swarm.CtlAsync("contract", "perfdata", "mnist");
        Assert.Equal(0, code);
        Assert.Contains(output.Split('\n'), l => l.StartsWith("sl1", StringComparison.Ordinal) && l.Contains("yes", StringComparison.Ordinal) && l.Contains("0.25", StringComparison.Ordinal) && l.Contains("2/2", StringComparison.Ordinal));

        var info = await swarm.CtlJsonAsync("contract", "info", "mnist");
        Assert.Equal("completed", info.GetProperty("status").GetString());
        Assert.Equal(1, info.GetProperty("joined").GetInt32());

        (code, output, error) = await swarm.CtlAsync("contract", "reset", "mnist");
        Assert.True(code == 0, error);
        Assert.Contains("reset in block", output, StringComparison.Ordinal);
        Assert.Equal(1, swarm.State.Contracts["mnist"].Resets);
        Assert.Equal(Ledger.Contracts.ContractStatus.Created, swarm.State.Contracts["mnist"].Status);

        // Nodes: role, host, ports, identity, last heartbeat.
        var nodes = (await swarm.CtlJsonAsync("nodes")).EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!);
        Assert.Equal("sn", nodes["sn0"].GetProperty("role").GetString());
        Assert.Equal(swarm.ApiPort, nodes["sn0"].GetProperty("apiPort").GetInt32());
        Assert.Equal("sl", nodes["sl1"].GetProperty("role").GetString());
        Assert.Equal("127.0.0.1", nodes["sl1"].GetProperty("host").GetString());
        Assert.Equal(swarm.State.Members.Values.Single(m => m.Name == "sl1").Fingerprint.ToString(), nodes["sl1"].GetProperty("fingerprint").GetString());
        Assert.False(string.IsNullOrEmpty(nodes["sl1"].GetProperty("lastHeartbeat").GetString()));

        // Ledger: blocks, one block, verification of the whole chain.
        var blocks = await swarm.CtlJsonAsync("ledger", "blocks", "--from", "0", "--limit", "5");
        Assert.Equal(5, blocks.GetArrayLength());
        var genesis = await swarm.CtlJsonAsync("ledger", "block", "0");
        Assert.Equal("swarm.genesis", genesis.GetProperty("transactions")[0].GetProperty("type").GetString());
        (code, output, _) = await swarm.CtlAsync("ledger", "blocks");
        Assert.Equal(0, code);
        Assert.Contains("contract.reset (admin)", output, StringComparison.Ordinal);
        var verify = await swarm.CtlJsonAsync("ledger", "verify");
        Assert.True(verify.GetProperty("valid").GetBoolean());
        Assert.Equal(verify.GetProperty("height").GetInt64() + 1, verify.GetProperty("blocks").GetInt64());
        Assert.Equal(swarm.Node.Node.Chain.GetBlock(verify.GetProperty("height").GetInt64()).HashHex, verify.GetProperty("headHash").GetString());
    }

    [Fact]
    public async Task A_task_from_HPE_YAML_is_created_finalized_assigned_and_followed_until_operators_complete_it()
    {
        await using var swarm = await CtlSwarm.StartAsync();
        var swop1 = await swarm.MemberAsync("swop1");
        var swop2 = await swarm.MemberAsync("swop2");

        var (code, output, error) = await swarm.CtlAsync("task", "create", swarm.TaskFile("swarm_mnist_task"));
        Assert.True(code == 0, error);
        Assert.Contains("task 'swarm_mnist_task' (RUN_SWARM) created", output, StringComparison.Ordinal);
        var info = await swarm.CtlJsonAsync("task", "info", "swarm_mnist_task");
        Assert.Equal("RUN_SWARM", info.GetProperty("taskType").GetString());
        Assert.Equal("HPE-TEST", info.GetProperty("author").GetString());
        Assert.False(info.GetProperty("finalized").GetBoolean());
        var body = info.GetProperty("body");
        Assert.Equal("model/mnist_pyt.py", body.GetProperty("Command").GetString());
        Assert.Equal("5", body.GetProperty("Envvars")[2].GetProperty("MAX_EPOCHS").GetString());
        Assert.Equal("BIND", body.GetProperty("SharedContent")[0].GetProperty("MType").GetString());
        (code, output, _) = await swarm.CtlAsync("task", "body", "swarm_mnist_task");
        Assert.Equal(0, code);
        Assert.Contains("\"Entrypoint\": \"python3\"", output, StringComparison.Ordinal);

        // Unfinalized tasks cannot be assigned, and can be deleted.
        (code, _, error) = await swarm.CtlAsync("taskrunner", "assign", "swarm_mnist_task", DefaultRunner, "--peers", "2");
        Assert.Equal(1, code);
        Assert.Contains("not finalized", error, StringComparison.Ordinal);
        Assert.Equal(0, (await swarm.CtlAsync("task", "create", swarm.TaskFile("scratch", "MAKE_USER_CONTAINER"))).Code);
        Assert.Equal(0, (await swarm.CtlAsync("task", "delete", "scratch")).Code);
        Assert.False(swarm.State.Tasks.ContainsKey("scratch"));

        Assert.Equal(0, (await swarm.CtlAsync("task", "finalize", "swarm_mnist_task")).Code);
        var tasks = await swarm.CtlJsonAsync("task", "list");
        Assert.True(Assert.Single(tasks.EnumerateArray()).GetProperty("finalized").GetBoolean());

        (code, output, error) = await swarm.CtlAsync("taskrunner", "assign", "swarm_mnist_task", DefaultRunner, "--peers", "2");
        Assert.True(code == 0, error);
        Assert.Contains("for 2 peer(s)", output, StringComparison.Ordinal);
        var status = await swarm.CtlJsonAsync("taskrunner", "status", DefaultRunner);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.Equal("swarm_mnist_task", status.GetProperty("task").GetString());
        Assert.Equal(2, status.GetProperty("requiredPeers").GetInt32());

        // WAIT FOR is bounded: with nobody reporting it gives up, says so, and fails.
        (code, _, error) = await swarm.CtlAsync("taskrunner", "wait", DefaultRunner, "--timeout", "1");
        Assert.Equal(1, code);
        Assert.Contains("still running with 0/2 completed", error, StringComparison.Ordinal);

        await CtlSwarm.ReportAsync(swop1, DefaultRunner, "completed", "2 SL/ML pairs done");
        await CtlSwarm.ReportAsync(swop2, DefaultRunner, "running", "starting");
        var peers = await swarm.CtlJsonAsync("taskrunner", "peers", DefaultRunner);
        Assert.Equal(2, peers.GetArrayLength());
        var one = await swarm.CtlJsonAsync("taskrunner", "peers", DefaultRunner, "swop1");
        Assert.Equal("completed", one.GetProperty("state").GetString());
        Assert.Equal("2 SL/ML pairs done", one.GetProperty("message").GetString());
        (code, output, _) = await swarm.CtlAsync("taskrunner", "status", DefaultRunner);
        Assert.Equal(0, code);
        Assert.Contains("1/2 completed, 1 running, 0 failed", output, StringComparison.Ordinal);

        // A waiter ends when the last operator's report completes the task runner.
        var waiting = swarm.CtlAsync("taskrunner", "wait", DefaultRunner, "--timeout", "60");
        await CtlSwarm.ReportAsync(swop2, DefaultRunner, "completed", "done");
        (code, output, error) = await waiting.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(code == 0, error);
        Assert.Contains("completed task 'swarm_mnist_task': 2/2", output, StringComparison.Ordinal);

        (code, output, error) = await swarm.CtlAsync("taskrunner", "reset", DefaultRunner);
        Assert.True(code == 0, error);
        Assert.Equal(Ledger.Contracts.TaskRunnerStatus.Idle, swarm.State.TaskRunners[DefaultRunner].Status);
        (code, output, _) = await swarm.CtlAsync("taskrunner", "reset", DefaultRunner);
        Assert.Equal(0, code);
        Assert.Contains("idle; nothing to reset", output, StringComparison.Ordinal);

        // Targeting one operator by name; a new runner; the list.
        Assert.Equal(0, (await swarm.CtlAsync("taskrunner", "create", "tr2")).Code);
        (code, _, error) = await swarm.CtlAsync("taskrunner", "assign", "swarm_mnist_task", "tr2", "--target", "swop2");
        Assert.True(code == 0, error);
        Assert.Equal(swarm.State.Members.Values.Single(m => m.Name == "swop2").Fingerprint, swarm.State.TaskRunners["tr2"].Target);
        var runners = (await swarm.CtlJsonAsync("taskrunner", "list")).EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
        Assert.Equal("running", runners["tr2"].GetProperty("status").GetString());
        Assert.Equal("swop2", runners["tr2"].GetProperty("target").GetString());
        Assert.Equal("idle", runners[DefaultRunner].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Errors_say_what_is_wrong_and_what_to_do_without_a_stack_trace()
    {
        await using var swarm = await CtlSwarm.StartAsync();
        var config = Path.Combine(swarm.Directory, "empty", "contexts.json");
        var (code, _, error) = await CliHarness.RunAsync("ctl", "contract", "list", "--config", config);
        Assert.Equal(1, code);
        Assert.Contains("no identity to act as", error, StringComparison.Ordinal);
        Assert.Contains("swarm ctl context create", error, StringComparison.Ordinal);

        (code, _, error) = await swarm.CtlAsync("contract", "info", "nope");
        Assert.Equal(1, code);
        Assert.Contains("no training contract 'nope'", error, StringComparison.Ordinal);

        (code, _, error) = await swarm.CtlAsync("task", "create", Path.Combine(swarm.Directory, "missing.yaml"));
        Assert.Equal(1, code);
        Assert.Contains("missing.yaml does not exist", error, StringComparison.Ordinal);

        var bad = Path.Combine(swarm.Directory, "bad.yaml");
        await File.WriteAllTextAsync(bad, "Name: x\nTaskType: RUN_SWARM\nAuthor: a\nPrereq: ROOTTASK\nOutcome: x\nColour: blue\nBody:\n  Command: a\n");
        (code, _, error) = await swarm.CtlAsync("task", "create", bad);
        Assert.Equal(1, code);
        Assert.Contains("bad.yaml:6: 'Colour' is not a key of a task definition", error, StringComparison.Ordinal);

        (code, _, error) = await swarm.CtlAsync("taskrunner", "assign", "t", DefaultRunner);
        Assert.Equal(2, code);
        Assert.Contains("exactly one of --peers N, --all or --target", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ledger_verify_reports_a_tampered_chain_with_the_height_of_the_first_bad_block()
    {
        var swarm = await CtlSwarm.StartAsync();
        await using (swarm)
        {
            Assert.Equal(0, (await swarm.CtlAsync("contract", "create", "c1")).Code);
            Assert.Equal(0, (await swarm.CtlAsync("contract", "create", "c2")).Code);
            var height = swarm.Node.Node.Chain.Height;
            await swarm.Node.DisposeAsync(); // the store is the SN's alone while it runs

            var good = await swarm.CtlJsonAsync("ledger", "verify", "--dir", swarm.LedgerDirectory);
            Assert.True(good.GetProperty("valid").GetBoolean());
            Assert.Equal(height, good.GetProperty("height").GetInt64());

            // The same chain with one bit of block 2's orderer signature flipped, its store checksums intact.
            var tampered = Path.Combine(swarm.Directory, "tampered");
            using (var original = BlockStore.Open(swarm.LedgerDirectory))
            using (var copy = BlockStore.Open(tampered))
            {
                var records = original.ReadFrom(0).Select(r => r.Record).ToList();
                records[2][^10] ^= 1;
                await copy.AppendAsync([.. records.Select(r => (ReadOnlyMemory<byte>)r)]);
            }

            var (code, output, _) = await swarm.CtlAsync("ledger", "verify", "--dir", tampered, "--json");
            Assert.Equal(1, code);
            using var json = JsonDocument.Parse(output);
            Assert.False(json.RootElement.GetProperty("valid").GetBoolean());
            Assert.Equal(2, json.RootElement.GetProperty("badHeight").GetInt64());
            Assert.Contains("signature", json.RootElement.GetProperty("problem").GetString(), StringComparison.Ordinal);
            (code, output, _) = await swarm.CtlAsync("ledger", "verify", "--dir", tampered);
            Assert.Equal(1, code);
            Assert.Contains("does NOT verify at height 2", output, StringComparison.Ordinal);
        }
    }
}
