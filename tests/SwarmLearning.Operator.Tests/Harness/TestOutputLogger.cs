using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace SwarmLearning.Operator.Tests.Harness;

/// <summary>An operator's log lines, kept for assertions and written to the test's output.</summary>
internal sealed class TestOutputLogger(ITestOutputHelper output, string name) : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{DateTime.Now:HH:mm:ss.fff} {name} {logLevel}: {formatter(state, exception)}";
        _lines.Enqueue(line);
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has ended; the line is still kept.
        }
    }
}
