using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Contracts;

// Tasks and task runners, in HPE's schema: data only. SWCI (or an administrator) creates, finalizes and assigns tasks;
// SWOPs report on them. Executing tasks is SWOP's job (a later issue).
internal sealed partial class ContractEngine
{
    private static readonly string[] TaskTypes = ["RUN_SWARM", "MAKE_SWARM_USER_CONTENT", "MAKE_USER_CONTAINER", "PULL_IMAGE"];
    private static readonly string[] ReportStates = ["running", "completed", "failed"];

    /// <summary>The largest task body, as compact JSON.</summary>
    private const int MaxTaskBody = 64 * 1024;

    private static void ApplyTaskCreate(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var payload = ParsePayload(tx, PayloadJson.Default.TaskPayload);
        RequireName(payload.Name, "task.create: name");
        if (!TaskTypes.Contains(payload.TaskType))
        {
            throw new TransactionRejectedException($"task.create: taskType \"{Truncate(payload.TaskType)}\" is not one of {string.Join(", ", TaskTypes)}");
        }

        RequireText(payload.Author, "task.create: author");
        RequireText(payload.Prereq, "task.create: prereq");
        RequireText(payload.Outcome, "task.create: outcome");
        if (payload.Body.ValueKind != JsonValueKind.Object)
        {
            throw new TransactionRejectedException($"task.create: body must be a JSON object, not {payload.Body.ValueKind.ToString().ToLowerInvariant()}");
        }

        var body = JsonSerializer.Serialize(payload.Body);
        if (body.Length > MaxTaskBody)
        {
            throw new TransactionRejectedException($"task.create: body is {body.Length} characters; the limit is {MaxTaskBody}");
        }

        if (state.Tasks.ContainsKey(payload.Name))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"task.create: task '{payload.Name}' exists; delete it first if it is not finalized, or pick another name");
        }

        state.Tasks.Add(payload.Name, new TaskState
        {
            Name = payload.Name,
            TaskType = payload.TaskType,
            Author = payload.Author,
            Prereq = payload.Prereq,
            Outcome = payload.Outcome,
            Body = body,
            CreatedBy = sender.Fingerprint,
            CreatedAt = state.Time,
        });
        events.Add(new LedgerEvent(state.Height, state.Time, "task.created", payload.Name, null, sender.Fingerprint.ToString(), $"task '{payload.Name}' ({payload.TaskType}) created by '{sender.Name}'"));
    }

    private static void ApplyTaskFinalize(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var task = RequireTask(state, ParsePayload(tx, PayloadJson.Default.NamePayload).Name, tx.Type);
        if (task.Finalized)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"task.finalize: task '{task.Name}' is already finalized");
        }

        state.Tasks[task.Name] = task with { Finalized = true };
        events.Add(new LedgerEvent(state.Height, state.Time, "task.finalized", task.Name, null, sender.Fingerprint.ToString(), $"task '{task.Name}' finalized"));
    }

    private static void ApplyTaskDelete(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var task = RequireTask(state, ParsePayload(tx, PayloadJson.Default.NamePayload).Name, tx.Type);
        if (task.Finalized)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"task.delete: task '{task.Name}' is finalized; only tasks that are not finalized can be deleted");
        }

        state.Tasks.Remove(task.Name);
        events.Add(new LedgerEvent(state.Height, state.Time, "task.deleted", task.Name, null, sender.Fingerprint.ToString(), $"task '{task.Name}' deleted"));
    }

    private static void ApplyTaskRunnerCreate(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var name = ParsePayload(tx, PayloadJson.Default.NamePayload).Name;
        RequireName(name, "taskrunner.create: name");
        if (state.TaskRunners.ContainsKey(name))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"taskrunner.create: task runner '{name}' exists");
        }

        state.TaskRunners.Add(name, new TaskRunnerState { Name = name, CreatedBy = sender.Fingerprint, CreatedAt = state.Time });
        events.Add(new LedgerEvent(state.Height, state.Time, "taskrunner.created", name, null, sender.Fingerprint.ToString(), $"task runner '{name}' created by '{sender.Name}'"));
    }

    private static void ApplyAssign(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var payload = ParsePayload(tx, PayloadJson.Default.AssignPayload);
        var runner = RequireRunner(state, payload.Runner, tx.Type);
        var task = RequireTask(state, payload.Task, tx.Type);
        if (!task.Finalized)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"taskrunner.assign: task '{task.Name}' is not finalized; finalize it first");
        }

        if (runner.Status != TaskRunnerStatus.Idle)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict,
                $"taskrunner.assign: task runner '{runner.Name}' is {runner.Status.ToString().ToLowerInvariant()} with task '{runner.Task}'; reset it when it is done");
        }

        var ways = (payload.Peers > 0 ? 1 : 0) + (payload.All ? 1 : 0) + (payload.Target is null ? 0 : 1);
        if (ways != 1 || payload.Peers < 0)
        {
            throw new TransactionRejectedException("taskrunner.assign: give exactly one of peers (a positive count), all (true) or target (a SWOP's fingerprint)");
        }

        Fingerprint? target = null;
        int required;
        if (payload.Target is { } hex)
        {
            var f = state.Resolve(ParseFingerprint(hex, "taskrunner.assign: target")); // an operator that rotated is targeted by its new certificate
            if (!state.Members.TryGetValue(f, out var swop) || swop.Role != SwarmRole.Swop || swop.Revoked)
            {
                throw new TransactionRejectedException(RejectionKind.NotFound, $"taskrunner.assign: target {f.Short} is not an operator (SWOP) of this swarm");
            }

            target = f;
            required = 1;
        }
        else if (payload.All)
        {
            required = state.Members.Values.Count(m => m.Role == SwarmRole.Swop && state.IsActive(m.Fingerprint));
            if (required == 0)
            {
                throw new TransactionRejectedException(RejectionKind.Conflict, "taskrunner.assign: no operator (SWOP) is active, so 'all peers' names none");
            }
        }
        else
        {
            required = payload.Peers;
        }

        runner.Status = TaskRunnerStatus.Running;
        runner.Task = task.Name;
        runner.RequiredPeers = required;
        runner.Target = target;
        runner.AssignedAt = state.Time;
        runner.Reports.Clear();
        events.Add(new LedgerEvent(state.Height, state.Time, "task.assigned", runner.Name, null, sender.Fingerprint.ToString(),
            $"task '{task.Name}' assigned to task runner '{runner.Name}' for {required} peer(s)"));
    }

    private static void ApplyReport(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: false, SwarmRole.Swop);
        var payload = ParsePayload(tx, PayloadJson.Default.TaskReportPayload);
        var runner = RequireRunner(state, payload.Runner, tx.Type);
        if (!ReportStates.Contains(payload.State))
        {
            throw new TransactionRejectedException($"taskrunner.report: state \"{Truncate(payload.State)}\" is not one of {string.Join(", ", ReportStates)}");
        }

        RequireText(payload.Message, "taskrunner.report: message", 1024);
        var peers = ValidatePeers(payload.Peers);
        if (runner.Status != TaskRunnerStatus.Running)
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"taskrunner.report: task runner '{runner.Name}' is {runner.Status.ToString().ToLowerInvariant()}, not running a task");
        }

        if (runner.Target is { } target && target != sender.Fingerprint)
        {
            throw new TransactionRejectedException(RejectionKind.Forbidden, $"taskrunner.report: the task on '{runner.Name}' targets another operator");
        }

        var runSwarm = state.Tasks.TryGetValue(runner.Task ?? string.Empty, out var task) && task.TaskType == "RUN_SWARM";
        if (peers is not null && !runSwarm)
        {
            throw new TransactionRejectedException($"taskrunner.report: peers are reported for RUN_SWARM tasks only; '{runner.Task}' is a {task?.TaskType} task");
        }

        runner.Reports[sender.Fingerprint] = new TaskReportRecord(payload.State, payload.Message, state.Time) { Peers = peers };

        // HPE: WITH n PEERS counts SL/ML pairs for RUN_SWARM (one operator may start several), operators otherwise. A
        // report without its pairs (as before peers were reported) counts as one.
        var completed = runSwarm
            ? runner.Reports.Values.Where(r => r.State == "completed").Sum(r => r.Peers?.Count(p => p.State == "completed") ?? 1)
            : runner.Reports.Values.Count(r => r.State == "completed");
        var failed = runner.Reports.Values.Count(r => r.State == "failed");
        var operators = state.Members.Values.Count(m => m.Role == SwarmRole.Swop && !m.Revoked);
        if (completed >= runner.RequiredPeers)
        {
            runner.Status = TaskRunnerStatus.Completed;
        }
        else if (failed > 0 && operators - failed < runner.RequiredPeers)
        {
            // Too few operators left that have not failed: the task cannot succeed any more.
            runner.Status = TaskRunnerStatus.Failed;
        }

        events.Add(new LedgerEvent(state.Height, state.Time, "task.report", runner.Name, null, sender.Fingerprint.ToString(),
            $"'{sender.Name}' reports {payload.State} on task '{runner.Task}'{(payload.Message is null ? "" : $": {payload.Message}")}; task runner {runner.Status.ToString().ToLowerInvariant()} ({completed}/{runner.RequiredPeers} completed)"));
    }

    /// <summary>The most SL/ML pairs one report may describe.</summary>
    private const int MaxReportedPeers = 64;

    private static List<TaskPeerRecord>? ValidatePeers(IReadOnlyList<TaskPeerReport>? peers)
    {
        if (peers is null)
        {
            return null;
        }

        if (peers.Count > MaxReportedPeers)
        {
            throw new TransactionRejectedException($"taskrunner.report: peers lists {peers.Count} SL/ML pairs; the limit is {MaxReportedPeers}");
        }

        var records = new List<TaskPeerRecord>(peers.Count);
        for (var k = 0; k < peers.Count; k++)
        {
            var p = peers[k] ?? throw new TransactionRejectedException($"taskrunner.report: peers[{k}] is null");
            RequireName(p.Uid, $"taskrunner.report: peers[{k}].uid");
            if (!ReportStates.Contains(p.State))
            {
                throw new TransactionRejectedException($"taskrunner.report: peers[{k}].state \"{Truncate(p.State)}\" is not one of {string.Join(", ", ReportStates)}");
            }

            RequireText(p.Message, $"taskrunner.report: peers[{k}].message", 1024);
            if (records.Any(r => r.Uid == p.Uid))
            {
                throw new TransactionRejectedException($"taskrunner.report: peers[{k}].uid '{p.Uid}' is listed twice");
            }

            records.Add(new TaskPeerRecord(p.Uid, p.State, p.Message));
        }

        return records;
    }

    private static void ApplyTaskRunnerReset(LedgerState state, Transaction tx, MemberState sender, List<LedgerEvent> events)
    {
        RequireRole(tx, sender, state, adminAllowed: true, SwarmRole.Swci);
        var runner = RequireRunner(state, ParsePayload(tx, PayloadJson.Default.NamePayload).Name, tx.Type);
        if (runner.Status is not (TaskRunnerStatus.Completed or TaskRunnerStatus.Failed))
        {
            throw new TransactionRejectedException(RejectionKind.Conflict, $"taskrunner.reset: task runner '{runner.Name}' is {runner.Status.ToString().ToLowerInvariant()}; only a completed or failed one can be reset");
        }

        runner.Status = TaskRunnerStatus.Idle;
        runner.Task = null;
        runner.RequiredPeers = 0;
        runner.Target = null;
        runner.AssignedAt = null;
        runner.Reports.Clear();
        events.Add(new LedgerEvent(state.Height, state.Time, "taskrunner.reset", runner.Name, null, sender.Fingerprint.ToString(), $"task runner '{runner.Name}' reset"));
    }

    private static TaskState RequireTask(LedgerState state, string name, string type) =>
        state.Tasks.TryGetValue(name, out var task)
            ? task
            : throw new TransactionRejectedException(RejectionKind.NotFound, $"{type}: no task '{Truncate(name)}'");

    private static TaskRunnerState RequireRunner(LedgerState state, string name, string type) =>
        state.TaskRunners.TryGetValue(name, out var runner)
            ? runner
            : throw new TransactionRejectedException(RejectionKind.NotFound, $"{type}: no task runner '{Truncate(name)}'");
}
