using System.Globalization;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Client;

/// <summary>
/// The logger a <see cref="SwarmCallback"/> uses when given none: HPE's format
/// (<c>time : SwarmCallback : LEVEL : message</c>) on standard output, so a program that passes no logger still shows
/// what the swarm is doing.
/// </summary>
internal sealed class ConsoleLogger(string name, LogLevel minimum) : ILogger
{
    private static readonly Lock Gate = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var level = logLevel switch
        {
            LogLevel.Trace or LogLevel.Debug => "DEBUG",
            LogLevel.Information => "INFO",
            LogLevel.Warning => "WARNING",
            _ => "ERROR",
        };
        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:yyyy-MM-dd HH:mm:ss,fff} : {name} : {level} : {formatter(state, exception)}");
        lock (Gate)
        {
            Console.Out.WriteLine(line);
        }
    }
}
