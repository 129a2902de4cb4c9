namespace SwarmLearning.Cli.Ctl;

// One command model for every front of swarm ctl: the System.CommandLine subcommands, the SWCI statements of scripts
// and the prompt, and the REST server all build these records and hand them to CtlRunner.

/// <summary>A command of <c>swarm ctl</c>, however it was given.</summary>
internal abstract record CtlStatement;

/// <summary><c>CREATE CONTEXT name WITH IP host [port]</c>; the identity comes from the statement, the runner's flags, the environment or the current context.</summary>
internal sealed record CreateContext(string Name, string Sn, string? Certs = null, string? Identity = null) : CtlStatement;

/// <summary><c>SWITCH CONTEXT name</c>.</summary>
internal sealed record SwitchContext(string Name) : CtlStatement;

/// <summary><c>GET CONTEXT INFO [name]</c>.</summary>
internal sealed record GetContextInfo(string? Name) : CtlStatement;

/// <summary><c>LIST CONTEXTS</c>.</summary>
internal sealed record ListContexts : CtlStatement;

/// <summary><c>DELETE CONTEXT name</c> (not in HPE).</summary>
internal sealed record DeleteContext(string Name) : CtlStatement;

/// <summary><c>GET CONTEXT VERSION</c>: the SN's status and version.</summary>
internal sealed record GetContextVersion : CtlStatement;

/// <summary><c>CREATE CONTRACT name</c>.</summary>
internal sealed record CreateContract(string Name) : CtlStatement;

/// <summary><c>GET CONTRACT INFO name</c> and <c>GET CONTRACT STATUS name</c>.</summary>
internal sealed record GetContractStatus(string Name) : CtlStatement;

/// <summary><c>LIST CONTRACTS</c>.</summary>
internal sealed record ListContracts : CtlStatement;

/// <summary><c>RESET CONTRACT name</c>.</summary>
internal sealed record ResetContract(string Name) : CtlStatement;

/// <summary><c>PERFDATA name</c>.</summary>
internal sealed record GetPerfData(string Name) : CtlStatement;

/// <summary><c>CREATE TASK FROM file.yaml</c>.</summary>
internal sealed record CreateTaskFrom(string File) : CtlStatement;

/// <summary><c>FINALIZE TASK name</c>.</summary>
internal sealed record FinalizeTask(string Name) : CtlStatement;

/// <summary><c>DELETE TASK name</c>.</summary>
internal sealed record DeleteTask(string Name) : CtlStatement;

/// <summary><c>GET TASK INFO name</c> (<see cref="BodyOnly"/> false) and <c>GET TASK BODY name</c> (true).</summary>
internal sealed record GetTask(string Name, bool BodyOnly) : CtlStatement;

/// <summary><c>LIST TASKS</c>.</summary>
internal sealed record ListTasks : CtlStatement;

/// <summary><c>CREATE TASKRUNNER name</c>.</summary>
internal sealed record CreateTaskRunner(string Name) : CtlStatement;

/// <summary><c>GET TASKRUNNER INFO|STATUS name</c>.</summary>
internal sealed record GetTaskRunnerStatus(string Name) : CtlStatement;

/// <summary><c>GET TASKRUNNER PEER STATUS name peer</c> (one operator) and <c>LIST TASKRUNNER PEERS name</c> (<see cref="Peer"/> null).</summary>
internal sealed record GetTaskRunnerPeers(string Name, string? Peer) : CtlStatement;

/// <summary><c>LIST TASKRUNNERS</c>.</summary>
internal sealed record ListTaskRunners : CtlStatement;

/// <summary><c>RESET TASKRUNNER name</c>.</summary>
internal sealed record ResetTaskRunner(string Name) : CtlStatement;

/// <summary><c>ASSIGN TASK t TO tr WITH n PEERS | WITH ALL PEERS | TARGET swop</c>: exactly one of the three.</summary>
internal sealed record AssignTask(string Task, string Runner, int Peers, bool All, string? Target) : CtlStatement;

/// <summary><c>WAIT FOR TASKRUNNER name</c>, bounded by <see cref="Timeout"/> (the runner's default when null).</summary>
internal sealed record WaitForTaskRunner(string Name, TimeSpan? Timeout = null) : CtlStatement;

/// <summary><c>LIST NODES</c>.</summary>
internal sealed record ListNodes : CtlStatement;

/// <summary><c>SHOW BLOCKS [from] [count]</c> (not in HPE).</summary>
internal sealed record ShowBlocks(long From, int Limit) : CtlStatement;

/// <summary><c>SHOW BLOCK height</c> (not in HPE).</summary>
internal sealed record ShowBlock(long Height) : CtlStatement;

/// <summary><c>VERIFY LEDGER [dir]</c> (not in HPE): the SN's whole chain, or a ledger directory on disk.</summary>
internal sealed record VerifyLedger(string? Directory) : CtlStatement;

/// <summary><c>WAIT FOR IP host [port] [retries]</c> and <c>WAIT FOR SERVICE host[:port] [retries]</c>: retries every 5 s.</summary>
internal sealed record WaitForAddress(string Host, int Port, int Retries) : CtlStatement;

/// <summary><c>SLEEP seconds</c>.</summary>
internal sealed record Sleep(double Seconds) : CtlStatement;

/// <summary><c>EXIT</c>.</summary>
internal sealed record Exit : CtlStatement;

/// <summary><c>EXIT ON FAILURE [ON|OFF]</c>.</summary>
internal sealed record ExitOnFailure(bool On) : CtlStatement;

/// <summary><c>CD dir</c>: relative paths of later statements (task files) resolve from here.</summary>
internal sealed record ChangeDirectory(string Path) : CtlStatement;

/// <summary><c>LS [dir]</c>.</summary>
internal sealed record ListDirectory(string? Path) : CtlStatement;

/// <summary><c>PWD</c>.</summary>
internal sealed record PrintDirectory : CtlStatement;

/// <summary><c>HELP [statement]</c>.</summary>
internal sealed record Help(string? Topic) : CtlStatement;
