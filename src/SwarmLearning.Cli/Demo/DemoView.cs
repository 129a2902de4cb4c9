using System.Globalization;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// How the demo shows its progress while it runs: a live table on a terminal (<see cref="LiveView"/>), plain event
/// lines on standard error otherwise, nothing with --json. A view refreshes itself from the <see cref="DemoState"/>
/// every half second until stopped.
/// </summary>
internal abstract class DemoView : IAsyncDisposable
{
    protected static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(500);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>The view for this run: none with --json, the live table on a terminal, lines otherwise.</summary>
    public static DemoView Create(CliIo io, bool json) =>
        json ? new SilentView() : io.CanShowProgress ? new LiveView() : new LineView(io.Error);

    /// <summary>Starts showing <paramref name="state"/>.</summary>
    public void Start(DemoState state) => _loop ??= Task.Run(() => RunAsync(state, _stop.Token));

    /// <summary>Draws the last picture and stops; what it drew stays on the screen.</summary>
    public async Task StopAsync()
    {
        if (_loop is null)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _loop = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Shows the state until <paramref name="stop"/>, then once more.</summary>
    protected abstract Task RunAsync(DemoState state, CancellationToken stop);

    /// <summary>Waits one refresh interval; false once the view is to stop.</summary>
    protected static async Task<bool> TickAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(RefreshInterval, stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>--json: the summary is the only output.</summary>
    private sealed class SilentView : DemoView
    {
        protected override Task RunAsync(DemoState state, CancellationToken stop) => Task.CompletedTask;
    }

    /// <summary>Not a terminal: each event as a line on standard error, with the time since the start.</summary>
    private sealed class LineView(TextWriter error) : DemoView
    {
        protected override async Task RunAsync(DemoState state, CancellationToken stop)
        {
            bool more;
            do
            {
                more = await TickAsync(stop).ConfigureAwait(false);
                var seconds = state.Clock.Elapsed.TotalSeconds;
                foreach (var line in state.TakeEvents())
                {
                    await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[{seconds,6:F1} s] {line}")).ConfigureAwait(false);
                }
            }
            while (more);
        }
    }
}
