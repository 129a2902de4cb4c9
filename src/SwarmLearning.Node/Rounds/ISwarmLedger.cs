using System.Text.Json.Serialization.Metadata;
using SwarmLearning.Identity;
using SwarmLearning.Ledger.Contracts;

namespace SwarmLearning.Node.Rounds;

/// <summary>
/// What the round engine needs from the ledger: this node's identity on it, the latest verified state, a way to wait
/// for the next block, and a way to submit a transaction. An SL node backs it with its own verified replica of the
/// chain fed by an SN; the simulation backs it with an in-memory chain.
/// </summary>
public interface ISwarmLedger
{
    /// <summary>This node's fingerprint.</summary>
    Fingerprint Self { get; }

    /// <summary>The state after the latest block this node has verified.</summary>
    LedgerState State { get; }

    /// <summary>Completes when the state is past <paramref name="height"/>, or the token fires.</summary>
    Task WaitForBlockAfterAsync(long height, CancellationToken cancellationToken);

    /// <summary>
    /// Signs and submits a transaction from this node; completes when its block is in <see cref="State"/>. Refusals
    /// throw <see cref="TransactionRejectedException"/>.
    /// </summary>
    Task SubmitAsync<T>(string type, T payload, JsonTypeInfo<T> json, CancellationToken cancellationToken);
}
