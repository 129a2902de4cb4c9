using System.Globalization;
using System.Text;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// One measured round. Overhead: last request sent → last merged model received. The parts, from the driver's view
/// of the sentinel's chain: all sent → the participant set closed on the ledger (the nodes parse the request and
/// announce ready), → every submission recorded (each node writes and hashes its model), → the merged model recorded
/// (the leader fetches, verifies, merges, publishes), → the last ML program has the merged model (every node fetches,
/// verifies and answers). Blocks: how many blocks the ledger cut from the previous round's merged model to this one's.
/// </summary>
internal sealed record RoundTiming(
    long Round,
    string Leader,
    int LeaderIndex,
    bool LeaderChanged,
    double UploadSeconds,
    double OverheadSeconds,
    double ToClosedSeconds,
    double ToSubmittedSeconds,
    double ToMergedSeconds,
    double ToAnsweredSeconds,
    double LeaderCpuSeconds,
    double NodesCpuSeconds,
    double DriverCpuSeconds,
    long? Blocks)
{
    public static RoundTiming From(RoundSwarm swarm, long round, CallTiming?[] calls)
    {
        var answered = calls.Select(c => c ?? throw new InvalidOperationException($"round {round}: a node did not answer")).ToList();
        if (answered.Any(c => c.Round != round) || answered.Select(c => c.Hash).Distinct().Count() != 1)
        {
            throw new InvalidOperationException($"round {round}: the answers differ (rounds {string.Join(",", answered.Select(c => c.Round))}, hashes {string.Join(",", answered.Select(c => c.Hash[..Math.Min(12, c.Hash.Length)]).Distinct())})");
        }

        var sent = answered.Max(c => c.Sent);
        var received = answered.Max(c => c.Received);
        var closed = swarm.Watch.SeenAt(LedgerWatch.Closed, round) ?? sent;
        var submitted = swarm.Watch.SeenAt(LedgerWatch.AllSubmitted, round) ?? closed;
        var merged = swarm.Watch.SeenAt(LedgerWatch.Merged, round) ?? submitted;
        var leader = swarm.Watch.FirstLeader(round);
        var index = leader is { } l ? swarm.IndexOf(l) : -1;
        return new RoundTiming(
            round,
            index >= 0 ? swarm.Nodes[index].Name : "?",
            index,
            swarm.Watch.SeenAt(LedgerWatch.LeaderChanged, round) is not null,
            RoundOverhead.Seconds(answered.Min(c => c.Started), sent),
            RoundOverhead.Seconds(sent, received),
            RoundOverhead.Seconds(sent, closed),
            RoundOverhead.Seconds(closed, submitted),
            RoundOverhead.Seconds(submitted, merged),
            RoundOverhead.Seconds(merged, received),
            index >= 0 ? swarm.LastNodeCpuSeconds[index] : double.NaN,
            swarm.LastNodeCpuSeconds.Where(double.IsFinite).Sum(),
            swarm.LastDriverCpuSeconds,
            swarm.Watch.BlocksFor(round));
    }
}

/// <summary>
/// A node's peak resident memory (VmHWM) and what it led: a merge (a sync round, warm-up included), only the initial
/// round (which hands out the leader's own model), or nothing.
/// </summary>
internal sealed record NodeMemory(string Node, long PeakBytes, string Led);

