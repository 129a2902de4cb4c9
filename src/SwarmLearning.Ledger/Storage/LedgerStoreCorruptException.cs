namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// The block store's file is damaged in a way a crash cannot explain (or its header is not one this build reads);
/// the message names the file, the first bad height and its byte offset, and what to do. The store never cuts
/// such a file: an SN refuses to start on it.
/// </summary>
public sealed class LedgerStoreCorruptException : SwarmException
{
    /// <summary>Creates the error for the record at <paramref name="height"/>, which starts at byte <paramref name="offset"/> of <paramref name="file"/>.</summary>
    public LedgerStoreCorruptException(string file, long height, long offset, string message)
        : base(message)
    {
        File = file;
        Height = height;
        Offset = offset;
    }

    /// <summary>Creates the error with no details; prefer the overload that names the height and offset.</summary>
    public LedgerStoreCorruptException()
    {
    }

    /// <summary>Creates the error with a message only.</summary>
    public LedgerStoreCorruptException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a message and cause only.</summary>
    public LedgerStoreCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The first height that cannot be trusted (0 when the file header itself is bad).</summary>
    public long Height { get; }

    /// <summary>The byte offset in <see cref="File"/> where the bad record (or header) starts.</summary>
    public long Offset { get; }

    /// <summary>The store file at fault.</summary>
    public string File { get; } = "";
}
