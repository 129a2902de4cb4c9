using System.Text.Json;
using SwarmLearning.Cli.Ctl;
using SwarmLearning.Ledger.Contracts;
using SwarmLearning.Ledger.Transactions;
using SwarmLearning.Network.Api;

namespace SwarmLearning.Cli.Dashboard;

/// <summary>
/// Every training contract's rounds and every ML node's progress reports, derived from the ledger: the blocks'
/// transactions (<c>round.ready</c>, <c>round.submit</c>, <c>round.merged</c>, <c>training.progress</c>, and
/// <c>contract.create</c>/<c>contract.reset</c>, which start a new run) and the events the SN derives while applying them
/// (<c>round.closed</c> names the leader, <c>leader.failed</c> a failover). The SN keeps only the current round of a
/// contract; this keeps all of them, for the latest run of each contract. Not thread-safe: the feed holds a lock.
/// </summary>
internal sealed class RoundHistory
{
    private readonly Dictionary<string, ContractRun> _contracts = new(StringComparer.Ordinal);

    /// <summary>The last block applied, -1 before any.</summary>
    public long Height { get; private set; } = -1;

    /// <summary>The height to ask the SN's events from next.</summary>
    public long EventsFrom { get; private set; }

    public IEnumerable<string> Contracts => _contracts.Keys;

    /// <summary>Applies a block's transactions; a block at or below <see cref="Height"/> was applied already and is skipped.</summary>
    public void Apply(BlockView block)
    {
        if (block.Height <= Height)
        {
            return;
        }

        foreach (var tx in block.Transactions)
        {
            try
            {
                Apply(block.Height, block.Timestamp, tx);
            }
            catch (JsonException)
            {
                // The ledger accepted it, so its payload is valid for the SN's version; a field this one does not know
                // the shape of is left out of the history rather than stopping it.
            }
        }

        Height = block.Height;
    }

    private void Apply(long height, long time, TransactionView tx)
    {
        switch (tx.Type)
        {
            case TransactionTypes.ContractCreate:
            case TransactionTypes.ContractReset:
                var name = tx.Payload.Deserialize(PayloadJson.Default.NamePayload)!.Name;
                _contracts[name] = new ContractRun(height);
                break;
            case TransactionTypes.TrainingJoin:
                var join = tx.Payload.Deserialize(PayloadJson.Default.ContractPayload)!;
                Run(join.Contract).FirstSeen.TryAdd(tx.Sender, time);
                break;
            case TransactionTypes.RoundReady:
                var ready = tx.Payload.Deserialize(PayloadJson.Default.ReadyPayload)!;
                var r = Run(ready.Contract);
                r.FirstSeen.TryAdd(tx.Sender, time);
                var readied = r.Round(ready.Round);
                readied.FirstReadyAt ??= time;
                readied.Ready.Add(tx.Sender);
                break;
            case TransactionTypes.RoundSubmit:
                var submit = tx.Payload.Deserialize(PayloadJson.Default.SubmitPayload)!;
                Run(submit.Contract).Round(submit.Round).Submitted.Add(tx.Sender);
                break;
            case TransactionTypes.RoundMerged:
                var merged = tx.Payload.Deserialize(PayloadJson.Default.MergedPayload)!;
                var m = Run(merged.Contract);
                var closed = m.Round(merged.Round);
                closed.MergedAt = time;
                closed.MergedBy = tx.Sender;
                closed.ModelHash = merged.ModelHash;
                closed.Size = merged.Size;
                closed.MergeMethod = merged.Momentum > 0 ? FormattableString.Invariant($"{merged.MergeMethod}, momentum {merged.Momentum:0.###}") : merged.MergeMethod;
                closed.Contributors.AddRange(merged.Contributors);
                m.Current = merged.Round + 1;
                break;
            case TransactionTypes.Progress:
                var progress = tx.Payload.Deserialize(PayloadJson.Default.ProgressPayload)!;
                var p = Run(progress.Contract);
                if (!p.Curves.TryGetValue(tx.Sender, out var curve))
                {
                    p.Curves.Add(tx.Sender, curve = []);
                }

                curve.Add(new ProgressPoint(p.Current, time, progress.Loss, progress.Metric, progress.EpochsDone, progress.TotalEpochs));
                break;
        }
    }

    /// <summary>Applies the SN's events: who leads a closed round, and leader failovers. Events of a run's earlier life are ignored.</summary>
    public void Apply(IEnumerable<LedgerEvent> events)
    {
        foreach (var e in events)
        {
            EventsFrom = Math.Max(EventsFrom, e.Height + 1);
            if (e.Contract is not { } name || e.Round is not { } number || e.Kind is not ("round.closed" or "leader.failed"))
            {
                continue;
            }

            var run = Run(name);
            if (e.Height < run.Since)
            {
                continue;
            }

            switch (e.Kind)
            {
                case "round.closed":
                    var round = run.Round(number);
                    round.ClosedAt = e.Time;
                    round.Leader = e.Member;
                    break;
                case "leader.failed":
                    run.Round(number).Failovers.Add(new Failover(e.Member ?? "", e.Time, e.Message));
                    break;
            }
        }
    }

    /// <summary>Moves the events cursor on when the SN had none up to <paramref name="next"/>.</summary>
    public void EventsSeenUpTo(long next) => EventsFrom = Math.Max(EventsFrom, next);

    /// <summary>A contract's run; one first met in a later transaction was made at genesis (the default contract).</summary>
    private ContractRun Run(string contract)
    {
        if (!_contracts.TryGetValue(contract, out var run))
        {
            _contracts.Add(contract, run = new ContractRun(0));
        }

        return run;
    }

