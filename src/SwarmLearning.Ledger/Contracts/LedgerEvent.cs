namespace SwarmLearning.Ledger.Contracts;

/// <summary>
/// Something the contracts did while applying a block: a member registered, a round closed, a leader failed over, a
/// round merged. Events are not stored: every SN derives the same ones from the same blocks, and followers of the API
/// receive them as they happen.
/// </summary>
/// <param name="Height">The block.</param>
/// <param name="Time">The block's timestamp, Unix milliseconds.</param>
/// <param name="Kind">For example <c>round.closed</c>, <c>leader.failed</c>, <c>round.merged</c>.</param>
/// <param name="Contract">The training contract or task runner concerned, if any.</param>
/// <param name="Round">The round, if any.</param>
/// <param name="Member">The member concerned (hex fingerprint), if any.</param>
/// <param name="Message">A sentence for people.</param>
public sealed record LedgerEvent(long Height, long Time, string Kind, string? Contract, long? Round, string? Member, string Message);
