using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Client;

namespace SwarmLearning.Cli.Tests.Ctl;

/// <summary>HPE-style SWCI scripts run by <c>swarm ctl run</c> against a real sentinel, the operators played by test code.</summary>
public sealed class SwciScriptTests
{
    private const string DefaultRunner = LedgerDefaults.HpeDefaultTaskRunner;

    /// <summary>
    /// Plays both operators (and, for a RUN_SWARM task, the SL node it would start) until cancelled: whenever the
    /// default task runner runs a task an operator has not reported on, that operator reports it completed.
    /// </summary>
    private static async Task OperateAsync(CtlSwarm swarm, SwarmNetworkClient[] swops, SwarmNetworkClient sl, string contract, CancellationToken cancellationToken)
    {
        var from = 0L;
        while (!cancellationToken.IsCancellationRequested)
        {
            var runner = swarm.State.TaskRunners[DefaultRunner];
            if (runner.Status == TaskRunnerStatus.Running)
            {
                var task = swarm.State.Tasks[runner.Task!];
                foreach (var swop in swops.Where(s => !runner.Reports.ContainsKey(s.Identity.Fingerprint)))
                {
                    if (task.TaskType == "RUN_SWARM" && swarm.State.Contracts[contract].Status != ContractStatus.Completed)
                    {
                        await CtlSwarm.TrainAsync(sl, contract, loss: 0.5, metric: 0.75);
                    }

                    await CtlSwarm.ReportAsync(swop, DefaultRunner, "completed", $"{task.Name} done");
                }
            }

            from = (await swops[0].GetEventsAsync(from, TimeSpan.FromSeconds(2), cancellationToken)).Next;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    [Fact]
    public async Task An_HPE_style_swci_init_script_runs_end_to_end_with_only_its_addresses_edited()
    {
        await using var swarm = await CtlSwarm.StartAsync();
        var usr = Path.Combine(swarm.Directory, "usr");
        swarm.TaskFile("user_env_pyt_build_task", "MAKE_USER_CONTAINER", Path.Combine(usr, "taskdefs"));
        swarm.TaskFile("swarm_mnist_task", "RUN_SWARM", Path.Combine(usr, "taskdefs"));

        // HPE's examples/mnist-pyt swci-init, with the SN's address (sn-1 → 127.0.0.1 PORT) and the directory edited.
        var script = Path.Combine(swarm.Directory, "swci-init");
        await File.WriteAllTextAsync(script, $"""
            # Wait for the SN node to be up and running
            wait for ip 127.0.0.1 {swarm.ApiPort}

            # Create a swarm context
            create context test-mnist with ip 127.0.0.1 {swarm.ApiPort}

            # Switch to it
            switch context test-mnist

            # Create a new contract
            create contract swarm-mnist-contract

            # Create and finalize build task
            cd {usr}
            create task from taskdefs/user_env_pyt_build_task.yaml
            finalize task user_env_pyt_build_task
            get task info user_env_pyt_build_task
            get task body user_env_pyt_build_task
            list tasks

            # Assign build task to taskrunner
            RESET TASKRUNNER defaulttaskbb.taskdb.sml.hpe
            ASSIGN TASK user_env_pyt_build_task TO defaulttaskbb.taskdb.sml.hpe WITH 2 PEERS
            WAIT FOR TASKRUNNER defaulttaskbb.taskdb.sml.hpe

            # Build task was already run. Now build and run swarm run tasks

            # Create run task
            create task from taskdefs/swarm_mnist_task.yaml
            finalize task swarm_mnist_task
            get task info swarm_mnist_task
            get task body swarm_mnist_task
            list tasks

            # Assign run task
            RESET TASKRUNNER defaulttaskbb.taskdb.sml.hpe
            ASSIGN TASK swarm_mnist_task TO defaulttaskbb.taskdb.sml.hpe WITH 2 PEERS
            WAIT FOR TASKRUNNER defaulttaskbb.taskdb.sml.hpe
            # Grace period for ML container to save the model,
            # before the below reset command cleans up the ML and SL Containers.
            SLEEP 1
            RESET TASKRUNNER defaulttaskbb.taskdb.sml.hpe

            # List and reset training contract
            LIST CONTRACTS
            RESET CONTRACT swarm-mnist-contract

            # Exit
            EXIT
            LIST NODES
            """);

        var swops = new[] { await swarm.MemberAsync("swop1"), await swarm.MemberAsync("swop2") };
        var sl = await swarm.MemberAsync("sl1");
        using var stop = new CancellationTokenSource();
        var operators = OperateAsync(swarm, swops, sl, "swarm-mnist-contract", stop.Token);

        // Only the identity is given on the command line: CREATE CONTEXT takes it from --certs/--name.
        var run = CliHarness.RunAsync("ctl", "run", script, "--config", swarm.Config, "--certs", swarm.Certs, "--name", "admin", "--wait-timeout", "60");
        var (code, output, error) = await run.WaitAsync(TimeSpan.FromSeconds(120));
        await stop.CancelAsync();
#pragma warning disable VSTHRD003 // the operators' loop, started above
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => operators);
#pragma warning restore VSTHRD003

        Assert.True(code == 0, $"{error}\n{output}");
        Assert.Contains("SWCI:23 > ASSIGN TASK user_env_pyt_build_task TO defaulttaskbb.taskdb.sml.hpe WITH 2 PEERS", output, StringComparison.Ordinal);
        Assert.Contains("completed task 'user_env_pyt_build_task': 2/2", output, StringComparison.Ordinal);
        Assert.Contains("completed task 'swarm_mnist_task': 2/2", output, StringComparison.Ordinal);
        Assert.DoesNotContain("> LIST NODES", output, StringComparison.Ordinal); // after EXIT

        var state = swarm.State;
        Assert.True(state.Tasks["user_env_pyt_build_task"].Finalized);
        Assert.True(state.Tasks["swarm_mnist_task"].Finalized);
        Assert.Equal(TaskRunnerStatus.Idle, state.TaskRunners[DefaultRunner].Status);
        Assert.Equal(1, state.Contracts["swarm-mnist-contract"].Resets);
        Assert.Equal(ContractStatus.Created, state.Contracts["swarm-mnist-contract"].Status);
    }

    [Fact]
    public async Task A_script_with_a_bad_statement_runs_nothing_and_names_the_file_and_line()
    {
        await using var swarm = await CtlSwarm.StartAsync();
        var script = Path.Combine(swarm.Directory, "swci-bad");
        await File.WriteAllTextAsync(script, $"create context c with ip 127.0.0.1 {swarm.ApiPort}\ncreate contract never\nASSIGN TASK t TO r WITH two PEERS\nFROB\n");
        var (code, _, error) = await CliHarness.RunAsync("ctl", "run", script, "--config", swarm.Config, "--certs", swarm.Certs, "--name", "admin");
        Assert.Equal(1, code);
        Assert.Contains("swci-bad:3: <n> 'two' must be a whole number", error, StringComparison.Ordinal);
        Assert.Contains("swci-bad:4: unknown statement 'FROB'", error, StringComparison.Ordinal);
        Assert.Contains("nothing was run", error, StringComparison.Ordinal);
        Assert.False(swarm.State.Contracts.ContainsKey("never"));
        Assert.False(File.Exists(swarm.Config));
    }

    [Fact]
    public async Task EXIT_ON_FAILURE_ON_ends_the_script_at_the_first_failing_statement_and_OFF_goes_on()
    {
        await using var swarm = await CtlSwarm.StartAsync();
        var script = Path.Combine(swarm.Directory, "swci-fail");
        await File.WriteAllTextAsync(script, """
            create contract first
            finalize task no-such-task
            create contract second
            EXIT ON FAILURE ON
            create contract first
            create contract third
            """);
        var (code, output, error) = await swarm.CtlAsync("run", script);
        Assert.Equal(1, code);
        Assert.Contains("error: swci-fail:2: the SN at", error, StringComparison.Ordinal);
        Assert.Contains("no task 'no-such-task'", error, StringComparison.Ordinal);
        Assert.Contains("error: swci-fail:5:", error, StringComparison.Ordinal);
        Assert.Contains("SWCI:3 > create contract second", output, StringComparison.Ordinal);
        Assert.True(swarm.State.Contracts.ContainsKey("second"));
        Assert.False(swarm.State.Contracts.ContainsKey("third"));
    }
}
