namespace SwarmLearning;

/// <summary>
/// An error a user can act on: bad input, a refused operation, a missing file. Its message says what happened,
/// where (file, node, tensor) and, when there is one, what to do next. Front ends print the message alone,
/// never a stack trace.
/// </summary>
public class SwarmException : Exception
{
    /// <summary>Creates an error with a user-facing message.</summary>
    public SwarmException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an error with a user-facing message and the lower-level cause.</summary>
    public SwarmException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an error with no message; prefer the overloads that say what went wrong.</summary>
    public SwarmException()
    {
    }
}
