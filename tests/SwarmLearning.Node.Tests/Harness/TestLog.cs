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

    /// <summary>Adds a line another process printed (an SL node run as <c>swarm sl</c>), under its node's name.</summary>
    public void Add(string node, string line) => Write($"{DateTime.Now:HH:mm:ss.fff} {node,-4} {line}");

    /// <summary>The lines logged by (or printed by the process of) <paramref name="node"/>.</summary>
    public IEnumerable<string> LinesOf(string node) => Lines.Where(l => l.Length > 13 && l.AsSpan(13).StartsWith(node + " ", StringComparison.Ordinal));

    /// <summary>When a line was logged.</summary>
    public static TimeSpan TimeOf(string line) => TimeSpan.ParseExact(line[..12], @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Waits, line by line, until a line containing <paramref name="text"/> has been logged.</summary>
    public Task WaitForLineAsync(string text) => WaitForLinesAsync(text, 1);

    /// <summary>Waits, line by line, until <paramref name="count"/> lines containing <paramref name="text"/> have been logged; returns them.</summary>
    public async Task<IReadOnlyList<string>> WaitForLinesAsync(string text, int count)
    {
        using var timeout = new CancellationTokenSource(Network.Tests.TestNetwork.Patience);
        while (true)
        {
            Task next;
            lock (_signalLock)
            {
                next = _written.Task;
            }

            var found = _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            try
            {
                await next.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"{(count == 1 ? "no line" : $"fewer than {count} lines")} containing '{text}' logged within {Network.Tests.TestNetwork.Patience.TotalSeconds} s");
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
