using System.Text;
using System.Text.Json;
using SwarmLearning.Ledger.Serialization;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Cli.Ctl;

// Training contracts: create, status, list, reset, and HPE's PERFDATA.
internal sealed partial class CtlRunner
{
    private async Task<CtlResult> CreateContractAsync(CreateContract s, CancellationToken cancellationToken)
    {
        var receipt = await Session.SubmitAsync(TransactionTypes.ContractCreate, new NamePayload { Name = s.Name }, PayloadJson.Default.NamePayload,
            $"creating training contract '{s.Name}'", cancellationToken).ConfigureAwait(false);
        return new CtlResult(new ReceiptView("contract.create", s.Name, receipt.Height, receipt.TransactionId), $"training contract '{s.Name}' created in block {receipt.Height}");
    }

    private async Task<CtlResult> ResetContractAsync(ResetContract s, CancellationToken cancellationToken)
    {
        var contract = await ContractAsync(s.Name, cancellationToken).ConfigureAwait(false);
        if (contract.Status == "created")
        {
            // Already where a reset would take it: scripts reset before and after a run, as HPE's swci-init does.
            return new CtlResult(new ReceiptView("contract.reset", s.Name, -1, "", "already at its start; nothing to reset"),
                $"training contract '{s.Name}' has not run since it was created or reset; nothing to reset");
        }

        var receipt = await Session.SubmitAsync(TransactionTypes.ContractReset, new NamePayload { Name = s.Name }, PayloadJson.Default.NamePayload,
            $"resetting training contract '{s.Name}'", cancellationToken).ConfigureAwait(false);
        return new CtlResult(new ReceiptView("contract.reset", s.Name, receipt.Height, receipt.TransactionId), $"training contract '{s.Name}' reset in block {receipt.Height}");
    }

    private async Task<CtlResult> ContractStatusAsync(GetContractStatus s, CancellationToken cancellationToken)
    {
        var contract = await ContractAsync(s.Name, cancellationToken).ConfigureAwait(false);
        var view = View(contract, await MembersAsync(cancellationToken).ConfigureAwait(false));
        var text = new StringBuilder()
            .Append("training contract ").AppendLine(view.Name)
            .Append("  status        ").AppendLine(view.Status)
            .Append("  round         ").Append(view.Round).Append(" (").Append(view.Phase).Append(view.Leader is null ? "" : $", leader {view.Leader}").AppendLine(")")
            .Append("  nodes         ").Append(view.Joined).Append(" joined, ").Append(view.Finished).Append(" finished, ").Append(view.Ready).AppendLine(" ready")
            .Append("  created       ").Append(view.CreatedAt).Append(" by ").AppendLine(view.CreatedBy)
            .Append("  resets        ").Append(view.Resets);
        if (view.LastMerged is { } m)
        {
            text.AppendLine().Append("  last merge    round ").Append(m.Round).Append(" by ").Append(m.Leader).Append(", ").Append(m.Contributors)
                .Append(" contributor(s), ").Append(m.MergeMethod).Append(m.Momentum > 0 ? FormattableString.Invariant($" with momentum {m.Momentum:0.###}") : "").Append(", model ").Append(m.ModelHash[..Math.Min(16, m.ModelHash.Length)]).Append(", ").Append(m.At);
        }

        return new CtlResult(view, text.ToString());
    }

    private async Task<CtlResult> ListContractsAsync(CancellationToken cancellationToken)
    {
        var contracts = await ContractsAsync(cancellationToken).ConfigureAwait(false);
        var members = await MembersAsync(cancellationToken).ConfigureAwait(false);
        var views = contracts.Select(c => View(c, members)).ToList();
        return new CtlResult(views, CtlFormat.Table(["NAME", "STATUS", "ROUND", "PHASE", "NODES", "CREATED"],
            views.Select(v => new[] { v.Name, v.Status, v.Round.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Phase, v.Joined.ToString(System.Globalization.CultureInfo.InvariantCulture), v.CreatedAt })));
    }

    private async Task<CtlResult> PerfDataAsync(GetPerfData s, CancellationToken cancellationToken)
    {
        var contract = await ContractAsync(s.Name, cancellationToken).ConfigureAwait(false);
        var members = await MembersAsync(cancellationToken).ConfigureAwait(false);

        // The node that leads the current closed round, else the one that merged the latest round.
        var leader = contract.Round.Leader ?? contract.LastMerged?.Leader;
        var nodes = contract.Joined.Union(contract.Progress.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(f =>
        {
            var p = contract.Progress.GetValueOrDefault(f);
            var state = contract.Finished.ContainsKey(f) ? "finished" : members.TryGetValue(f, out var m) && !m.Active ? "inactive" : "training";
            return new PerfNodeView(CtlFormat.NameOf(members, f), f, members.GetValueOrDefault(f)?.Host, p?.Loss, p?.Metric, p?.EpochsDone, p?.TotalEpochs,
                f == leader, state, CtlFormat.Time(p?.At));
        }).ToList();
        var view = new PerfDataView(contract.Name, contract.Status, contract.Round.Number, nodes);
        var text = nodes.Count == 0
            ? $"training contract '{contract.Name}' ({contract.Status}): no ML node has joined or reported yet"
            : $"training contract '{contract.Name}' ({contract.Status}, round {contract.Round.Number})\n" + CtlFormat.Table(
                ["NAME", "LEADER", "STATE", "LOSS", "METRIC", "EPOCHS", "FINGERPRINT"],
                nodes.Select(n => new[]
                {
                    n.Name, n.Leader ? "yes" : "", n.State, CtlFormat.Number(n.Loss), CtlFormat.Number(n.Metric),
                    n.EpochsDone is { } done ? $"{done}/{n.TotalEpochs}" : "-", n.Fingerprint[..16],
                }));
        return new CtlResult(view, text);
    }

    private async Task<List<SnContract>> ContractsAsync(CancellationToken cancellationToken) =>
        [.. (await Session.Client.GetContractsAsync(cancellationToken).ConfigureAwait(false)).Select(e => e.Deserialize<SnContract>(LedgerJson.Options)!)];

    private async Task<SnContract> ContractAsync(string name, CancellationToken cancellationToken) =>
        (await ContractsAsync(cancellationToken).ConfigureAwait(false)).Find(c => c.Name == name)
        ?? throw new SwarmException($"the SN at {Session.Sn} has no training contract '{name}'; LIST CONTRACTS ('swarm ctl contract list') shows them");

    private static ContractView View(SnContract c, IReadOnlyDictionary<string, MemberView> members) => new(
        c.Name, c.Status, c.Round.Number, c.Round.Phase, c.Round.Leader is { } l ? CtlFormat.NameOf(members, l) : null, c.Round.Participants.Count,
        c.Round.Ready.Count, c.Joined.Count, c.Finished.Count, c.Resets, CtlFormat.NameOf(members, c.CreatedBy), CtlFormat.Time(c.CreatedAt),
        c.LastMerged is { } m ? new MergedView(m.Round, m.ModelHash, m.Size, CtlFormat.NameOf(members, m.Leader), m.Contributors.Count, m.MergeMethod, CtlFormat.Time(m.At), m.Momentum) : null);
}
