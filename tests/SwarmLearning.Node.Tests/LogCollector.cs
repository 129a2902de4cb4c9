using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Node.Tests;

/// <summary>Collects log lines so tests can check what a node says while it waits; can wait for a line to appear.</summary>
internal sealed class LogCollector : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Found)> _waiters = [];
    private readonly Lock _lock = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public async Task WaitForAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var found = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_lines.Any(match))
            {
                return;
            }

            _waiters.Add((match, found));
        }

        try
        {
            await found.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"no log line {what} within {timeout.TotalSeconds} s; the log:\n{string.Join('\n', _lines.TakeLast(40))}");
        }
    }

    private void Add(string line)
    {
        lock (_lock)
        {
            _lines.Enqueue(line);
            foreach (var (match, found) in _waiters.Where(w => w.Match(line)).ToList())
            {
                found.TrySetResult();
            }
        }
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner.Add($"{logLevel} {category}: {formatter(state, exception)}");
            }
        }
    }
}
