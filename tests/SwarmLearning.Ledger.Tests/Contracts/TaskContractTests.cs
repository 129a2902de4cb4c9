using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Tests.Contracts;

public sealed class TaskContractTests : IDisposable
{
    private readonly TestSwarm _swarm = new();
    private readonly SwarmIdentity _ctl;
    private readonly List<SwarmIdentity> _swops;

    public TaskContractTests()
    {
        _ctl = _swarm.Identity("ctl", SwarmRole.Swci);
        _swops = [_swarm.Identity("swop1", SwarmRole.Swop), _swarm.Identity("swop2", SwarmRole.Swop)];
        _swarm.Apply(TestSwarm.T0 + 1, _swarm.Register(_ctl), _swarm.Register(_swops[0]), _swarm.Register(_swops[1]));
    }

    public void Dispose() => _swarm.Dispose();

    private long _clock = TestSwarm.T0 + 10;

    private long Tick() => _clock += 10;

    private Transaction Create(string name, string type = "RUN_SWARM", string body = """{"Command":"model/mnist.py","Entrypoint":"python3"}""") =>
        _swarm.Tx(_ctl, TransactionTypes.TaskCreate, new TaskPayload
        {
            Name = name,
            TaskType = type,
            Author = "tester",
            Prereq = "ROOTTASK",
            Outcome = "model",
            Body = JsonDocument.Parse(body).RootElement.Clone(),
        }, PayloadJson.Default.TaskPayload);

    private Transaction Named(SwarmIdentity sender, string type, string name) => _swarm.Tx(sender, type, new NamePayload { Name = name }, PayloadJson.Default.NamePayload);

    private Transaction Assign(AssignPayload payload) => _swarm.Tx(_ctl, TransactionTypes.TaskRunnerAssign, payload, PayloadJson.Default.AssignPayload);

    private Transaction Report(SwarmIdentity swop, string state, string runner = LedgerDefaults.HpeDefaultTaskRunner) =>
        _swarm.Tx(swop, TransactionTypes.TaskRunnerReport, new TaskReportPayload { Runner = runner, State = state }, PayloadJson.Default.TaskReportPayload);

    private TaskRunnerState Runner => _swarm.State.TaskRunners[LedgerDefaults.HpeDefaultTaskRunner];

