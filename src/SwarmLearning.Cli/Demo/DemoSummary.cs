using System.Globalization;

namespace SwarmLearning.Cli.Demo;

/// <summary>One node's results: what <c>--json</c> prints in <c>nodes[]</c>.</summary>
internal sealed record NodeSummary(
    string Name,
    int Samples,
    IReadOnlyList<int> FavouredClasses,
    double LocalAccuracy,
    double SwarmAccuracy,
    string FinalModelHash,
    string FinalModelSha256,
    string ModelFileHash,
    long Round,
    int Syncs,
    double Seconds);

/// <summary>The demo's results: what <c>--json</c> prints, and what the final table shows.</summary>
internal sealed record DemoSummary(
    IReadOnlyList<NodeSummary> Nodes,
    long Rounds,
    bool Identical,
    string? FinalModelHash,
    string? FinalModelSha256,
    double Seconds,
    double SwarmSeconds,
    double LocalSeconds,
    string Model,
    int Epochs,
    string MergeMethod,
    double MergeMomentum,
    int SyncFrequency,
    int MinPeers,
    string Split,
    int? Limit,
    string Directory,
    bool Kept)
{
    /// <summary>The final table (standard output, without --json).</summary>
    public void WriteTable(TextWriter o)
    {
        var rows = Nodes.Select(n => new[]
        {
            n.Name,
            n.Samples.ToString("N0", CultureInfo.InvariantCulture),
            string.Join(',', n.FavouredClasses),
            Percent(n.LocalAccuracy),
            Percent(n.SwarmAccuracy),
            n.Syncs.ToString(CultureInfo.InvariantCulture),
            n.Seconds.ToString("F1", CultureInfo.InvariantCulture),
            n.FinalModelHash.Length > 16 ? n.FinalModelHash[..16] + "…" : n.FinalModelHash,
        }).ToList();
        string[] header = ["node", "samples", "favours", "local-only acc.", "swarm acc.", "syncs", "seconds", "final model hash"];
        var right = new[] { false, true, false, true, true, true, true, false };
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(r => r[c].Length))).ToArray();
        o.WriteLine(Line(header, widths, right));
        foreach (var row in rows)
        {
            o.WriteLine(Line(row, widths, right));
        }

        o.WriteLine();
        var local = Nodes.Average(n => n.LocalAccuracy);
        var swarm = Nodes.Average(n => n.SwarmAccuracy);
        o.WriteLine(Identical
            ? $"final model identical on every node (round {Rounds}): hash {FinalModelHash} (BLAKE3, as the ledger records it)\n" +
              $"  sha256 of each node's models/final.safetensors: {FinalModelSha256}"
            : "final models DIFFER between nodes: " + string.Join(", ", Nodes.Select(n => $"{n.Name} {n.FinalModelHash}")));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"swarm test accuracy {Percent(swarm)} vs {Percent(local)} local-only on average ({(swarm - local) * 100:+0.00;-0.00} points); {Rounds} rounds"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Seconds:F1} s in all: swarm {SwarmSeconds:F1} s, local-only baselines {LocalSeconds:F1} s"));
        o.WriteLine(Kept ? $"logs and models: {Directory}" : $"the demo's directory was removed ({Directory}); --keep keeps it");
    }

    private static string Percent(double value) => (value * 100).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static string Line(string[] cells, int[] widths, bool[] right) =>
        string.Join("  ", cells.Select((c, i) => right[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
}
