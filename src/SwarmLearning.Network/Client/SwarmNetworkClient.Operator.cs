using SwarmLearning.Identity;
using SwarmLearning.Ledger.Ordering;
using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Network.Client;

// The calls an operator (SWOP) makes besides reading tasks and task runners (SwarmNetworkClient.Ctl.cs): register and
// heartbeat, report on its task.
public sealed partial class SwarmNetworkClient
{
    /// <summary>Registers this client's identity as a member (<c>member.register</c>), reachable at <paramref name="host"/> if given.</summary>
    public Task<TransactionReceipt> RegisterAsync(string? host = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(TransactionTypes.Register, new RegisterPayload
        {
            Role = SwarmRoles.ToName(Identity.Role),
            Name = Identity.Name,
            Certificate = Convert.ToBase64String(Identity.Certificate.RawData),
            Host = host,
        }, PayloadJson.Default.RegisterPayload, cancellationToken);

    /// <summary>Sends a heartbeat (<c>member.heartbeat</c>).</summary>
    public Task<TransactionReceipt> HeartbeatAsync(CancellationToken cancellationToken = default) =>
        SubmitAsync(TransactionTypes.Heartbeat, new EmptyPayload(), PayloadJson.Default.EmptyPayload, cancellationToken);

    /// <summary>Reports this operator's state on <paramref name="runner"/>'s task (<c>taskrunner.report</c>).</summary>
    public Task<TransactionReceipt> ReportTaskAsync(
        string runner, string state, string? message, IReadOnlyList<TaskPeerReport>? peers = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(TransactionTypes.TaskRunnerReport, new TaskReportPayload { Runner = runner, State = state, Message = message, Peers = peers },
            PayloadJson.Default.TaskReportPayload, cancellationToken);
}
