using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Operator.Execution;

/// <summary>How a task ended on this operator: what to report to the ledger.</summary>
internal sealed record TaskOutcome(bool Succeeded, string Message, IReadOnlyList<TaskPeerReport>? Peers = null)
{
    public static TaskOutcome Failed(string message, IReadOnlyList<TaskPeerReport>? peers = null) => new(false, message, peers);

    public static TaskOutcome Completed(string message, IReadOnlyList<TaskPeerReport>? peers = null) => new(true, message, peers);
}

/// <summary>
/// One task being executed on this operator. <see cref="Outcome"/> completes when the task has succeeded or failed
/// here; disposing stops whatever it still runs (on a task runner reset, or when the operator stops).
/// </summary>
internal interface ITaskExecution : IAsyncDisposable
{
    /// <summary>What was started, for the <c>running</c> report.</summary>
    string Started { get; }

    /// <summary>RUN_SWARM: each SL/ML pair's state now; null for other tasks.</summary>
    IReadOnlyList<TaskPeerReport>? Peers { get; }

    /// <summary>Completes when the task is done here; never faults (a failure is an outcome).</summary>
    Task<TaskOutcome> Outcome { get; }
}

/// <summary>A task whose outcome was known at once (a refusal, a container task without an engine).</summary>
internal sealed class FinishedExecution(TaskOutcome outcome) : ITaskExecution
{
    public string Started => "nothing started";

    public IReadOnlyList<TaskPeerReport>? Peers => outcome.Peers;

    public Task<TaskOutcome> Outcome { get; } = Task.FromResult(outcome);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
