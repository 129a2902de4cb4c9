using Microsoft.Extensions.Logging;

namespace SwarmLearning.Cli.Terminal;

/// <summary>
/// Log lines for a command that also draws a progress bar: each line clears the bar first, then prints
/// <c>&lt;prefix&gt;: [warning: |error: ]message</c> on standard error (the bar comes back with the next report).
/// With <c>showErrors</c> false, error-level lines are left out: they become exceptions that the command prints once.
/// </summary>
internal sealed class LineLogger(TextWriter error, ProgressBar? bar, string prefix, LogLevel minimum = LogLevel.Information, bool showErrors = true) : ILogger
{
    private readonly Lock _lock = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) =>
        logLevel != LogLevel.None && logLevel >= minimum && (showErrors || logLevel < LogLevel.Error);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var level = logLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            _ => "",
        };
        lock (_lock)
        {
            bar?.Clear();
            error.WriteLine($"{prefix}: {level}{formatter(state, exception)}");
        }
    }
}
