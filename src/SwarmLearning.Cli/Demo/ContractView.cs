using System.Text.Json;

namespace SwarmLearning.Cli.Demo;

/// <summary>A node's last progress report on the ledger.</summary>
internal sealed record ProgressView(double Loss, double Metric, int EpochsDone, int TotalEpochs);

/// <summary>
/// What the demo reads of a training contract (<c>GET /v1/contracts/{name}</c>): the current round, its leader, the last
/// merge and each node's progress. Fingerprints are lowercase hex. Fields the demo does not know are ignored, so the
/// ledger can grow without breaking the view.
/// </summary>
internal sealed record ContractView(
    string Status,
    long Round,
    string Phase,
    IReadOnlySet<string> Ready,
    string? Leader,
    long? MergedRound,
    string? MergedLeader,
    int MergedContributors,
    string? MergedHash,
    IReadOnlyDictionary<string, ProgressView> Progress,
    IReadOnlySet<string> Finished)
{
    public static ContractView Parse(JsonElement contract)
    {
        var round = contract.GetProperty("round");
        var ready = round.TryGetProperty("ready", out var r) && r.ValueKind == JsonValueKind.Object
            ? r.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal)
            : [];
        var leader = round.TryGetProperty("leader", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString() : null;
        long? mergedRound = null;
        string? mergedLeader = null;
        string? mergedHash = null;
        var contributors = 0;
        if (contract.TryGetProperty("lastMerged", out var merged) && merged.ValueKind == JsonValueKind.Object)
        {
            mergedRound = merged.GetProperty("round").GetInt64();
            mergedLeader = merged.TryGetProperty("leader", out var ml) ? ml.GetString() : null;
            mergedHash = merged.TryGetProperty("modelHash", out var mh) ? mh.GetString() : null;
            contributors = merged.TryGetProperty("contributors", out var mc) && mc.ValueKind == JsonValueKind.Array ? mc.GetArrayLength() : 0;
        }

        var progress = new Dictionary<string, ProgressView>(StringComparer.Ordinal);
        if (contract.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            foreach (var node in p.EnumerateObject())
            {
                var v = node.Value;
                progress[node.Name] = new ProgressView(
                    v.GetProperty("loss").GetDouble(), v.GetProperty("metric").GetDouble(), v.GetProperty("epochsDone").GetInt32(), v.GetProperty("totalEpochs").GetInt32());
            }
        }

        var finished = contract.TryGetProperty("finished", out var f) && f.ValueKind == JsonValueKind.Object
            ? f.EnumerateObject().Select(n => n.Name).ToHashSet(StringComparer.Ordinal)
            : [];
        return new ContractView(
            contract.GetProperty("status").GetString() ?? "unknown",
            round.GetProperty("number").GetInt64(),
            round.TryGetProperty("phase", out var phase) ? phase.GetString() ?? "" : "",
            ready,
            leader,
            mergedRound,
            mergedLeader,
            contributors,
            mergedHash,
            progress,
            finished);
    }
}
