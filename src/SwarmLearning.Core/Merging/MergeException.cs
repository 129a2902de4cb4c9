namespace SwarmLearning.Merging;

/// <summary>A merge that cannot be done as asked; the message names the input and tensor at fault.</summary>
public sealed class MergeException : SwarmException
{
    /// <summary>Creates the error.</summary>
    public MergeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a cause.</summary>
    public MergeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an error with no message; prefer the overloads that say what went wrong.</summary>
    public MergeException()
    {
    }
}
