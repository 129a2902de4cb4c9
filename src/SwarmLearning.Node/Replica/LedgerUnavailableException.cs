namespace SwarmLearning.Node.Replica;

/// <summary>
/// The ledger cannot be reached or has not caught up: the SN is unreachable or answers that it cannot order now, or
/// this node's replica has not received the genesis block or a block it waits for. Retrying later may succeed; the
/// local channel answers it with 503.
/// </summary>
public sealed class LedgerUnavailableException : SwarmException
{
    /// <summary>Creates the error.</summary>
    public LedgerUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with its cause.</summary>
    public LedgerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error with no message; prefer the overloads that say why.</summary>
    public LedgerUnavailableException()
    {
    }
}
