using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace SwarmLearning.Node.Tests.Harness;

/// <summary>
/// Logs of the hosts a test starts: kept in memory (so a test can check what a node said) and written to the test's
/// output (so a failure shows what the nodes did).
/// </summary>
internal sealed class TestLog(ITestOutputHelper? output) : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Lock _signalLock = new();
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Lines => [.. _lines];

    public void Configure(ILoggingBuilder logging, string node)
    {
        logging.AddProvider(new Named(this, node));
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
    }

    public ILogger CreateLogger(string categoryName) => new Line(this, "", categoryName);

    /// <summary>Waits, line by line, until a line containing <paramref name="text"/> has been logged.</summary>
    public async Task WaitForLineAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Network.Tests.TestNetwork.Patience);
        while (true)
        {
            Task next;
            lock (_signalLock)
            {
                next = _written.Task;
            }

            if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }

            try
            {
                await next.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"nothing containing '{text}' was logged within {Network.Tests.TestNetwork.Patience.TotalSeconds} s");
            }
        }
    }

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        _lines.Enqueue(line);
        TaskCompletionSource written;
        lock (_signalLock)
        {
            written = _written;
            _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        written.TrySetResult();
        try
        {
            output?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has finished; a host still stopping has nobody to tell.
        }
    }

    private sealed class Named(TestLog log, string node) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Line(log, node, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Line(TestLog log, string node, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var shortCategory = category[(category.LastIndexOf('.') + 1)..];
            log.Write($"{DateTime.Now:HH:mm:ss.fff} {node,-4} {logLevel.ToString()[..4]} {shortCategory}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
        }
    }
}