    /// <summary>A contract's rounds and its nodes' curves, with members named by <paramref name="nameOf"/> (a fingerprint to a name).</summary>
    public ContractHistoryView? View(string contract, Func<string, string> nameOf)
    {
        if (!_contracts.TryGetValue(contract, out var run))
        {
            return null;
        }

        long? previousMerge = null;
        var rounds = new List<RoundRecordView>();
        foreach (var (number, r) in run.Rounds.OrderBy(kv => kv.Key))
        {
            // A round opens when the one before it merged; the first when its first node became ready.
            var opened = run.Rounds.TryGetValue(number - 1, out var before) && before.MergedAt is { } m ? m : r.FirstReadyAt ?? previousMerge;
            var participants = r.Ready.Union(r.Submitted, StringComparer.Ordinal).Union(r.Contributors, StringComparer.Ordinal).Select(nameOf).Order(StringComparer.Ordinal).ToList();
            var status = r.MergedAt is not null ? "merged" : r.ClosedAt is not null ? "closed" : "collecting";
            rounds.Add(new RoundRecordView(
                number, status, participants, r.Leader is { } leader ? nameOf(leader) : null, r.MergedBy is { } by ? nameOf(by) : null,
                [.. r.Failovers.Select(f => new FailoverView(nameOf(f.From), CtlFormat.Time(f.At), f.Message))],
                r.MergeMethod, r.ModelHash, r.Size, r.Contributors.Count,
                CtlFormat.Time(opened), CtlFormat.Time(r.ClosedAt), CtlFormat.Time(r.MergedAt),
                r.MergedAt is { } end && opened is { } start ? (end - start) / 1000.0 : null));
            previousMerge = r.MergedAt ?? previousMerge;
        }

        var nodes = run.Curves.OrderBy(c => nameOf(c.Key), StringComparer.Ordinal).Select(c =>
        {
            var last = c.Value[^1];
            return new CurveView(nameOf(c.Key), c.Key, c.Value, last.EpochsDone, last.TotalEpochs, CtlFormat.Time(EtaAt(run.FirstSeen.GetValueOrDefault(c.Key, c.Value[0].Time), last)));
        }).ToList();
        return new ContractHistoryView(contract, run.Since, rounds, nodes);
    }

    /// <summary>
    /// When a node should have done all its epochs, at the pace it has kept since it joined: its last report's time plus
    /// the time per epoch so far times the epochs left. Null before its first epoch; its last report's time when done.
    /// </summary>
    internal static long? EtaAt(long since, ProgressPoint last)
    {
        if (last.TotalEpochs <= 0 || last.EpochsDone <= 0 || last.Time <= since)
        {
            return null;
        }

        var perEpoch = (last.Time - since) / (double)last.EpochsDone;
        return last.Time + (long)(perEpoch * Math.Max(0, last.TotalEpochs - last.EpochsDone));
    }

    private sealed class ContractRun(long since)
    {
        public long Since { get; } = since;

        /// <summary>The round that is open now (the one after the latest merge): progress reports are filed under it.</summary>
        public long Current { get; set; } = 1;

        public SortedDictionary<long, RoundRecord> Rounds { get; } = [];

        public Dictionary<string, List<ProgressPoint>> Curves { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, long> FirstSeen { get; } = new(StringComparer.Ordinal);

        public RoundRecord Round(long number)
        {
            if (!Rounds.TryGetValue(number, out var round))
            {
                Rounds.Add(number, round = new RoundRecord());
            }

            return round;
        }
    }

    private sealed class RoundRecord
    {
        public long? FirstReadyAt { get; set; }

        public long? ClosedAt { get; set; }

        public long? MergedAt { get; set; }

        public HashSet<string> Ready { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Submitted { get; } = new(StringComparer.Ordinal);

        public List<string> Contributors { get; } = [];

        public string? Leader { get; set; }

        public string? MergedBy { get; set; }

        public string? MergeMethod { get; set; }

        public string? ModelHash { get; set; }

        public long? Size { get; set; }

        public List<Failover> Failovers { get; } = [];
    }

    private sealed record Failover(string From, long At, string Message);
}

/// <summary>One <c>training.progress</c> report: the round open when it came, its block time (Unix ms) and its figures.</summary>
internal sealed record ProgressPoint(long Round, long Time, double Loss, double Metric, int EpochsDone, int TotalEpochs);

internal sealed record FailoverView(string From, string? At, string Message);

/// <summary>
/// One round as the ledger tells it. Participants are the nodes that were ready for it, submitted to it or contributed to
/// its merge (a node that ended its training joins a closing round without a ready of its own, and shows here once it
/// submits). The leader is the one the round closed with; <see cref="MergedBy"/> differs from it after a failover.
/// </summary>
internal sealed record RoundRecordView(
    long Round, string Status, IReadOnlyList<string> Participants, string? Leader, string? MergedBy, IReadOnlyList<FailoverView> Failovers,
    string? MergeMethod, string? ModelHash, long? Size, int Contributors, string? OpenedAt, string? ClosedAt, string? MergedAt, double? Seconds);

/// <summary>An ML node's reports in a contract's run, with its epochs and when it should be done.</summary>
internal sealed record CurveView(string Name, string Fingerprint, IReadOnlyList<ProgressPoint> Points, int EpochsDone, int TotalEpochs, string? EtaAt);

internal sealed record ContractHistoryView(string Contract, long Since, IReadOnlyList<RoundRecordView> Rounds, IReadOnlyList<CurveView> Nodes);
