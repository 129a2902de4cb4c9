using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Cli.Ctl;

// Tasks and task runners: create from YAML, finalize, delete, show; create runners, assign, follow, wait, reset.
internal sealed partial class CtlRunner
{
    private async Task<CtlResult> CreateTaskAsync(CreateTaskFrom s, CancellationToken cancellationToken)
    {
        var payload = TaskDefinition.Load(Resolve(s.File));
        var receipt = await Session.SubmitAsync(TransactionTypes.TaskCreate, payload, PayloadJson.Default.TaskPayload,
            $"task '{payload.Name}' from {s.File}", cancellationToken).ConfigureAwait(false);
        return new CtlResult(new ReceiptView("task.create", payload.Name, receipt.Height, receipt.TransactionId),
            $"task '{payload.Name}' ({payload.TaskType}) created in block {receipt.Height}; FINALIZE TASK {payload.Name} before assigning it");
    }

    private Task<CtlResult> FinalizeTaskAsync(FinalizeTask s, CancellationToken cancellationToken) =>
        NamedAsync(TransactionTypes.TaskFinalize, s.Name, $"finalizing task '{s.Name}'", $"task '{s.Name}' finalized", cancellationToken);

    private Task<CtlResult> DeleteTaskAsync(DeleteTask s, CancellationToken cancellationToken) =>
        NamedAsync(TransactionTypes.TaskDelete, s.Name, $"deleting task '{s.Name}'", $"task '{s.Name}' deleted", cancellationToken);

    private Task<CtlResult> CreateTaskRunnerAsync(CreateTaskRunner s, CancellationToken cancellationToken) =>
        NamedAsync(TransactionTypes.TaskRunnerCreate, s.Name, $"creating task runner '{s.Name}'", $"task runner '{s.Name}' created", cancellationToken);

    private async Task<CtlResult> NamedAsync(string type, string name, string what, string done, CancellationToken cancellationToken)
    {
        var receipt = await Session.SubmitAsync(type, new NamePayload { Name = name }, PayloadJson.Default.NamePayload, what, cancellationToken).ConfigureAwait(false);
        return new CtlResult(new ReceiptView(type, name, receipt.Height, receipt.TransactionId), $"{done} in block {receipt.Height}");
    }

    private async Task<CtlResult> TaskAsync(GetTask s, CancellationToken cancellationToken)
    {
        var task = (await TasksAsync(cancellationToken).ConfigureAwait(false)).Find(t => t.Name == s.Name)
            ?? throw new SwarmException($"the SN at {Session.Sn} has no task '{s.Name}'; LIST TASKS shows them");
        var view = View(task, await MembersAsync(cancellationToken).ConfigureAwait(false));
        var body = JsonSerializer.Serialize(view.Body, IndentedJson);
        if (s.BodyOnly)
        {
            return new CtlResult(new { view.Name, view.Body }, body);
        }

        var text = new StringBuilder()
            .Append("task ").AppendLine(view.Name)
            .Append("  type       ").AppendLine(view.TaskType)
            .Append("  author     ").AppendLine(view.Author)
            .Append("  prereq     ").AppendLine(view.Prereq)
            .Append("  outcome    ").AppendLine(view.Outcome)
            .Append("  finalized  ").AppendLine(view.Finalized ? "yes" : "no")
            .Append("  created    ").Append(view.CreatedAt).Append(" by ").Append(view.CreatedBy);
        return new CtlResult(view, text.ToString());
    }

    private async Task<CtlResult> ListTasksAsync(CancellationToken cancellationToken)
    {
        var members = await MembersAsync(cancellationToken).ConfigureAwait(false);
        var views = (await TasksAsync(cancellationToken).ConfigureAwait(false)).Select(t => View(t, members)).ToList();
        return new CtlResult(views, views.Count == 0 ? "no tasks" : CtlFormat.Table(["NAME", "TYPE", "FINALIZED", "AUTHOR", "PREREQ", "CREATED"],
            views.Select(v => new[] { v.Name, v.TaskType, v.Finalized ? "yes" : "no", v.Author, v.Prereq, v.CreatedAt })));
    }

    private async Task<CtlResult> TaskRunnerStatusAsync(GetTaskRunnerStatus s, CancellationToken cancellationToken)
    {
        var view = await RunnerViewAsync(s.Name, cancellationToken).ConfigureAwait(false);
        var text = new StringBuilder()
            .Append("task runner ").AppendLine(view.Name)
            .Append("  status     ").AppendLine(view.Status);
        if (view.Task is not null)
        {
            text.Append("  task       ").AppendLine(view.Task)
                .Append("  peers      ").Append(view.Completed).Append('/').Append(view.RequiredPeers).Append(" completed, ").Append(view.Running).Append(" running, ")
                .Append(view.Failed).Append(" failed").AppendLine(view.Target is null ? "" : $" (target {view.Target})")
                .Append("  assigned   ").AppendLine(view.AssignedAt);
        }

        if (view.Peers.Count > 0)
        {
            text.AppendLine(PeersTable(view.Peers));
        }

        return new CtlResult(view, text.ToString().TrimEnd());
    }

