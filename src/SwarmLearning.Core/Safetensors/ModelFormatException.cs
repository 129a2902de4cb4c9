namespace SwarmLearning.Safetensors;

/// <summary>A model file that is not a valid SwarmLearning safetensors model; the message names the file and tensor.</summary>
public sealed class ModelFormatException : SwarmException
{
    /// <summary>Creates the error; <paramref name="tensor"/> is null when the problem is not in one tensor.</summary>
    public ModelFormatException(string file, string? tensor, string problem)
        : base(Compose(file, tensor, problem))
    {
        File = file;
        Tensor = tensor;
        Problem = problem;
    }

    /// <summary>Creates the error with its lower-level cause.</summary>
    public ModelFormatException(string file, string? tensor, string problem, Exception innerException)
        : base(Compose(file, tensor, problem), innerException)
    {
        File = file;
        Tensor = tensor;
        Problem = problem;
    }

    /// <summary>Creates an error with no details; prefer the overloads that name the file.</summary>
    public ModelFormatException()
    {
        File = string.Empty;
        Problem = string.Empty;
    }

    /// <summary>Creates an error with a message only.</summary>
    public ModelFormatException(string message)
        : base(message)
    {
        File = string.Empty;
        Problem = message;
    }

    /// <summary>Creates an error with a message and cause only.</summary>
    public ModelFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        Problem = message;
    }

    /// <summary>The file (or model name) at fault.</summary>
    public string File { get; }

    /// <summary>The tensor at fault, if the problem is in one tensor.</summary>
    public string? Tensor { get; }

    /// <summary>What is wrong, without the file and tensor prefix.</summary>
    public string Problem { get; }

    private static string Compose(string file, string? tensor, string problem) =>
        tensor is null ? $"{file}: {problem}" : $"{file}: tensor '{tensor}': {problem}";
}
