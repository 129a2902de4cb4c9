namespace SwarmLearning.Training.Data;

/// <summary>
/// A data file or directory that cannot be used: missing, malformed or inconsistent. The message names the file,
/// where in it (byte offset, or line and column) and what to do.
/// </summary>
public sealed class DataFormatException : SwarmException
{
    /// <summary>Creates the error for <paramref name="file"/>; the message is <c>file: problem</c>.</summary>
    public DataFormatException(string file, string problem)
        : base($"{file}: {problem}")
    {
        File = file;
        Problem = problem;
    }

    /// <summary>Creates the error with its lower-level cause.</summary>
    public DataFormatException(string file, string problem, Exception innerException)
        : base($"{file}: {problem}", innerException)
    {
        File = file;
        Problem = problem;
    }

    /// <summary>Creates the error for a place in a text file; the message is <c>file:line:column: problem</c>.</summary>
    public DataFormatException(string file, int line, int column, string problem)
        : base($"{file}:{line}:{column}: {problem}")
    {
        File = file;
        Problem = problem;
        Line = line;
        Column = column;
    }

    /// <summary>Creates an error with no details; prefer the overloads that name the file.</summary>
    public DataFormatException()
    {
        File = string.Empty;
        Problem = string.Empty;
    }

    /// <summary>Creates an error with a message only.</summary>
    public DataFormatException(string message)
        : base(message)
    {
        File = string.Empty;
        Problem = message;
    }

    /// <summary>Creates an error with a message and cause only.</summary>
    public DataFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        Problem = message;
    }

    /// <summary>The file or directory at fault.</summary>
    public string File { get; }

    /// <summary>What is wrong, without the location prefix.</summary>
    public string Problem { get; }

    /// <summary>The 1-based line of a text file at fault, or 0.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (character) of a text file at fault, or 0.</summary>
    public int Column { get; }
}
