using SwarmLearning.Ledger.Transactions;

namespace SwarmLearning.Ledger.Ordering;

/// <summary>
/// Puts transactions into blocks. The SN API hands every submitted transaction to its orderer and answers once the
/// transaction is in a block on this SN.
/// </summary>
/// <remarks>
/// Embedded mode (now): the sentinel orders (<see cref="EmbeddedOrderer"/>), other SNs forward to it over the peer
/// port. The interface is shaped for an etcd backend later: any SN builds a candidate block on its head and commits it
/// with a compare-and-swap of the chain head key through etcd's v3 JSON gateway; the loser rebuilds on the new head.
/// Callers see the same thing either way: a receipt naming the block, or a <see cref="Contracts.TransactionRejectedException"/>.
/// </remarks>
public interface ITransactionOrderer
{
    /// <summary>Orders one transaction; completes when it is in a block visible on this SN.</summary>
    Task<TransactionReceipt> SubmitAsync(Transaction transaction, CancellationToken cancellationToken);
}

/// <summary>Where a transaction landed.</summary>
/// <param name="TransactionId">Its id, hex.</param>
/// <param name="Height">The block's height.</param>
/// <param name="BlockHash">The block's hash, hex.</param>
public sealed record TransactionReceipt(string TransactionId, long Height, string BlockHash);
