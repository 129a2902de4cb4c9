using System.Diagnostics.Metrics;

namespace SwarmLearning.Ledger.Storage;

/// <summary>The block store's instruments, on the meter <c>SwarmLearning.Ledger.Storage</c>.</summary>
internal static class StoreMetrics
{
    private static readonly Meter Meter = new("SwarmLearning.Ledger.Storage");

    /// <summary>How long each fsync of an append took: the floor under every acknowledgement.</summary>
    public static readonly Histogram<double> Fsync = Meter.CreateHistogram<double>(
        "swarm.ledger.store.fsync.duration", "s", "Time of the fsync that makes an append durable");

    /// <summary>How long each append took, write and fsync together.</summary>
    public static readonly Histogram<double> Append = Meter.CreateHistogram<double>(
        "swarm.ledger.store.append.duration", "s", "Time of an append (one or a batch of records), write and fsync");

    /// <summary>Records appended.</summary>
    public static readonly Counter<long> Records = Meter.CreateCounter<long>(
        "swarm.ledger.store.records", "{record}", "Records appended to the block store");

    /// <summary>Bytes appended, framing included.</summary>
    public static readonly Counter<long> Bytes = Meter.CreateCounter<long>(
        "swarm.ledger.store.bytes", "By", "Bytes appended to the block store, framing included");
}
