namespace SwarmLearning.Client.Channel;

/// <summary>
/// A call to the SL node failed: the node refused it (its message is <see cref="Exception.Message"/>, as it sent it),
/// or the node could not be reached or did not answer in time.
/// </summary>
public sealed class SwarmChannelException : SwarmException
{
    /// <summary>Creates the error.</summary>
    /// <param name="kind">The node's error kind (<c>invalid</c>, <c>notFound</c>, <c>conflict</c>, <c>unavailable</c>, <c>failed</c>), or <c>unreachable</c> / <c>timeout</c> / <c>protocol</c> for errors seen on this side.</param>
    /// <param name="statusCode">The HTTP status, or 0 when there was no answer.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The lower-level cause, if any.</param>
    public SwarmChannelException(string kind, int statusCode, string message, Exception? innerException = null)
        : base(message, innerException!)
    {
        Kind = kind;
        StatusCode = statusCode;
    }

    /// <summary>Creates an error with a message only.</summary>
    public SwarmChannelException(string message)
        : this("failed", 0, message)
    {
    }

    /// <summary>Creates an error with a message and cause only.</summary>
    public SwarmChannelException(string message, Exception innerException)
        : this("failed", 0, message, innerException)
    {
    }

    /// <summary>Creates an error with no message; prefer the overloads that say what went wrong.</summary>
    public SwarmChannelException()
        : this("failed", 0, "the call to the SL node failed")
    {
    }

    /// <summary>The error kind.</summary>
    public string Kind { get; }

    /// <summary>The HTTP status of the answer, or 0 when there was none.</summary>
    public int StatusCode { get; }
}