    private async Task<CtlResult> TaskRunnerPeersAsync(GetTaskRunnerPeers s, CancellationToken cancellationToken)
    {
        var view = await RunnerViewAsync(s.Name, cancellationToken).ConfigureAwait(false);
        if (s.Peer is null)
        {
            return new CtlResult(view.Peers, view.Peers.Count == 0 ? $"no operator has reported on task runner '{view.Name}'" : PeersTable(view.Peers));
        }

        var peer = view.Peers.FirstOrDefault(p =>
                p.Index.ToString(CultureInfo.InvariantCulture) == s.Peer || p.Name == s.Peer || p.Fingerprint.StartsWith(s.Peer, StringComparison.OrdinalIgnoreCase))
            ?? throw new SwarmException(
                $"no operator '{s.Peer}' has reported on task runner '{view.Name}'; give an index (0 to {view.Peers.Count - 1}), a name or a fingerprint from LIST TASKRUNNER PEERS {view.Name}");
        return new CtlResult(peer, $"operator {peer.Name} ({peer.Fingerprint[..16]}) on task runner '{view.Name}': {peer.State} at {peer.At}{(peer.Message is null ? "" : $": {peer.Message}")}");
    }

    private async Task<CtlResult> ListTaskRunnersAsync(CancellationToken cancellationToken)
    {
        var members = await MembersAsync(cancellationToken).ConfigureAwait(false);
        var views = (await RunnersAsync(cancellationToken).ConfigureAwait(false)).Select(r => View(r, members)).ToList();
        return new CtlResult(views, CtlFormat.Table(["NAME", "STATUS", "TASK", "COMPLETED", "FAILED"],
            views.Select(v => new[] { v.Name, v.Status, v.Task, $"{v.Completed}/{v.RequiredPeers}", v.Failed.ToString(CultureInfo.InvariantCulture) })));
    }

    private async Task<CtlResult> ResetTaskRunnerAsync(ResetTaskRunner s, CancellationToken cancellationToken)
    {
        var runner = await RunnerAsync(s.Name, cancellationToken).ConfigureAwait(false);
        if (runner.Status == "idle")
        {
            // HPE's swci-init resets the default runner before its first assignment; an idle runner is already reset.
            return new CtlResult(new ReceiptView("taskrunner.reset", s.Name, -1, "", "already idle; nothing to reset"), $"task runner '{s.Name}' is idle; nothing to reset");
        }

        return await NamedAsync(TransactionTypes.TaskRunnerReset, s.Name, $"resetting task runner '{s.Name}'", $"task runner '{s.Name}' reset", cancellationToken).ConfigureAwait(false);
    }

    private async Task<CtlResult> AssignAsync(AssignTask s, CancellationToken cancellationToken)
    {
        string? targetFingerprint = null;
        if (s.Target is { } wanted)
        {
            var operators = (await Session.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false)).Where(m => m.Role == "swop" && !m.Revoked).ToList();
            var match = operators.Where(m => m.Name == wanted || string.Equals(m.Fingerprint, wanted, StringComparison.OrdinalIgnoreCase)).ToList();
            targetFingerprint = match.Count == 1 ? match[0].Fingerprint
                : Fingerprint.TryParse(wanted, out var f) ? f.ToString()
                : throw new SwarmException(
                    $"no operator (SWOP) named '{wanted}' is registered{(match.Count > 1 ? " once: give its fingerprint" : "")}; the operators are: {(operators.Count == 0 ? "none" : string.Join(", ", operators.Select(o => o.Name)))}");
        }

