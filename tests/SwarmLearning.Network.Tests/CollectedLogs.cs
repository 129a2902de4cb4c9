using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Network.Tests;

/// <summary>The warnings and errors the nodes of a <see cref="TestNetwork"/> logged, as lines, for tests that check what a node said.</summary>
internal sealed class CollectedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Lock _signalLock = new();
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Waits, line by line, until a line containing <paramref name="text"/> has been logged; returns it.</summary>
    public async Task<string> WaitForLineAsync(string text)
    {
        using var timeout = new CancellationTokenSource(TestNetwork.Patience);
        while (true)
        {
            Task next;
            lock (_signalLock)
            {
                next = _written.Task;
            }

            if (_lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }

            try
            {
                await next.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"no line containing '{text}' logged within {TestNetwork.Patience.TotalSeconds} s; the log:\n{string.Join('\n', _lines)}");
            }
        }
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        TaskCompletionSource written;
        lock (_signalLock)
        {
            written = _written;
            _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        written.TrySetResult();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CollectedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                logs.Add($"{logLevel} {category}: {formatter(state, exception)}");
            }
        }
    }
}
