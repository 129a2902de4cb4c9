using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SwarmLearning.Cli.Ctl;
using SwarmLearning.Ledger.Serialization;

namespace SwarmLearning.Cli.Dashboard;

/// <summary>How the dashboard follows the ledger and keeps its streams; the defaults suit people watching a swarm.</summary>
internal sealed class DashboardOptions
{
    /// <summary>A comment line on every open stream this often, so proxies and browsers keep it open: 15 s.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long one request of the SN's block stream waits for a new block before it is asked again: 30 s (the SN allows 60).</summary>
    public TimeSpan BlockWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Changes are told at most this often: a busy ledger cuts many blocks a second, a page needs a couple of pictures: 500 ms.</summary>
    public TimeSpan Coalesce { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The feed looks at the SN at least this often even when no block arrives (the context may change): 5 s.</summary>
    public TimeSpan Recheck { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>After the SN failed to answer, the first wait before asking again; it doubles up to 10 s.</summary>
    public TimeSpan Retry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The most streams open at once (pages, tabs): 64.</summary>
    public int MaxStreams { get; init; } = 64;
}

/// <summary>
/// Follows the SN of the ctl session's context for the dashboard. A "doorbell" reads the SN's block stream
/// (<c>GET /v1/blocks/stream</c>, which sends every new block as it is cut: the events long poll would stay silent on
/// blocks that hold only <c>training.progress</c> reports, which carry the loss curves and the epochs). On each ring
/// the feed reads the new blocks as JSON and the events since its cursor, folds them into the <see cref="RoundHistory"/>,
/// and tells the streams the new height, at most every <see cref="DashboardOptions.Coalesce"/>. When the SN does not
/// answer it says so on the streams and tries again with a bounded backoff; when the context changes it starts over.
/// </summary>
internal sealed class DashboardFeed : IAsyncDisposable
{
    private const int BlocksPerRead = 200;

    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    private readonly Func<CtlContext> _context;
    private readonly DashboardOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<long> _bell = Channel.CreateBounded<long>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private RoundHistory _history = new();
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    public DashboardFeed(Func<CtlContext> context, DashboardOptions options, ILogger logger)
    {
        _context = context;
        _options = options;
        _logger = logger;
        Hub = new DashboardHub(options.MaxStreams);
    }

    public DashboardHub Hub { get; }

    public DashboardOptions Options => _options;

    /// <summary>The last block folded into the history, -1 before any.</summary>
    public long Height
    {
        get
        {
            lock (_lock)
            {
                return _history.Height;
            }
        }
    }

    /// <summary>Runs <paramref name="read"/> on the history under the feed's lock.</summary>
    public T Read<T>(Func<RoundHistory, T> read)
    {
        lock (_lock)
        {
            return read(_history);
        }
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var retry = _options.Retry;
        string? problem = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            CtlSession? session = null;
            using var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var doorbell = Task.CompletedTask;
            try
            {
                var context = _context();
                session = CtlSession.Open(context);
                session.Client.RequestTimeout = TimeSpan.FromSeconds(15);
                DashboardLog.Following(_logger, session.Sn, context.Identity);
                lock (_lock)
                {
                    _history = new RoundHistory();
                }

                doorbell = RingAsync(session, generation.Token);
                while (true)
                {
                    await CatchUpAsync(session, generation.Token).ConfigureAwait(false);
                    if (problem is not null)
                    {
                        DashboardLog.Recovered(_logger, Height);
                        problem = null;
                    }

                    retry = _options.Retry;
                    Hub.Publish(new DashboardChange(Height, null));
                    if (_context() != context)
                    {
                        DashboardLog.ContextChanged(_logger, _context().Name);
                        break;
                    }

                    using (var recheck = CancellationTokenSource.CreateLinkedTokenSource(generation.Token))
                    {
                        recheck.CancelAfter(_options.Recheck);
                        try
                        {
                            await _bell.Reader.ReadAsync(recheck.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!generation.IsCancellationRequested)
                        {
                            // No block for a while: look anyway.
                        }
                    }

                    await Task.Delay(_options.Coalesce, generation.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is SwarmException or HttpRequestException or IOException or LedgerFormatException or TimeoutException)
            {
                problem = e.Message;
                DashboardLog.Unreachable(_logger, problem, retry.TotalSeconds);
                Hub.Publish(new DashboardChange(Height, problem));
                await generation.CancelAsync().ConfigureAwait(false);
                await Task.Delay(retry, cancellationToken).ConfigureAwait(false);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
            }
            finally
            {
                await generation.CancelAsync().ConfigureAwait(false);
                await doorbell.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                session?.Dispose();
            }
        }
    }

    /// <summary>Reads the blocks after the history's height and the events after its cursor, and folds them in.</summary>
    private async Task CatchUpAsync(CtlSession session, CancellationToken cancellationToken)
    {
        while (true)
        {
            var blocks = await session.Client.GetBlocksAsync(Height + 1, BlocksPerRead, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                foreach (var block in blocks)
                {
                    _history.Apply(block);
                }
            }

            if (blocks.Count < BlocksPerRead)
            {
                break;
            }
        }

        var height = Height;
        while (Read(h => h.EventsFrom) <= height)
        {
            var batch = await session.Client.GetEventsAsync(Read(h => h.EventsFrom), TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _history.Apply(batch.Events.Where(e => e.Height <= height));
                _history.EventsSeenUpTo(Math.Min(batch.Next, height + 1));
            }

            if (batch.Events.Count == 0)
            {
                break;
            }
        }
    }

    /// <summary>Rings the bell at every block the SN cuts, from its head on, until the generation ends.</summary>
    private async Task RingAsync(CtlSession session, CancellationToken cancellationToken)
    {
        var retry = _options.Retry;
        long from = -1;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (from < 0)
                {
                    from = (await session.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Height + 1;
                }

                await foreach (var block in session.Client.StreamBlocksAsync(from, _options.BlockWait, cancellationToken).ConfigureAwait(false))
                {
                    from = block.Height + 1;
                    _bell.Writer.TryWrite(block.Height);
                }

                retry = _options.Retry;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is SwarmException or HttpRequestException or IOException or LedgerFormatException)
            {
                // The main loop reports an SN that does not answer; the bell only waits and tries again.
                _bell.Writer.TryWrite(from);
                await Task.Delay(retry, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Hub.Complete();
        await _stop.CancelAsync().ConfigureAwait(false);
#pragma warning disable VSTHRD003 // the feed's own loop, started by Start
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
#pragma warning restore VSTHRD003
        _stop.Dispose();
    }
}
