using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Network.Client;
using SwarmLearning.Operator.Content;
using SwarmLearning.Operator.Execution;
using SwarmLearning.Operator.Profile;
using SwarmLearning.Operator.Tasks;

namespace SwarmLearning.Operator;

/// <summary>
/// The Swarm Operator (SWOP): registers with the SN as a <c>swop</c> member and heartbeats, follows its task runner on
/// the ledger, and executes the task assigned to it, one at a time, reporting <c>running</c> and then
/// <c>completed</c> or <c>failed</c>. It follows the ledger by state, not by edge: on every ledger event (a long poll
/// on <c>/v1/events</c>, at most <see cref="OperatorOptions.PollWait"/>) it reads the task runner and reconciles, so a
/// missed event or an SN that was briefly unreachable changes nothing. A reset of the task runner (or a new
/// assignment after it) stops what the last task still runs; so does stopping the operator.
/// </summary>
public sealed class SwarmOperator
{
    /// <summary>How often a lasting registration or heartbeat failure is logged again.</summary>
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(30);

    private readonly OperatorProfile _profile;
    private readonly OperatorOptions _options;
    private readonly ILogger _logger;

    /// <summary>An operator for <paramref name="profile"/>.</summary>
    public SwarmOperator(OperatorProfile profile, OperatorOptions options, ILogger logger)
    {
        _profile = profile ?? throw new ArgumentNullException(nameof(profile));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; then stops the current task's processes.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var identity = SwarmIdentity.Load(_profile.Identity.Certificate, _profile.Identity.Key);
        var trust = SwarmTrust.Load(_profile.Identity.CaCertificate);
        using var client = new SwarmNetworkClient(_profile.SnAddress, identity, trust) { RequestTimeout = TimeSpan.FromSeconds(15) };
        Log.Watching(_logger, identity.Name, identity.Fingerprint.Short, _profile.GroupName, _profile.TaskRunner, _profile.SnAddress, _profile.Nodes.Count, _profile.WorkDirectory);
        Directory.CreateDirectory(_profile.WorkDirectory);

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeats = HeartbeatAsync(client, identity, stopping.Token);
        var loop = new Loop(this, client, identity.Fingerprint.ToString());
        try
        {
            await loop.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await loop.StopCurrentAsync(shutdown: true).ConfigureAwait(false);
            await stopping.CancelAsync().ConfigureAwait(false);
            await heartbeats.ConfigureAwait(false);
        }
    }