        var payload = new AssignPayload { Runner = s.Runner, Task = s.Task, Peers = s.Peers, All = s.All, Target = targetFingerprint };
        var receipt = await Session.SubmitAsync(TransactionTypes.TaskRunnerAssign, payload, PayloadJson.Default.AssignPayload,
            $"assigning task '{s.Task}' to task runner '{s.Runner}'", cancellationToken).ConfigureAwait(false);
        var how = s.All ? "all active operators" : targetFingerprint is not null ? $"operator {s.Target}" : $"{s.Peers} peer(s)";
        return new CtlResult(new ReceiptView("taskrunner.assign", s.Runner, receipt.Height, receipt.TransactionId, $"task '{s.Task}' for {how}"),
            $"task '{s.Task}' assigned to task runner '{s.Runner}' for {how} in block {receipt.Height}");
    }

    private async Task<CtlResult> WaitAsync(WaitForTaskRunner s, CancellationToken cancellationToken)
    {
        var timeout = s.Timeout ?? Options.WaitTimeout;
        var clock = Stopwatch.StartNew();
        TimeSpan? lastProgress = null;
        var from = (await Session.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Height + 1;
        while (true)
        {
            var view = await RunnerViewAsync(s.Name, cancellationToken).ConfigureAwait(false);
            var waited = clock.Elapsed;
            var result = new WaitView(view.Name, view.Status, view.Task, view.Completed, view.RequiredPeers, view.Failed, Math.Round(waited.TotalSeconds, 1));
            switch (view.Status)
            {
                case "completed":
                    return new CtlResult(result, $"task runner '{view.Name}' completed task '{view.Task}': {view.Completed}/{view.RequiredPeers} peer(s) ({waited.TotalSeconds:0} s)");
                case "idle":
                    return new CtlResult(result, $"task runner '{view.Name}' is idle: no task is assigned to wait for");
                case "failed":
                    throw new SwarmException(
                        $"task runner '{view.Name}' failed task '{view.Task}': {view.Completed}/{view.RequiredPeers} completed, {view.Failed} failed"
                        + string.Concat(view.Peers.Where(p => p.State == "failed").Select(p => $"; {p.Name}: {p.Message ?? "no message"}"))
                        + $". RESET TASKRUNNER {view.Name} and assign again");
            }

            if (waited >= timeout)
            {
                throw new SwarmException(
                    $"waited {timeout.TotalMinutes:0.##} min for task runner '{view.Name}' (the maximum); task '{view.Task}' is still running with {view.Completed}/{view.RequiredPeers} completed. "
                    + "Check the operators (GET TASKRUNNER STATUS), or wait longer: WAIT FOR TASKRUNNER NAME SECONDS, or --wait-timeout");
            }

            if (lastProgress is null || waited - lastProgress >= Options.ProgressInterval)
            {
                lastProgress = waited;
                await Options.Progress.WriteLineAsync(
                    $"waiting for task runner '{view.Name}': task '{view.Task}' {view.Completed}/{view.RequiredPeers} completed, {view.Running} running, {view.Failed} failed ({waited.TotalSeconds:0} s of at most {timeout.TotalSeconds:0} s)").ConfigureAwait(false);
            }

            // Wake on the next block (a report is one) rather than polling on a timer.
            var wait = TimeSpan.FromSeconds(Math.Clamp((timeout - waited).TotalSeconds, 0.1, 5));
            from = (await Session.Client.GetEventsAsync(from, wait, cancellationToken).ConfigureAwait(false)).Next;
        }
    }

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string PeersTable(IReadOnlyList<PeerView> peers) =>
        CtlFormat.Table(["#", "OPERATOR", "STATE", "AT", "MESSAGE"], peers.Select(p => new[] { p.Index.ToString(CultureInfo.InvariantCulture), p.Name, p.State, p.At, p.Message }));

    private async Task<List<SnTask>> TasksAsync(CancellationToken cancellationToken) =>
        [.. (await Session.Client.GetTasksAsync(cancellationToken).ConfigureAwait(false)).Select(e => e.Deserialize<SnTask>(LedgerJson.Options)!)];

    private async Task<List<SnTaskRunner>> RunnersAsync(CancellationToken cancellationToken) =>
        [.. (await Session.Client.GetTaskRunnersAsync(cancellationToken).ConfigureAwait(false)).Select(e => e.Deserialize<SnTaskRunner>(LedgerJson.Options)!)];

    private async Task<SnTaskRunner> RunnerAsync(string name, CancellationToken cancellationToken) =>
        (await RunnersAsync(cancellationToken).ConfigureAwait(false)).Find(r => r.Name == name)
        ?? throw new SwarmException($"the SN at {Session.Sn} has no task runner '{name}'; LIST TASKRUNNERS shows them, CREATE TASKRUNNER makes one");

    private async Task<TaskRunnerView> RunnerViewAsync(string name, CancellationToken cancellationToken)
    {
        var runner = await RunnerAsync(name, cancellationToken).ConfigureAwait(false);
        return View(runner, await MembersAsync(cancellationToken).ConfigureAwait(false));
    }

    private static TaskRunnerView View(SnTaskRunner r, IReadOnlyDictionary<string, MemberView> members)
    {
        var peers = r.Reports.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select((p, i) => new PeerView(i, CtlFormat.NameOf(members, p.Key), p.Key, p.Value.State, p.Value.Message, CtlFormat.Time(p.Value.At))).ToList();
        return new TaskRunnerView(r.Name, r.Status, r.Task, r.RequiredPeers, r.Target is { } t ? CtlFormat.NameOf(members, t) : null, CtlFormat.Time(r.AssignedAt),
            peers.Count(p => p.State == "running"), peers.Count(p => p.State == "completed"), peers.Count(p => p.State == "failed"), peers);
    }

    private static TaskView View(SnTask t, IReadOnlyDictionary<string, MemberView> members)
    {
        using var body = JsonDocument.Parse(t.Body);
        return new TaskView(t.Name, t.TaskType, t.Author, t.Prereq, t.Outcome, t.Finalized, CtlFormat.NameOf(members, t.CreatedBy), CtlFormat.Time(t.CreatedAt), body.RootElement.Clone());
    }
}