/// <summary>
/// One (nodes, parameters) cell. T (<see cref="BoundBytesPerSecond"/>) is the faster of the throughputs measured just
/// before the swarm started and just after it stopped.
/// </summary>
internal sealed record CellResult(
    int Nodes,
    long Parameters,
    long ModelBytes,
    double BoundBytesPerSecond,
    double BoundBytesPerSecondBefore,
    double BoundBytesPerSecondAfter,
    double BoundSeconds,
    double BoundCpuSeconds,
    IReadOnlyList<RoundTiming> Rounds,
    IReadOnlyList<NodeMemory> Memory)
{
    public double MedianSeconds => Median(Rounds.Select(r => r.OverheadSeconds));

    public double MaxSeconds => Rounds.Max(r => r.OverheadSeconds);

    public double Ratio => MedianSeconds / BoundSeconds;

    public bool Pass => Ratio <= 1.5;

    /// <summary>CPU seconds all SL processes used per round (median) over the CPU seconds the bound's bytes cost over plain TLS.</summary>
    public double CpuRatio => Median(Rounds.Select(r => r.NodesCpuSeconds)) / BoundCpuSeconds;

    public double PeakMaxRatio => Memory.Max(m => m.PeakBytes) / (double)ModelBytes;

    public double PeakMedianRatio => Median(Memory.Select(m => (double)m.PeakBytes)) / ModelBytes;

    /// <summary>The largest peak of a node that never merged (NaN when every node led a merge).</summary>
    public double NonLeaderPeakRatio => Memory.Where(m => m.Led != "merge").Select(m => (double)m.PeakBytes).DefaultIfEmpty(double.NaN).Max() / ModelBytes;

    public double LeaderPeakRatio => Memory.Where(m => m.Led == "merge").Select(m => m.PeakBytes).DefaultIfEmpty(0).Max() / (double)ModelBytes;

    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"| {Nodes} | {RoundOverhead.Count(Parameters)} | {ModelBytes / 1e6:0.0} MB | {MedianSeconds:0.00} s | {MaxSeconds:0.00} s | {BoundSeconds:0.00} s ({BoundBytesPerSecond / 1e6:0} MB/s) | {Ratio:0.00}× | {(Pass ? "PASS" : "FAIL")} | "
        + $"{Median(Rounds.Select(r => r.ToClosedSeconds)):0.00} / {Median(Rounds.Select(r => r.ToSubmittedSeconds)):0.00} / {Median(Rounds.Select(r => r.ToMergedSeconds)):0.00} / {Median(Rounds.Select(r => r.ToAnsweredSeconds)):0.00} | "
        + $"{Median(Rounds.Select(r => r.NodesCpuSeconds)):0.0} ({Median(Rounds.Select(r => r.LeaderCpuSeconds)):0.0}) / {BoundCpuSeconds:0.00} = {CpuRatio:0.0}× | "
        + $"{LeaderPeakRatio:0.0} / {NonLeaderPeak()} |{(Rounds.Any(r => r.LeaderChanged) ? " failover happened!" : "")}");

    // The others' column, or a dash when every node merged a round (there are no others).
    private string NonLeaderPeak() => double.IsNaN(NonLeaderPeakRatio)
        ? string.Create(CultureInfo.InvariantCulture, $"— ({Memory.Max(m => m.PeakBytes) / 1e9:0.00} GB)")
        : string.Create(CultureInfo.InvariantCulture, $"{NonLeaderPeakRatio:0.0} ({Memory.Where(m => m.Led == "merge").Max(m => m.PeakBytes) / 1e9:0.00} / {Memory.Where(m => m.Led != "merge").Max(m => m.PeakBytes) / 1e9:0.00} GB)");

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>One failover: the leader SIGKILLed once every submission was on the ledger.</summary>
internal sealed record FailoverResult(
    int Nodes,
    long Parameters,
    string Killed,
    double KillToAllAnsweredSeconds,
    double KillToNewLeaderSeconds,
    double NewLeaderToMergedSeconds,
    double MergedToAnsweredSeconds,
    int Survivors,
    double NormalRoundSeconds)
{
    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"| {Nodes} × {RoundOverhead.Count(Parameters)} | {Killed} | {KillToAllAnsweredSeconds:0.00} s | {KillToNewLeaderSeconds:0.00} s | {NewLeaderToMergedSeconds:0.00} s | {MergedToAnsweredSeconds:0.00} s | {NormalRoundSeconds:0.00} s | {(KillToAllAnsweredSeconds <= 10 ? "PASS" : "FAIL")} |");
}

/// <summary>Everything a run measured.</summary>
internal sealed record RoundResults(
    int Cores,
    string LoadBefore,
    string LoadAfter,
    double Seconds,
    int MemberTimeoutSeconds,
    IReadOnlyList<CellResult> Cells,
    IReadOnlyList<FailoverResult> Failovers,
    IReadOnlyList<string> Stopped)
{
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"round overhead on loopback, {Cores} cores; load average before: {LoadBefore}; after: {LoadAfter}; {Seconds:0} s");
        if (Cells.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("overhead = last sync request sent -> last merged model received; bound = 2 (N-1) S / T, T = best HTTPS download of S bytes on loopback, the faster of before and after the cell; target ratio <= 1.5");
            text.AppendLine("parts (medians): sent -> closed on the ledger / -> all submitted / -> merged recorded / -> last answer received");
            text.AppendLine("CPU per round: CPU seconds of all SL processes (of the leader) per round, median / the bound's bytes over plain TLS (both ends) = ratio");
            text.AppendLine("peak memory: VmHWM / S, max over the nodes that merged a round (warm-up included) / over the others (in GB)");
            text.AppendLine();
            text.AppendLine("| nodes | params | S | overhead median | max | bound (T) | ratio | ≤ 1.5× | parts, s | CPU-s per round: nodes (leader) / bound | peak/S: leaders / others |");
            text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var c in Cells)
            {
                text.AppendLine(c.Row());
            }
        }

        foreach (var stopped in Stopped)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"not measured: {stopped}");
        }

        if (Failovers.Count > 0)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"failover: the leader SIGKILLed once every submission is on the ledger (memberTimeout {MemberTimeoutSeconds} s); target: the round completes within 10 s of the kill");
            text.AppendLine();
            text.AppendLine("| swarm | killed | kill → every survivor has the model | kill → new leader on the ledger | new leader → merged recorded | merged → last answer | a normal round | ≤ 10 s |");
            text.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var f in Failovers)
            {
                text.AppendLine(f.Row());
            }
        }

        return text.ToString();
    }
}
