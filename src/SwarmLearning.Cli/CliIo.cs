using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Cli;

/// <summary>
/// Where a command writes, and the one way every command reports a user-facing failure: a single line on standard
/// error, exit code 1. Internal errors add a hint, and their stack trace only when SWARM_DEBUG=1.
/// </summary>
internal sealed class CliIo(TextWriter output, TextWriter error)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>True when progress may be drawn: standard error is a terminal and is the process's own.</summary>
    public bool CanShowProgress => ReferenceEquals(Error, Console.Error) && !Console.IsErrorRedirected;

    public void WriteJson<T>(T value) => Out.WriteLine(ToJson(value));

    /// <summary>The JSON that <see cref="WriteJson"/> prints, for files that hold the same.</summary>
    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    /// <summary>Runs a command body, turning errors into one line and an exit code.</summary>
    public async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (SwarmException e)
        {
            await Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return SwarmCli.Failure;
        }
        catch (OperationCanceledException)
        {
            await Error.WriteLineAsync("interrupted").ConfigureAwait(false);
            return SwarmCli.Interrupted;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await Error.WriteLineAsync($"internal error: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            if (Environment.GetEnvironmentVariable("SWARM_DEBUG") == "1")
            {
                await Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }
            else
            {
                await Error.WriteLineAsync("This is a bug in SwarmLearning. Rerun with SWARM_DEBUG=1 for details and report them.").ConfigureAwait(false);
            }

            return SwarmCli.Failure;
        }
    }
}
