using System.CommandLine;
using SwarmLearning.Cli.Ctl;

namespace SwarmLearning.Cli.Commands;

// The subcommands that are SWCI statements: each builds a CtlStatement and runs it. Output is the statement's text,
// or with --json its data, the same JSON the REST server answers.
internal static partial class CtlCommand
{
    private static Command Leaf(CliIo io, string name, string description, Func<ParseResult, CtlStatement> build, params Symbol[] symbols) =>
        Leaf(io, name, description, build, _ => null, symbols);

    private static Command Leaf(CliIo io, string name, string description, Func<ParseResult, CtlStatement> build, Func<ParseResult, TimeSpan?> waitTimeout, params Symbol[] symbols)
    {
        var connection = new Connection();
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument a:
                    command.Arguments.Add(a);
                    break;
                case Option o:
                    command.Options.Add(o);
                    break;
            }
        }

        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            using var runner = connection.Runner(parse, io, waitTimeout(parse));
            var result = await runner.ExecuteAsync(build(parse), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(connection.Json))
            {
                io.WriteJson(result.Data);
            }
            else
            {
                await io.Out.WriteLineAsync(result.Text).ConfigureAwait(false);
            }

            return result.Failed ? SwarmCli.Failure : SwarmCli.Success;
        }));
        return command;
    }

    private static Argument<string> NameArgument(string what) => new("NAME") { Description = what };

    private static Command Group(string name, string description, params Command[] commands)
    {
        var group = new Command(name, description);
        foreach (var c in commands)
        {
            group.Subcommands.Add(c);
        }

        return group;
    }

    private static Command Contexts(CliIo io)
    {
        var name = NameArgument("The context's name.");
        var sn = new Option<string>("--sn") { Description = "API address (HOST[:PORT]) of an SN of the swarm.", Required = true };
        var certs = new Option<string>("--certs") { Description = "Directory with the identity's files and ca.crt.", Required = true };
        var identity = new Option<string>("--name") { Description = "The identity's name (CERTS/NAME.crt and .key).", Required = true };
        var config = new Option<string?>("--config") { Description = "The contexts file (default: $SWARM_CTL_CONFIG, else $XDG_CONFIG_HOME/swarmlearning/contexts.json)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        Command ContextLeaf(string verb, string description, Func<ParseResult, CtlStatement> build, params Symbol[] symbols)
        {
            var command = new Command(verb, description);
            foreach (var symbol in symbols)
            {
                if (symbol is Argument a)
                {
                    command.Arguments.Add(a);
                }
                else
                {
                    command.Options.Add((Option)symbol);
                }
            }

            command.Options.Add(config);
            command.Options.Add(json);
            command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
            {
                var store = new ContextStore(parse.GetValue(config) is { } path ? Path.GetFullPath(path) : ContextStore.DefaultPath(Environment.GetEnvironmentVariable));
                using var runner = new CtlRunner(store, CtlTarget.None, new CtlRunnerOptions { Progress = io.Error });
                var result = await runner.ExecuteAsync(build(parse), cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    io.WriteJson(result.Data);
                }
                else
                {
                    await io.Out.WriteLineAsync(result.Text).ConfigureAwait(false);
                }

                return SwarmCli.Success;
            }));
            return command;
        }

        return Group("context", "Contexts: which SN to talk to and with which identity, stored in your config directory; one is active.",
            ContextLeaf("create", "Create (or replace) a context; the first one becomes active.",
                p => new CreateContext(p.GetValue(name)!, ContextStore.NormalizeAddress(p.GetValue(sn)!), p.GetValue(certs), p.GetValue(identity)), name, sn, certs, identity),
            ContextLeaf("list", "List the contexts; * marks the active one.", _ => new ListContexts()),
            ContextLeaf("switch", "Make a context the active one.", p => new SwitchContext(p.GetValue(name)!), name),
            ContextLeaf("info", "Show a context (the active one by default).", p => new GetContextInfo(p.GetValue(name)), new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The context." }),
            ContextLeaf("delete", "Forget a context.", p => new DeleteContext(p.GetValue(name)!), name));
    }

    private static Command Contracts(CliIo io)
    {
        var name = NameArgument("The training contract's name (HPE's default: defaultbb.cqdb.sml.hpe).");
        return Group("contract", "Training contracts: create, show, list, reset, and per-node performance data (PERFDATA).",
            Leaf(io, "create", "Create a training contract (contracts are never deleted).", p => new CreateContract(p.GetValue(name)!), name),
            Leaf(io, "info", "Show a training contract: status, round, leader, nodes, last merge.", p => new GetContractStatus(p.GetValue(name)!), name),
            Leaf(io, "status", "The same as info (HPE has both).", p => new GetContractStatus(p.GetValue(name)!), name),
            Leaf(io, "list", "List the training contracts.", _ => new ListContracts()),
            Leaf(io, "reset", "Take a completed contract back to round 1 (a contract that has not run is left as it is).", p => new ResetContract(p.GetValue(name)!), name),
            Leaf(io, "perfdata", "Per ML node: loss, metric, epochs done of total, and whether it leads (HPE's PERFDATA).", p => new GetPerfData(p.GetValue(name)!), name));
    }

    private static Command Tasks(CliIo io)
    {
        var name = NameArgument("The task's name.");
        var file = new Argument<string>("FILE") { Description = "The task definition, in HPE's YAML task schema." };
        return Group("task", "Tasks (HPE's task schema): create from YAML, finalize, delete, show, list.",
            Leaf(io, "create", "Create a task from its YAML definition (CREATE TASK FROM).", p => new CreateTaskFrom(p.GetValue(file)!), file),
            Leaf(io, "finalize", "Freeze a task's body, so it can be assigned.", p => new FinalizeTask(p.GetValue(name)!), name),
            Leaf(io, "delete", "Delete a task that is not finalized.", p => new DeleteTask(p.GetValue(name)!), name),
            Leaf(io, "info", "Show a task.", p => new GetTask(p.GetValue(name)!, BodyOnly: false), name),
            Leaf(io, "body", "Show a task's body.", p => new GetTask(p.GetValue(name)!, BodyOnly: true), name),
            Leaf(io, "list", "List the tasks.", _ => new ListTasks()));
    }

    private static Command TaskRunners(CliIo io)
    {
        var name = NameArgument("The task runner's name (HPE's default: defaulttaskbb.taskdb.sml.hpe).");
        var task = new Argument<string>("TASK") { Description = "The finalized task." };
        var runner = new Argument<string>("RUNNER") { Description = "The task runner." };
        var peers = new Option<int?>("--peers") { Description = "Done when this many operators completed it (WITH n PEERS)." };
        var all = new Option<bool>("--all") { Description = "Every active operator (WITH ALL PEERS)." };
        var target = new Option<string?>("--target") { Description = "One operator, by name or fingerprint (TARGET)." };
        var peer = new Argument<string?>("PEER") { Arity = ArgumentArity.ZeroOrOne, Description = "One operator: its index, name or fingerprint." };
        var timeout = new Option<int?>("--timeout") { Description = "Seconds to wait at most (default 120 minutes, or $SWCI_RUN_TASK_MAX_WAIT_TIME minutes)." };
        var assign = Leaf(io, "assign", "Assign a finalized task to an idle task runner, for --peers N, --all, or --target SWOP.",
            p => new AssignTask(p.GetValue(task)!, p.GetValue(runner)!, p.GetValue(peers) ?? 0, p.GetValue(all), p.GetValue(target)), task, runner, peers, all, target);
        assign.Validators.Add(r =>
        {
            var ways = (r.GetValue(peers) is not null ? 1 : 0) + (r.GetValue(all) ? 1 : 0) + (r.GetValue(target) is not null ? 1 : 0);
            if (ways != 1)
            {
                r.AddError("give exactly one of --peers N, --all or --target SWOP");
            }
            else if (r.GetValue(peers) is < 1)
            {
                r.AddError("--peers must be 1 or more");
            }
        });
        return Group("taskrunner", "Task runners: create, assign a task, follow its operators, wait for it, reset.",
            Leaf(io, "create", "Create a task runner.", p => new CreateTaskRunner(p.GetValue(name)!), name),
            assign,
            Leaf(io, "status", "A task runner's task, and each operator's state.", p => new GetTaskRunnerStatus(p.GetValue(name)!), name),
            Leaf(io, "peers", "The operators' reports, or one operator's (PEER STATUS).", p => new GetTaskRunnerPeers(p.GetValue(name)!, p.GetValue(peer)), name, peer),
            Leaf(io, "list", "List the task runners.", _ => new ListTaskRunners()),
            Leaf(io, "wait", "Wait until the task runner's task completed (exit 0) or failed (exit 1), printing progress; bounded by --timeout.",
                p => new WaitForTaskRunner(p.GetValue(name)!), p => p.GetValue(timeout) is { } s ? TimeSpan.FromSeconds(s) : null, name, timeout),
            Leaf(io, "reset", "Make a completed or failed task runner idle (an idle one is left as it is).", p => new ResetTaskRunner(p.GetValue(name)!), name));
    }

    private static Command Nodes(CliIo io) =>
        Leaf(io, "nodes", "List the swarm's nodes: role, name, host, ports, status, last heartbeat, identity (LIST NODES).", _ => new ListNodes());

    private static Command LedgerCommands(CliIo io)
    {
        var from = new Option<long?>("--from") { Description = "The first height (default: the last --limit blocks)." };
        var limit = new Option<int?>("--limit") { Description = "How many blocks (1–1000; 20 by default)." };
        var height = new Argument<long>("HEIGHT") { Description = "The block's height." };
        var dir = new Option<string?>("--dir") { Description = "Verify a ledger directory on disk (a stopped SN's DATA/ledger) instead of the SN's chain; nothing in it is changed." };
        var blocks = Leaf(io, "blocks", "Show blocks with their transactions' types and senders.", p => new ShowBlocks(p.GetValue(from) ?? -1, p.GetValue(limit) ?? 20), from, limit);
        blocks.Validators.Add(r =>
        {
            if (r.GetValue(limit) is { } n && n is < 1 or > 1000)
            {
                r.AddError("--limit must be from 1 to 1000");
            }
        });
        return Group("ledger", "The ledger: show blocks and transactions; verify the whole chain.",
            blocks,
            Leaf(io, "block", "Show one block and its transactions' payloads.", p => new ShowBlock(p.GetValue(height)), height),
            Leaf(io, "verify", "Verify the whole chain from genesis: signatures, contract rules, state hashes. Exit 1 if it does not verify.",
                p => new VerifyLedger(p.GetValue(dir)), dir));
    }

    private static Command Run(CliIo io)
    {
        var connection = new Connection();
        var file = new Argument<string>("FILE") { Description = "A SWCI script: one statement per line, # comments (as HPE's swci-init)." };
        var waitTimeout = new Option<int?>("--wait-timeout") { Description = "Seconds WAIT FOR TASKRUNNER waits at most (default 120 minutes)." };
        var command = new Command("run", "Run a SWCI script. --certs/--name give CREATE CONTEXT its identity (or SWARM_CTL_CERTS/SWARM_CTL_NAME). Exit 1 if a statement failed.")
        {
            file, waitTimeout,
        };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            using var runner = connection.Runner(parse, io, parse.GetValue(waitTimeout) is { } s ? TimeSpan.FromSeconds(s) : null);
            var script = new SwciScript(runner, io.Out, io.Error, parse.GetValue(connection.Json));
            return await script.RunFileAsync(Path.GetFullPath(parse.GetValue(file)!), cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    private static Command Shell(CliIo io)
    {
        var connection = new Connection();
        var command = new Command("shell", "The SWCI prompt: type statements (HELP lists them, EXIT ends). Reads standard input; prompts only on a terminal.");
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(() => ShellAsync(io, connection, parse, cancellationToken)));
        return command;
    }

    private static async Task<int> ShellAsync(CliIo io, Connection connection, ParseResult? parse, CancellationToken cancellationToken)
    {
        using var runner = parse is null
            ? new CtlRunner(new ContextStore(ContextStore.DefaultPath(Environment.GetEnvironmentVariable)), CtlTarget.None, new CtlRunnerOptions { Progress = io.Error })
            : connection.Runner(parse, io);
        var script = new SwciScript(runner, io.Out, io.Error, parse is not null && parse.GetValue(connection.Json));
        return await script.RunInteractiveAsync(Console.In, prompt: !Console.IsInputRedirected, echo: Console.IsInputRedirected, cancellationToken).ConfigureAwait(false);
    }

    private static Command Exec(CliIo io)
    {
        var connection = new Connection();
        var words = new Argument<string[]>("STATEMENT") { Description = "One SWCI statement, for example: swarm ctl exec LIST CONTRACTS", Arity = ArgumentArity.OneOrMore };
        var command = new Command("exec", "Run one SWCI statement.") { words };
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => io.RunAsync(async () =>
        {
            var text = string.Join(' ', parse.GetValue(words)!.Select(w => w.Contains(' ', StringComparison.Ordinal) ? $"\"{w}\"" : w));
            var statement = SwciParser.Parse(text) ?? throw new SwarmException("give a statement; 'swarm ctl exec HELP' lists them");
            using var runner = connection.Runner(parse, io);
            var script = new SwciScript(runner, io.Out, io.Error, parse.GetValue(connection.Json));
            using var input = new StringReader(text);
            return await script.RunInteractiveAsync(input, prompt: false, echo: false, cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }
}
