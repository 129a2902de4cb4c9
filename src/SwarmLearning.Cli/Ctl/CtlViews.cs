using System.Globalization;
using System.Text.Json;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Cli.Ctl;

// What swarm ctl prints with --json, answers over REST, and shows (as text) to humans. Times are ISO 8601 UTC.

/// <summary>The result of one statement: the data for <c>--json</c> and REST, the text for humans, and whether it reports a failure (a chain that does not verify).</summary>
internal sealed record CtlResult(object Data, string Text, bool Failed = false);

internal sealed record ContextView(string Name, string Sn, string Certs, string Identity, bool Active);

internal sealed record ReceiptView(string Action, string Name, long Height, string TransactionId, string? Note = null);

internal sealed record MessageView(string Action, string Message);

internal sealed record VersionView(string Sn, string Swarm, string Node, string Version, long Height, string HeadHash, string Time);

internal sealed record MergedView(long Round, string ModelHash, long Size, string Leader, int Contributors, string MergeMethod, string At, double Momentum);

internal sealed record ContractView(
    string Name, string Status, long Round, string Phase, string? Leader, int Participants, int Ready, int Joined, int Finished, int Resets,
    string CreatedBy, string CreatedAt, MergedView? LastMerged);

/// <summary>One ML node's line of HPE's PERFDATA.</summary>
internal sealed record PerfNodeView(
    string Name, string Fingerprint, string? Host, double? Loss, double? Metric, int? EpochsDone, int? TotalEpochs, bool Leader, string State, string? ReportedAt);

internal sealed record PerfDataView(string Contract, string Status, long Round, IReadOnlyList<PerfNodeView> Nodes);

internal sealed record TaskView(string Name, string TaskType, string Author, string Prereq, string Outcome, bool Finalized, string CreatedBy, string CreatedAt, JsonElement Body);

internal sealed record PeerView(int Index, string Name, string Fingerprint, string State, string? Message, string At);

internal sealed record TaskRunnerView(
    string Name, string Status, string? Task, int RequiredPeers, string? Target, string? AssignedAt, int Running, int Completed, int Failed,
    IReadOnlyList<PeerView> Peers);

internal sealed record NodeView(
    string Role, string Name, string? Host, int? ApiPort, int? PeerPort, int? FilePort, string Fingerprint, string? LastHeartbeat, bool Active, bool Revoked, bool Administrator);

internal sealed record VerifyView(string Source, bool Valid, long Blocks, long Height, string? HeadHash, string? SnHeadHash, long? BadHeight, string? Problem);

internal sealed record WaitView(string Runner, string Status, string? Task, int Completed, int RequiredPeers, int Failed, double Seconds);

internal sealed record StatementHelp(string Statement, string Summary);

// The SN's JSON (GET /v1/contracts, /v1/tasks, /v1/taskrunners), read into records of the fields ctl uses.

internal sealed record SnContract(
    string Name, string CreatedBy, long CreatedAt, string Status, int Resets, SnRound Round, SnMerged? LastMerged, List<string> Joined,
    Dictionary<string, SnFinished> Finished, Dictionary<string, SnProgress> Progress);

internal sealed record SnRound(long Number, string Phase, Dictionary<string, JsonElement> Ready, List<string> Participants, string? Leader);

internal sealed record SnMerged(long Round, string ModelHash, long Size, List<string> Contributors, string Leader, string MergeMethod, long At, double Momentum = 0);

internal sealed record SnFinished(string Mode, double Weight, bool MakeMeAdmin, long At);

internal sealed record SnProgress(double Loss, double Metric, int EpochsDone, int TotalEpochs, long At);

internal sealed record SnTask(string Name, string TaskType, string Author, string Prereq, string Outcome, string Body, string CreatedBy, long CreatedAt, bool Finalized);

internal sealed record SnTaskRunner(
    string Name, string CreatedBy, long CreatedAt, string Status, string? Task, int RequiredPeers, string? Target, long? AssignedAt, Dictionary<string, SnReport> Reports);

internal sealed record SnReport(string State, string? Message, long At);

internal static class CtlFormat
{
    public static string Time(long unixMilliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static string? Time(long? unixMilliseconds) => unixMilliseconds is { } t and > 0 ? Time(t) : null;

    /// <summary>A member's name by fingerprint, or the fingerprint's first 12 digits for one the ledger does not list.</summary>
    public static string NameOf(IReadOnlyDictionary<string, MemberView> members, string fingerprint) =>
        members.TryGetValue(fingerprint, out var m) ? m.Name : fingerprint.All(c => c == '0') ? "genesis" : fingerprint[..Math.Min(12, fingerprint.Length)];

    public static string Number(double? value) => value is { } v ? v.ToString("0.####", CultureInfo.InvariantCulture) : "-";

    /// <summary>Lays rows out in columns under a header, two spaces apart.</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var all = new List<IReadOnlyList<string?>> { header };
        all.AddRange(rows);
        var widths = Enumerable.Range(0, header.Count).Select(i => all.Max(r => (r[i] ?? "-").Length)).ToArray();
        return string.Join('\n', all.Select(r => string.Join("  ", r.Select((cell, i) => i == r.Count - 1 ? cell ?? "-" : (cell ?? "-").PadRight(widths[i]))).TrimEnd()));
    }
}
