using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SwarmLearning.Cli.Demo;

/// <summary>Where one SL node + ML program pair is.</summary>
internal enum NodeStage
{
    Starting,
    InitialSync,
    Training,
    Syncing,
    FinalMerge,
    Done,
    Baseline,
    BaselineDone,
}

/// <summary>One SL node and its ML program, as the demo shows them.</summary>
internal sealed class NodeState
{
    public required string Name { get; init; }

    /// <summary>The SL node's certificate fingerprint (lowercase hex): its name on the ledger.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Training samples the ML program uses (after --limit).</summary>
    public required int Samples { get; init; }

    public required IReadOnlyList<int> FavouredClasses { get; init; }

    public required int BatchesPerEpoch { get; init; }

    public required int Epochs { get; init; }

    public NodeStage Stage { get; set; }

    /// <summary>Batches trained so far, as the ML program's sync lines tell.</summary>
    public long BatchesDone { get; set; }

    public int EpochsDone { get; set; }

    public double? Loss { get; set; }

    public double? Metric { get; set; }

    /// <summary>The round of the last model the ML program loaded.</summary>
    public long Round { get; set; }

    public double? LocalAccuracy { get; set; }

    /// <summary>Epochs done, with a fraction from the batches trained: for the progress bar.</summary>
    public double EpochProgress =>
        Math.Clamp(Math.Max(EpochsDone, BatchesPerEpoch > 0 ? (double)BatchesDone / BatchesPerEpoch : 0), 0, Epochs);
}

/// <summary>
/// Everything the live view shows, fed by two sources: the ML programs' log lines (batches, syncs, the end) and the
/// ledger, read through the SN's API (rounds, leaders, loss and metric, epochs). Thread-safe: lines arrive on the
/// children's reader threads, the ledger on the demo's loop, and the view reads from its own.
/// </summary>
internal sealed partial class DemoState
{
    private const int KeptEvents = 200;
    private readonly Lock _lock = new();
    private readonly List<string> _events = [];
    private readonly Dictionary<string, NodeState> _byFingerprint;
    private int _eventsRead;

    public DemoState(string title, IReadOnlyList<NodeState> nodes, string directory)
    {
        Title = title;
        Nodes = nodes;
        Directory = directory;
        _byFingerprint = nodes.ToDictionary(n => n.Fingerprint, StringComparer.Ordinal);
    }

    /// <summary>What runs, in one line: nodes, model, epochs, merge method, sync frequency.</summary>
    public string Title { get; }

    public IReadOnlyList<NodeState> Nodes { get; }

    /// <summary>The demo's directory (logs in its logs/).</summary>
    public string Directory { get; }

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>What the demo does now ("starting 4 SL nodes", "training", …).</summary>
    public string Phase { get; private set; } = "starting";

    /// <summary>The training contract as last read from the ledger.</summary>
    public ContractView? Contract { get; private set; }

    /// <summary>True once the demo has nothing left to run.</summary>
    public bool Finished { get; set; }

    /// <summary>Runs <paramref name="read"/> under the state's lock, for a consistent picture.</summary>
    public T Read<T>(Func<DemoState, T> read)
    {
        lock (_lock)
        {
            return read(this);
        }
    }

    /// <summary>Events not yet taken: the plain view prints them, the live view shows the latest.</summary>
    public IReadOnlyList<string> TakeEvents()
    {
        lock (_lock)
        {
            var fresh = _events.Skip(_eventsRead).ToList();
            _eventsRead = _events.Count;
            return fresh;
        }
    }

    /// <summary>The latest events, taken or not.</summary>
    public IReadOnlyList<string> LatestEvents(int count)
    {
        lock (_lock)
        {
            return _events.Skip(Math.Max(0, _events.Count - count)).ToList();
        }
    }

    public void SetPhase(string phase, bool announce = true)
    {
        lock (_lock)
        {
            Phase = phase;
            if (announce)
            {
                AddEvent(phase);
            }
        }
    }

    public void Update(Action<DemoState> change)
    {
        lock (_lock)
        {
            change(this);
        }
    }

