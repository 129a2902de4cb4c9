using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Client.Tests;

/// <summary>Keeps every log line, so tests can check what the callback said.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Lines => [.. _lines];

    public IEnumerable<string> Messages => _lines.Select(l => l.Message);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue((logLevel, formatter(state, exception)));

    public int Count(string fragment) => _lines.Count(l => l.Message.Contains(fragment, StringComparison.Ordinal));
}
