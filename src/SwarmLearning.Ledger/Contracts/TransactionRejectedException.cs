namespace SwarmLearning.Ledger.Contracts;

/// <summary>Why a transaction was refused; the SN API maps each to an HTTP status.</summary>
public enum RejectionKind
{
    /// <summary>The payload or the transaction is malformed (400).</summary>
    Invalid,

    /// <summary>The signature does not verify, or the sender is unknown (401/403).</summary>
    BadSignature,

    /// <summary>The sender may not do this: wrong role, revoked, not a participant (403).</summary>
    Forbidden,

    /// <summary>The sequence number is not above the sender's last accepted one (409).</summary>
    Replay,

    /// <summary>What it names does not exist (404).</summary>
    NotFound,

    /// <summary>It conflicts with the current state: already exists, wrong round, wrong phase (409).</summary>
    Conflict,
}

/// <summary>A transaction the contracts refuse. The message says what, for whom, and what to do.</summary>
public sealed class TransactionRejectedException : SwarmException
{
    /// <summary>Creates the rejection.</summary>
    public TransactionRejectedException(RejectionKind kind, string message)
        : base(message) => Kind = kind;

    /// <summary>Creates a rejection of kind <see cref="RejectionKind.Invalid"/>.</summary>
    public TransactionRejectedException(string message)
        : this(RejectionKind.Invalid, message)
    {
    }

    /// <summary>Creates a rejection of kind <see cref="RejectionKind.Invalid"/> with its cause.</summary>
    public TransactionRejectedException(string message, Exception innerException)
        : base(message, innerException) => Kind = RejectionKind.Invalid;

    /// <summary>Creates a rejection with no message; prefer the overloads that say why.</summary>
    public TransactionRejectedException()
    {
    }

    /// <summary>The kind of refusal.</summary>
    public RejectionKind Kind { get; }
}