    /// <summary>Registers (retrying until the SN takes it), then heartbeats at the swarm's interval.</summary>
    private async Task HeartbeatAsync(SwarmNetworkClient client, SwarmIdentity identity, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1);
        var registered = false;
        var failures = 0;
        var lastWarning = DateTime.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!registered)
                {
                    var receipt = await client.RegisterAsync(_options.HostName, cancellationToken).ConfigureAwait(false);
                    Log.Registered(_logger, identity.Name, receipt.Height);
                    registered = true;
                    interval = await HeartbeatIntervalAsync(client, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await client.HeartbeatAsync(cancellationToken).ConfigureAwait(false);
                }

                if (failures > 0)
                {
                    Log.HeartbeatRecovered(_logger, failures);
                    failures = 0;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SwarmException e)
            {
                // A refusal that lasts (an identity not enrolled yet, an SN down) is said once, then every 30 s.
                failures++;
                if (failures == 1 || DateTime.UtcNow - lastWarning >= WarningInterval)
                {
                    Log.HeartbeatFailed(_logger, failures, e.Message);
                    lastWarning = DateTime.UtcNow;
                }
            }

            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<TimeSpan> HeartbeatIntervalAsync(SwarmNetworkClient client, CancellationToken cancellationToken)
    {
        var state = await client.GetStateAsync(cancellationToken).ConfigureAwait(false);
        return state.TryGetProperty("genesis", out var genesis) && genesis.TryGetProperty("defaults", out var defaults)
            && defaults.TryGetProperty("heartbeatIntervalSeconds", out var seconds) && seconds.TryGetInt32(out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromSeconds(1);
    }

    /// <summary>The task runner as this operator needs it.</summary>
    private sealed record RunnerView(string Status, string? Task, int RequiredPeers, string? Target, long? AssignedAt, string? OwnReport)
    {
        public static RunnerView? Find(IEnumerable<JsonElement> runners, string name, string self)
        {
            foreach (var r in runners)
            {
                if (r.GetProperty("name").GetString() != name)
                {
                    continue;
                }

                string? own = null;
                if (r.TryGetProperty("reports", out var reports) && reports.ValueKind == JsonValueKind.Object && reports.TryGetProperty(self, out var report))
                {
                    own = report.GetProperty("state").GetString();
                }

                return new RunnerView(
                    r.GetProperty("status").GetString() ?? "idle",
                    r.TryGetProperty("task", out var t) ? t.GetString() : null,
                    r.TryGetProperty("requiredPeers", out var p) ? p.GetInt32() : 0,
                    r.TryGetProperty("target", out var target) ? target.GetString() : null,
                    r.TryGetProperty("assignedAt", out var at) && at.ValueKind == JsonValueKind.Number ? at.GetInt64() : null,
                    own);
            }

            return null;
        }
    }

    /// <summary>The current task on this operator.</summary>
    private sealed class Current(string key, string task, string type, ITaskExecution execution)
    {
        public string Key { get; } = key;

        public string Task { get; } = task;

        public string Type { get; } = type;

        public ITaskExecution Execution { get; } = execution;

        public bool ReportedRunning { get; set; }

        public bool ReportedOutcome { get; set; }
    }

    /// <summary>The watch loop's state: the current task, where the events are, how long the SN has been away.</summary>
    private sealed class Loop(SwarmOperator owner, SwarmNetworkClient client, string self)
    {
        private readonly Stopwatch _sinceStatus = Stopwatch.StartNew();
        private Current? _current;
        private string? _settled;
        private long _eventsFrom = -1;
        private int _failures;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var options = owner._options;
            var logger = owner._logger;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await ReconcileAsync(cancellationToken).ConfigureAwait(false);
                    if (_failures > 0)
                    {
                        Log.Reachable(logger, client.Address, _failures);
                        _failures = 0;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (SwarmException e)
                {
                    _failures++;
                    if (_failures == 1 || _sinceStatus.Elapsed >= options.StatusInterval)
                    {
                        Log.Unreachable(logger, client.Address, _failures, e.Message);
                        _sinceStatus.Restart();
                    }
                }

                await WaitForChangeAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Reads the task runner and brings this operator in line with it; reports what is due.</summary>
        private async Task ReconcileAsync(CancellationToken cancellationToken)
        {
            var profile = owner._profile;
            var logger = owner._logger;
            var runners = await client.GetTaskRunnersAsync(cancellationToken).ConfigureAwait(false);
            var runner = RunnerView.Find(runners, profile.TaskRunner, self);
            // An assignment stays this operator's until the runner is reset or given another task: a completed or failed
            // runner keeps its processes, since the swarm's other nodes may still need this host's SL nodes.
            var ours = runner is { Task: not null } && runner.Status != "idle" && (runner.Target is null || runner.Target == self);
            var key = ours ? $"{runner!.Task}@{runner.AssignedAt}" : null;

            if (_current is not null && _current.Key != key)
            {
                Log.Stopping(logger, profile.TaskRunner, runner is null ? "deleted" : runner.Status == "idle" ? "reset" : $"given task '{runner.Task}'", _current.Task);
                await StopCurrentAsync(shutdown: false).ConfigureAwait(false);
            }

            if (_current is null && key is not null && key != _settled && runner!.Status != "running")
            {
                // Assigned and already done (completed by the others, or failed) before this operator saw it: nothing to start.
                _settled = key;
                Log.Done(logger, runner.Task!, runner.Status);
            }

            if (_current is null && key is not null && key != _settled)
            {
                if (runner!.OwnReport is "completed" or "failed")
                {
                    // Reported by an earlier run of this operator (it restarted): the task is done here.
                    _settled = key;
                    Log.Done(logger, runner.Task!, runner.OwnReport);
                }
                else
                {
                    _current = await StartAsync(runner, key, cancellationToken).ConfigureAwait(false);
                }
            }

            if (_current is null)
            {
                if (_sinceStatus.Elapsed >= owner._options.StatusInterval)
                {
                    var status = await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                    Log.Idle(logger, profile.TaskRunner, runner?.Status ?? "not created yet", status.Height);
                    _sinceStatus.Restart();
                }

                return;
            }

            if (!_current.ReportedRunning)
            {
                _current.ReportedRunning = await ReportAsync("running", _current.Execution.Started, cancellationToken).ConfigureAwait(false);
            }

            if (_current.ReportedRunning && !_current.ReportedOutcome && _current.Execution.Outcome.IsCompleted)
            {
#pragma warning disable VSTHRD003 // the execution's own outcome, which has completed
                var outcome = await _current.Execution.Outcome.ConfigureAwait(false);
#pragma warning restore VSTHRD003
                var state = outcome.Succeeded ? "completed" : "failed";
                _current.ReportedOutcome = await ReportAsync(state, outcome.Message, cancellationToken, outcome.Peers).ConfigureAwait(false);
                if (_current.ReportedOutcome)
                {
                    Log.Done(logger, _current.Task, state);
                }
            }
        }

        private async Task<Current> StartAsync(RunnerView runner, string key, CancellationToken cancellationToken)
        {
            var profile = owner._profile;
            var logger = owner._logger;
            var tasks = await client.GetTasksAsync(cancellationToken).ConfigureAwait(false);
            var task = tasks.FirstOrDefault(t => t.GetProperty("name").GetString() == runner.Task);
            if (task.ValueKind != JsonValueKind.Object)
            {
                return new Current(key, runner.Task!, "?", new FinishedExecution(TaskOutcome.Failed($"task '{runner.Task}' is not on the ledger")));
            }

            var type = task.GetProperty("taskType").GetString()!;
            Log.Executing(logger, runner.Task!, type, profile.TaskRunner, runner.RequiredPeers);
            using var document = JsonDocument.Parse(task.GetProperty("body").GetString()!);
            var body = document.RootElement.Clone();
            var errors = TaskSchema.ValidateBody(type, body);
            if (errors.Count > 0)
            {
                var reason = $"its definition does not follow HPE's task schema: {string.Join("; ", errors)}";
                Log.Refused(logger, runner.Task!, reason);
                return new Current(key, runner.Task!, type, new FinishedExecution(TaskOutcome.Failed(reason.Length <= 1000 ? reason : reason[..1000] + "…")));
            }

            var execution = type switch
            {
                "RUN_SWARM" => await RunSwarmExecution.StartAsync(profile, owner._options, client, profile.TaskRunner, RunSwarmBody.Parse(body), runner.RequiredPeers, logger, cancellationToken).ConfigureAwait(false),
                "MAKE_SWARM_USER_CONTENT" => UserContentExecution.Start(profile, UserContentBody.Parse(body), logger),
                _ => ContainerTaskExecution.Start(profile, owner._options, profile.TaskRunner, type, task.GetProperty("outcome").GetString()!, body),
            };
            Log.Started(logger, runner.Task!, execution.Started);
            return new Current(key, runner.Task!, type, execution);
        }

        /// <summary>Reports; true once the ledger has it, or once it can never take it (the runner moved on).</summary>
        private async Task<bool> ReportAsync(string state, string message, CancellationToken cancellationToken, IReadOnlyList<Ledger.Transactions.TaskPeerReport>? peers = null)
        {
            var current = _current!;
            peers ??= current.Type == "RUN_SWARM" ? current.Execution.Peers : null;
            try
            {
                var receipt = await client.ReportTaskAsync(owner._profile.TaskRunner, state, message, peers is { Count: > 0 } ? peers : null, cancellationToken).ConfigureAwait(false);
                Log.Reported(owner._logger, state, current.Task, receipt.Height, message);
                return true;
            }
            catch (TransactionRejectedException e) when (e.Kind is RejectionKind.Conflict or RejectionKind.Forbidden or RejectionKind.NotFound or RejectionKind.Invalid)
            {
                // The runner is done (enough others completed), reset, or refuses this report for good: retrying cannot help.
                Log.ReportFailed(owner._logger, state, current.Task, e.Message);
                return true;
            }
        }

        /// <summary>Waits for a ledger event, the current task's end, or (while the SN is away) a short pause.</summary>
        private async Task WaitForChangeAsync(CancellationToken cancellationToken)
        {
            var options = owner._options;
            if (_failures > 0)
            {
                await Delay(TimeSpan.FromSeconds(Math.Min(5, _failures)), cancellationToken).ConfigureAwait(false);
                return;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var poll = PollEventsAsync(options.PollWait, wait.Token);
            var outcome = _current is { ReportedOutcome: false } c ? c.Execution.Outcome : Task.Delay(Timeout.Infinite, wait.Token);
            await Task.WhenAny(poll, outcome).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
            await poll.ConfigureAwait(false);
        }

        private async Task PollEventsAsync(TimeSpan wait, CancellationToken cancellationToken)
        {
            try
            {
                if (_eventsFrom < 0)
                {
                    _eventsFrom = (await client.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Height + 1;
                }

                var batch = await client.GetEventsAsync(_eventsFrom, wait, cancellationToken).ConfigureAwait(false);
                _eventsFrom = batch.Next;
            }
            catch (OperationCanceledException)
            {
                // The task ended or the operator stops: the loop looks at the ledger now.
            }
            catch (SwarmException)
            {
                // The next reconcile finds out and counts the failure.
                await Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task StopCurrentAsync(bool shutdown)
        {
            if (_current is null)
            {
                return;
            }

            var current = _current;
            _current = null;
            if (shutdown)
            {
                Log.ShuttingDown(owner._logger, current.Task);
            }

            await current.Execution.DisposeAsync().ConfigureAwait(false);
            Log.StoppedTask(owner._logger, current.Task);
        }

        private static async Task Delay(TimeSpan delay, CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }
    }
}
