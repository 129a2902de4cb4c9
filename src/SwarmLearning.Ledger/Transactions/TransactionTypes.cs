namespace SwarmLearning.Ledger.Transactions;

/// <summary>The transaction types the contracts understand. Anything else is refused.</summary>
public static class TransactionTypes
{
    /// <summary>The genesis configuration; only in block 0, signed by the sentinel.</summary>
    public const string Genesis = "swarm.genesis";

    /// <summary>An administrator admits an identity by fingerprint, role and name, so that it may connect and register.</summary>
    public const string Enrol = "member.enrol";

    /// <summary>A component joins: role, name, certificate, addresses. Its fingerprint must be enrolled.</summary>
    public const string Register = "member.register";

    /// <summary>
    /// A member moves to a new certificate of the same role and name (renewal, or a key it suspects): signed by the old
    /// identity, with the new key's proof of possession. The new fingerprint inherits everything; the old one is retired.
    /// </summary>
    public const string Rotate = "member.rotate";

    /// <summary>A member says it is alive.</summary>
    public const string Heartbeat = "member.heartbeat";

    /// <summary>An administrator (or the member itself) removes a member, or an enrolled identity, for good.</summary>
    public const string Revoke = "member.revoke";

    /// <summary>Creates a training contract by name.</summary>
    public const string ContractCreate = "contract.create";

    /// <summary>Resets a completed training contract.</summary>
    public const string ContractReset = "contract.reset";

    /// <summary>An SL node is ready for a round, with its merge weight.</summary>
    public const string RoundReady = "round.ready";

    /// <summary>A participant has published its model for the round (hash, size).</summary>
    public const string RoundSubmit = "round.submit";

    /// <summary>The leader published the merged model (hash, contributors).</summary>
    public const string RoundMerged = "round.merged";

    /// <summary>An SL node opens a session on a training contract: from now on rounds wait for it and the contract is not complete without its end.</summary>
    public const string TrainingJoin = "training.join";

    /// <summary>An ML node's loss, metric and epochs.</summary>
    public const string Progress = "training.progress";

    /// <summary>An SL node's local training ended (with its <c>checkinModelOnTrainEnd</c> mode).</summary>
    public const string TrainingEnd = "training.end";

    /// <summary>Creates a task (HPE's task schema).</summary>
    public const string TaskCreate = "task.create";

    /// <summary>Freezes a task's body.</summary>
    public const string TaskFinalize = "task.finalize";

    /// <summary>Deletes a task that is not finalized.</summary>
    public const string TaskDelete = "task.delete";

    /// <summary>Creates a task runner.</summary>
    public const string TaskRunnerCreate = "taskrunner.create";

    /// <summary>Assigns a finalized task to a task runner.</summary>
    public const string TaskRunnerAssign = "taskrunner.assign";

    /// <summary>A SWOP reports its state on the task runner's current task.</summary>
    public const string TaskRunnerReport = "taskrunner.report";

    /// <summary>Resets a task runner whose task is done.</summary>
    public const string TaskRunnerReset = "taskrunner.reset";

    /// <summary>Every type, for validation and documentation.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Genesis, Enrol, Register, Rotate, Heartbeat, Revoke, ContractCreate, ContractReset, RoundReady, RoundSubmit, RoundMerged,
        TrainingJoin, Progress, TrainingEnd, TaskCreate, TaskFinalize, TaskDelete, TaskRunnerCreate, TaskRunnerAssign, TaskRunnerReport,
        TaskRunnerReset,
    ];
}