    [Fact]
    public void A_task_is_created_finalized_and_then_neither_deleted_nor_recreated()
    {
        _swarm.Apply(Tick(), Create("train"));
        var task = _swarm.State.Tasks["train"];
        Assert.False(task.Finalized);
        Assert.Equal("RUN_SWARM", task.TaskType);
        Assert.Contains("mnist.py", task.Body, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(Tick(), Create("train")).Kind);
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "train"));
        Assert.True(_swarm.State.Tasks["train"].Finalized);
        Assert.Contains("only tasks that are not finalized", _swarm.Refused(Tick(), Named(_ctl, TransactionTypes.TaskDelete, "train")).Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "train")).Kind);
    }

    [Fact]
    public void A_task_that_is_not_finalized_can_be_deleted()
    {
        _swarm.Apply(Tick(), Create("draft"));
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskDelete, "draft"));
        Assert.False(_swarm.State.Tasks.ContainsKey("draft"));
        Assert.Equal(RejectionKind.NotFound, _swarm.Refused(Tick(), Named(_ctl, TransactionTypes.TaskDelete, "draft")).Kind);
    }

    [Fact]
    public void Task_definitions_are_validated()
    {
        Assert.Contains("taskType", _swarm.Refused(Tick(), Create("x", type: "RUN_ANYTHING")).Message, StringComparison.Ordinal);
        Assert.Contains("JSON object", _swarm.Refused(Tick(), Create("x", body: "[1,2]")).Message, StringComparison.Ordinal);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(Tick(), _swarm.Tx(_swops[0], TransactionTypes.TaskCreate, new TaskPayload
        {
            Name = "x",
            TaskType = "RUN_SWARM",
            Author = "a",
            Prereq = "ROOTTASK",
            Outcome = "o",
            Body = JsonDocument.Parse("{}").RootElement.Clone(),
        }, PayloadJson.Default.TaskPayload)).Kind);
    }

    [Fact]
    public void Assigning_needs_a_finalized_task_an_idle_runner_and_exactly_one_way_to_pick_peers()
    {
        _swarm.Apply(Tick(), Create("train"));
        var notFinal = _swarm.Refused(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = 2 }));
        Assert.Contains("not finalized", notFinal.Message, StringComparison.Ordinal);
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "train"));
        Assert.Contains("exactly one", _swarm.Refused(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = 2, All = true })).Message, StringComparison.Ordinal);
        Assert.Contains("exactly one", _swarm.Refused(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train" })).Message, StringComparison.Ordinal);

        _swarm.Apply(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = 2 }));
        Assert.Equal(TaskRunnerStatus.Running, Runner.Status);
        Assert.Equal(2, Runner.RequiredPeers);
        Assert.Contains("reset it", _swarm.Refused(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = 1 })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_task_runner_completes_when_the_required_peers_complete_and_then_resets()
    {
        _swarm.Apply(Tick(), Create("train"));
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "train"));
        _swarm.Apply(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", All = true }));
        Assert.Equal(2, Runner.RequiredPeers); // both operators are active
        Assert.Contains("only a completed or failed", _swarm.Refused(Tick(), Named(_ctl, TransactionTypes.TaskRunnerReset, LedgerDefaults.HpeDefaultTaskRunner)).Message, StringComparison.Ordinal);
        _swarm.Apply(Tick(), Report(_swops[0], "running"), Report(_swops[1], "completed"));
        Assert.Equal(TaskRunnerStatus.Running, Runner.Status);
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(Tick(), Report(_swarm.Sentinel, "completed")).Kind); // an SN is no operator
        Assert.Equal(RejectionKind.Invalid, _swarm.Refused(Tick(), Report(_swops[0], "done")).Kind);
        _swarm.Apply(Tick(), Report(_swops[0], "completed"));
        Assert.Equal(TaskRunnerStatus.Completed, Runner.Status);

        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskRunnerReset, LedgerDefaults.HpeDefaultTaskRunner));
        Assert.Equal(TaskRunnerStatus.Idle, Runner.Status);
        Assert.Empty(Runner.Reports);
        Assert.Null(Runner.Task);
    }

    [Fact]
    public void A_task_runner_fails_when_too_few_operators_are_left_to_succeed()
    {
        _swarm.Apply(Tick(), Create("train"));
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "train"));
        _swarm.Apply(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = 2 }));
        _swarm.Apply(Tick(), Report(_swops[0], "failed"));
        Assert.Equal(TaskRunnerStatus.Failed, Runner.Status); // 2 operators, 1 failed: 2 can no longer complete
    }

    [Fact]
    public void A_targeted_task_takes_reports_from_its_target_only()
    {
        _swarm.Apply(Tick(), Create("pull", type: "PULL_IMAGE", body: """{"Tag":"latest"}"""));
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "pull"));
        _swarm.Apply(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "pull", Target = _swops[1].Fingerprint.ToString() }));
        Assert.Equal(RejectionKind.Forbidden, _swarm.Refused(Tick(), Report(_swops[0], "completed")).Kind);
        _swarm.Apply(Tick(), Report(_swops[1], "completed"));
        Assert.Equal(TaskRunnerStatus.Completed, Runner.Status);
    }

    [Fact]
    public void Task_runners_are_created_once_per_name()
    {
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskRunnerCreate, "runner2"));
        Assert.Equal(TaskRunnerStatus.Idle, _swarm.State.TaskRunners["runner2"].Status);
        Assert.Equal(RejectionKind.Conflict, _swarm.Refused(Tick(), Named(_ctl, TransactionTypes.TaskRunnerCreate, "runner2")).Kind);
    }

    private Transaction PeerReport(SwarmIdentity swop, string state, params (string Uid, string State)[] peers) =>
        _swarm.Tx(swop, TransactionTypes.TaskRunnerReport, new TaskReportPayload
        {
            Runner = LedgerDefaults.HpeDefaultTaskRunner,
            State = state,
            Peers = [.. peers.Select(p => new TaskPeerReport { Uid = p.Uid, State = p.State, Message = $"{p.Uid} {p.State}" })],
        }, PayloadJson.Default.TaskReportPayload);

    private void AssignRunSwarm(int peers)
    {
        _swarm.Apply(Tick(), Create("train"));
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "train"));
        _swarm.Apply(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "train", Peers = peers }));
    }

    [Fact]
    public void A_RUN_SWARM_runner_counts_completed_SL_ML_pairs_so_one_operator_with_two_nodes_completes_two_peers()
    {
        AssignRunSwarm(peers: 2);
        _swarm.Apply(Tick(), PeerReport(_swops[0], "running", ("sl1", "running"), ("sl2", "running")));
        Assert.Equal(TaskRunnerStatus.Running, Runner.Status);
        _swarm.Apply(Tick(), PeerReport(_swops[0], "completed", ("sl1", "completed"), ("sl2", "completed")));
        Assert.Equal(TaskRunnerStatus.Completed, Runner.Status);
        var peers = Runner.Reports[_swops[0].Fingerprint].Peers!;
        Assert.Equal(["sl1", "sl2"], peers.Select(p => p.Uid));
        Assert.All(peers, p => Assert.Equal("completed", p.State));
    }

    [Fact]
    public void A_RUN_SWARM_report_of_one_completed_pair_does_not_complete_two_peers()
    {
        AssignRunSwarm(peers: 2);
        _swarm.Apply(Tick(), PeerReport(_swops[0], "completed", ("sl1", "completed")));
        Assert.Equal(TaskRunnerStatus.Running, Runner.Status);
        _swarm.Apply(Tick(), Report(_swops[1], "completed")); // a report without pairs counts as one
        Assert.Equal(TaskRunnerStatus.Completed, Runner.Status);
    }

    [Fact]
    public void Reported_pairs_are_validated_and_kept_in_the_state_hash()
    {
        AssignRunSwarm(peers: 2);
        Assert.Contains("peers[1].state", _swarm.Refused(Tick(), PeerReport(_swops[0], "running", ("sl1", "running"), ("sl2", "done"))).Message, StringComparison.Ordinal);
        Assert.Contains("listed twice", _swarm.Refused(Tick(), PeerReport(_swops[0], "running", ("sl1", "running"), ("sl1", "running"))).Message, StringComparison.Ordinal);
        Assert.Contains("peers[0].uid", _swarm.Refused(Tick(), PeerReport(_swops[0], "running", ("sl 1", "running"))).Message, StringComparison.Ordinal);

        _swarm.Apply(Tick(), Report(_swops[0], "running"));
        var without = _swarm.State.ComputeHash();
        var copy = _swarm.State.Clone();
        copy.TaskRunners[LedgerDefaults.HpeDefaultTaskRunner].Reports[_swops[0].Fingerprint] =
            copy.TaskRunners[LedgerDefaults.HpeDefaultTaskRunner].Reports[_swops[0].Fingerprint] with { Peers = [new TaskPeerRecord("sl1", "running", null)] };
        Assert.NotEqual(without, copy.ComputeHash());
    }

    [Fact]
    public void Pairs_are_refused_on_a_task_other_than_RUN_SWARM()
    {
        _swarm.Apply(Tick(), Create("pull", type: "PULL_IMAGE", body: """{"Tag":"latest"}"""));
        _swarm.Apply(Tick(), Named(_ctl, TransactionTypes.TaskFinalize, "pull"));
        _swarm.Apply(Tick(), Assign(new AssignPayload { Runner = LedgerDefaults.HpeDefaultTaskRunner, Task = "pull", Peers = 1 }));
        Assert.Contains("RUN_SWARM tasks only", _swarm.Refused(Tick(), PeerReport(_swops[0], "completed", ("sl1", "completed"))).Message, StringComparison.Ordinal);
    }
}
