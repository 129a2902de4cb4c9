using SwarmLearning.Network.Api;

namespace SwarmLearning.Cli.Ctl;

/// <summary>How a <see cref="CtlRunner"/> behaves beyond what it is asked.</summary>
internal sealed class CtlRunnerOptions
{
    /// <summary>HPE's <c>SWCI_RUN_TASK_MAX_WAIT_TIME</c>: how long <c>WAIT FOR TASKRUNNER</c> waits at most, 120 minutes.</summary>
    public static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromMinutes(120);

    /// <summary>How long <c>WAIT FOR TASKRUNNER</c> waits at most, unless the statement says.</summary>
    public TimeSpan WaitTimeout { get; init; } = DefaultWaitTimeout;

    /// <summary>How often waits print a progress line.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <c>WAIT FOR IP</c> waits between tries (HPE: 5 s).</summary>
    public TimeSpan AddressRetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where waits print their progress lines (standard error).</summary>
    public TextWriter Progress { get; init; } = TextWriter.Null;

    /// <summary>Where relative paths start (CD changes it).</summary>
    public string WorkingDirectory { get; init; } = System.Environment.CurrentDirectory;

    /// <summary>The environment: identities for <c>CREATE CONTEXT</c> (SWARM_CTL_CERTS, SWARM_CTL_NAME).</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
}

/// <summary>
/// Executes <see cref="CtlStatement"/>s against the SN of the current context, for every front of <c>swarm ctl</c>.
/// It keeps what a SWCI session keeps: the current context (SWITCH CONTEXT also makes it the active one in the contexts
/// file), the working directory and one client per context. Not thread-safe: the REST server serializes calls.
/// </summary>
internal sealed partial class CtlRunner(ContextStore store, CtlTarget target, CtlRunnerOptions options) : IDisposable
{
    private CtlContext? _current;
    private CtlSession? _session;
    private CtlRunner? _follows;

    public ContextStore Store { get; } = store;

    public CtlRunnerOptions Options { get; } = options;

    public string WorkingDirectory { get; private set; } = options.WorkingDirectory;

    /// <summary>Runs one statement. User errors are <see cref="SwarmException"/>s saying what to do.</summary>
    public Task<CtlResult> ExecuteAsync(CtlStatement statement, CancellationToken cancellationToken) => statement switch
    {
        CreateContext s => Task.FromResult(CreateContext(s)),
        SwitchContext s => Task.FromResult(SwitchContext(s)),
        GetContextInfo s => Task.FromResult(ContextInfo(s)),
        ListContexts => Task.FromResult(ListAllContexts()),
        DeleteContext s => Task.FromResult(DeleteContext(s)),
        GetContextVersion => VersionAsync(cancellationToken),
        CreateContract s => CreateContractAsync(s, cancellationToken),
        GetContractStatus s => ContractStatusAsync(s, cancellationToken),
        ListContracts => ListContractsAsync(cancellationToken),
        ResetContract s => ResetContractAsync(s, cancellationToken),
        GetPerfData s => PerfDataAsync(s, cancellationToken),
        CreateTaskFrom s => CreateTaskAsync(s, cancellationToken),
        FinalizeTask s => FinalizeTaskAsync(s, cancellationToken),
        DeleteTask s => DeleteTaskAsync(s, cancellationToken),
        GetTask s => TaskAsync(s, cancellationToken),
        ListTasks => ListTasksAsync(cancellationToken),
        CreateTaskRunner s => CreateTaskRunnerAsync(s, cancellationToken),
        GetTaskRunnerStatus s => TaskRunnerStatusAsync(s, cancellationToken),
        GetTaskRunnerPeers s => TaskRunnerPeersAsync(s, cancellationToken),
        ListTaskRunners => ListTaskRunnersAsync(cancellationToken),
        ResetTaskRunner s => ResetTaskRunnerAsync(s, cancellationToken),
        AssignTask s => AssignAsync(s, cancellationToken),
        WaitForTaskRunner s => WaitAsync(s, cancellationToken),
        ListNodes => ListNodesAsync(cancellationToken),
        ShowBlocks s => ShowBlocksAsync(s, cancellationToken),
        ShowBlock s => ShowBlockAsync(s, cancellationToken),
        VerifyLedger s => VerifyAsync(s, cancellationToken),
        WaitForAddress s => WaitForAddressAsync(s, cancellationToken),
        Sleep s => SleepAsync(s, cancellationToken),
        ChangeDirectory s => Task.FromResult(ChangeDirectory(s)),
        ListDirectory s => Task.FromResult(ListDirectory(s)),
        PrintDirectory => Task.FromResult(new CtlResult(new MessageView("pwd", WorkingDirectory), WorkingDirectory)),
        Help s => Task.FromResult(Help(s)),
        Exit or ExitOnFailure => Task.FromResult(new CtlResult(new MessageView("script", "handled by the script runner"), "")),
        _ => throw new ArgumentOutOfRangeException(nameof(statement), statement, "not a ctl statement"),
    };

    /// <summary>The context statements act on: the one switched to in this session, else as the flags and contexts file say.</summary>
    private CtlContext Connection => _follows?.Connection ?? _current ?? target.Resolve(Store, null);

    /// <summary>The context this session acts on now: the SN and the identity.</summary>
    public CtlContext CurrentContext => Connection;

    /// <summary>
    /// A second runner for reads that acts on whatever context this one acts on, with a client of its own: the REST
    /// server answers reads with it beside a long statement (WAIT FOR TASKRUNNER) of this one. Only for statements that
    /// read; a SWITCH CONTEXT must go to this runner.
    /// </summary>
    public CtlRunner ForReads() => new(Store, target, Options) { _follows = this };

    private CtlSession Session
    {
        get
        {
            var context = Connection;
            if (_session is null || _session.Context != context)
            {
                _session?.Dispose();
                _session = null;
                _session = CtlSession.Open(context);
            }

            return _session;
        }
    }

    private string Resolve(string path) => Path.GetFullPath(Path.Combine(WorkingDirectory, path));

    private async Task<Dictionary<string, MemberView>> MembersAsync(CancellationToken cancellationToken) =>
        (await Session.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(m => m.Fingerprint, StringComparer.Ordinal);

    private static CtlResult Help(Help help)
    {
        var statements = SwciParser.Statements(help.Topic);
        if (statements.Count == 0)
        {
            throw new SwarmException($"no statement starts with '{help.Topic}'; HELP lists them all");
        }

        return new CtlResult(
            statements.Select(s => new StatementHelp(s.Syntax, s.Summary)).ToList(),
            CtlFormat.Table(["STATEMENT", "WHAT"], statements.Select(s => new[] { s.Syntax, s.Summary })));
    }

    public void Dispose() => _session?.Dispose();
}
