using System.Threading.Channels;

namespace SwarmLearning.Cli.Dashboard;

/// <summary>What a dashboard stream tells a page: the ledger moved to <paramref name="Height"/>, or the SN cannot be read (<paramref name="Problem"/>).</summary>
internal sealed record DashboardChange(long Height, string? Problem);

/// <summary>
/// The open dashboard streams. Each has a small bounded queue that keeps the newest changes: a page that reads slowly
/// misses intermediate heights, never the latest, and never holds memory of the server. At most
/// <see cref="DashboardOptions.MaxStreams"/> are open at once.
/// </summary>
internal sealed class DashboardHub(int maxStreams)
{
    private const int QueueLength = 8;

    private readonly Lock _lock = new();
    private readonly List<Channel<DashboardChange>> _streams = [];
    private DashboardChange _latest = new(-1, null);
    private bool _completed;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _streams.Count;
            }
        }
    }

    public DashboardChange Latest
    {
        get
        {
            lock (_lock)
            {
                return _latest;
            }
        }
    }

    /// <summary>Opens a stream that starts with the latest change (once there is one); null when too many are open or the server stops.</summary>
    public Subscription? Subscribe()
    {
        var channel = Channel.CreateBounded<DashboardChange>(new BoundedChannelOptions(QueueLength)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_lock)
        {
            if (_completed || _streams.Count >= maxStreams)
            {
                return null;
            }

            _streams.Add(channel);
            if (_latest.Height >= 0 || _latest.Problem is not null)
            {
                channel.Writer.TryWrite(_latest); // nothing is known before the feed's first read
            }
        }

        return new Subscription(this, channel);
    }

    public void Publish(DashboardChange change)
    {
        lock (_lock)
        {
            if (change == _latest)
            {
                return;
            }

            _latest = change;
            foreach (var stream in _streams)
            {
                stream.Writer.TryWrite(change);
            }
        }
    }

    /// <summary>Ends every stream (the server stops), and refuses new ones.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
            foreach (var stream in _streams)
            {
                stream.Writer.TryComplete();
            }
        }
    }

    private void Remove(Channel<DashboardChange> channel)
    {
        lock (_lock)
        {
            _streams.Remove(channel);
        }
    }

    /// <summary>One open stream; disposing it closes it.</summary>
    internal sealed class Subscription(DashboardHub hub, Channel<DashboardChange> channel) : IDisposable
    {
        public ChannelReader<DashboardChange> Reader => channel.Reader;

        public void Dispose() => hub.Remove(channel);
    }
}
