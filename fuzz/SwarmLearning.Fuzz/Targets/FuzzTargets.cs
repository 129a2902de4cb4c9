using SwarmLearning.Fuzz.Harness;

namespace SwarmLearning.Fuzz.Targets;

/// <summary>The targets by name.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<string> Names { get; } = ["safetensors", "transaction", "block"];

    /// <summary>Creates a target; the caller disposes it.</summary>
    public static IFuzzTarget Create(string name, LedgerCorpus? ledger = null) => name switch
    {
        "safetensors" => new SafetensorsTarget(),
        "transaction" => new TransactionTarget(ledger),
        "block" => new BlockTarget(ledger),
        _ => throw new ArgumentException($"unknown target '{name}'; the targets are {string.Join(", ", Names)}", nameof(name)),
    };
}