    /// <summary>Adds an event line; call under the lock (from <see cref="Update"/>) or alone.</summary>
    public void AddEvent(string text)
    {
        lock (_lock)
        {
            _events.Add(text);
            if (_events.Count > KeptEvents && _eventsRead > KeptEvents / 2)
            {
                var drop = KeptEvents / 2;
                _events.RemoveRange(0, drop);
                _eventsRead -= drop;
            }
        }
    }

    /// <summary>A log line of <paramref name="node"/>'s ML program (the SwarmCallback's HPE-style lines, prefixed "swarm: ").</summary>
    public void OnProgramLine(NodeState node, string line)
    {
        lock (_lock)
        {
            if (line.Contains("Initial sync: waiting", StringComparison.Ordinal))
            {
                node.Stage = NodeStage.InitialSync;
            }
            else if (InitialSyncDone().Match(line) is { Success: true } begun)
            {
                node.Round = Number(begun);
                node.Stage = NodeStage.Training;
            }
            else if (SyncStarts().Match(line) is { Success: true } sync)
            {
                node.BatchesDone = Number(sync);
                node.Stage = NodeStage.Syncing;
            }
            else if (MergeDone().Match(line) is { Success: true } merged)
            {
                node.Round = Number(merged);
                node.Stage = NodeStage.Training;
            }
            else if (LocalTrainingFinished().Match(line) is { Success: true } finished)
            {
                node.BatchesDone = Number(finished);
                node.Stage = NodeStage.FinalMerge;
                AddEvent($"{node.Name}: local training done ({node.BatchesDone:N0} batches); final merge, waiting for the other nodes");
            }
            else if (line.Contains("Final Swarm model was loaded", StringComparison.Ordinal))
            {
                node.Stage = NodeStage.Done;
                node.Round = Math.Max(node.Round, Contract?.MergedRound ?? 0);
                AddEvent($"{node.Name}: has the final swarm model");
            }
        }
    }

    /// <summary>The training contract as just read from the ledger.</summary>
    public void OnContract(ContractView contract)
    {
        lock (_lock)
        {
            var before = Contract;
            Contract = contract;
            if (contract.MergedRound is { } round && round != before?.MergedRound)
            {
                var leader = contract.MergedLeader is { } l && _byFingerprint.TryGetValue(l, out var n) ? n.Name : "?";
                AddEvent(round == 1
                    ? $"round 1, the initial sync: every node starts from {leader}'s initial weights, hash {Short(contract.MergedHash)}"
                    : string.Create(CultureInfo.InvariantCulture,
                        $"round {round} merged by {leader} from {contract.MergedContributors} models, hash {Short(contract.MergedHash)}"));
            }

            foreach (var (fingerprint, progress) in contract.Progress)
            {
                if (!_byFingerprint.TryGetValue(fingerprint, out var node))
                {
                    continue;
                }

                node.Loss = progress.Loss;
                node.Metric = progress.Metric;
                if (progress.EpochsDone > node.EpochsDone)
                {
                    node.EpochsDone = progress.EpochsDone;
                    AddEvent(string.Create(CultureInfo.InvariantCulture,
                        $"{node.Name}: epoch {progress.EpochsDone}/{node.Epochs} done; merged model: loss {progress.Loss:F4}, accuracy {progress.Metric * 100:F2} %"));
                }
            }
        }
    }

    /// <summary>The first 12 hex digits of a hash, for lines and tables.</summary>
    public static string Short(string? modelHash) => modelHash is { Length: > 12 } ? modelHash[..12] + "…" : modelHash ?? "-";

    private static long Number(Match match) => long.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Initial sync done: training starts from the model of round (\d+)")]
    private static partial Regex InitialSyncDone();

    [GeneratedRegex(@"Starting Swarm merging round \.\.\. \(after batch (\d+)\)")]
    private static partial Regex SyncStarts();

    [GeneratedRegex(@"Merge Done: round (\d+)")]
    private static partial Regex MergeDone();

    [GeneratedRegex(@"Finished local training: (\d+) batches")]
    private static partial Regex LocalTrainingFinished();
}
