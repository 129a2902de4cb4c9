using System.Security.Cryptography;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Channel;

/// <summary>
/// The local channel's sessions: at most one open at a time (one ML program per SL node), each doing one call at a
/// time. Ended sessions are remembered, so a program that says goodbye (DELETE) after its end call gets 204.
/// </summary>
internal sealed class ChannelSessions : IAsyncDisposable
{
    private const int RememberedEnded = 64;
    private readonly Lock _lock = new();
    private readonly Queue<string> _ended = new();
    private ChannelSession? _open;

    /// <summary>The open session, if any.</summary>
    public ChannelSession? Open
    {
        get
        {
            lock (_lock)
            {
                return _open;
            }
        }
    }

    /// <summary>Opens a session unless one is open; returns the new session, or null with the open one in <paramref name="existing"/>.</summary>
    public ChannelSession? TryOpen(SwarmSession session, TimeProvider time, out ChannelSession? existing)
    {
        lock (_lock)
        {
            existing = _open;
            if (_open is not null)
            {
                return null;
            }

            _open = new ChannelSession(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), session, time);
            return _open;
        }
    }

    /// <summary>The open session with this id, or null.</summary>
    public ChannelSession? Find(string id)
    {
        lock (_lock)
        {
            return _open is { } s && s.Id == id ? s : null;
        }
    }

    /// <summary>True when a session with this id ended (its end call completed, or it was deleted).</summary>
    public bool HasEnded(string id)
    {
        lock (_lock)
        {
            return _ended.Contains(id);
        }
    }

    /// <summary>Closes the session with this id (cancelling a call it runs); false when it is not the open one.</summary>
    public async Task<bool> CloseAsync(string id)
    {
        ChannelSession? closing;
        lock (_lock)
        {
            closing = _open is { } s && s.Id == id ? s : null;
            if (closing is null)
            {
                return false;
            }

            _open = null;
            _ended.Enqueue(id);
            while (_ended.Count > RememberedEnded)
            {
                _ended.Dequeue();
            }
        }

        await closing.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        ChannelSession? open;
        lock (_lock)
        {
            open = _open;
            _open = null;
        }

        if (open is not null)
        {
            await open.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>One ML program's session on the channel: the round engine's session, a one-call-at-a-time guard, and a token that fires when it is abandoned.</summary>
internal sealed class ChannelSession : IAsyncDisposable
{
    private readonly CancellationTokenSource _abandoned = new();
    private readonly TimeProvider _time;
    private string? _running;
    private int _disposed;

    public ChannelSession(string id, SwarmSession session, TimeProvider time)
    {
        Id = id;
        Session = session;
        _time = time;
        Opened = time.GetUtcNow();
        LastCall = Opened;
    }

    public string Id { get; }

    public SwarmSession Session { get; }

    public DateTimeOffset Opened { get; }

    /// <summary>When the last call started or finished.</summary>
    public DateTimeOffset LastCall { get; private set; }

    /// <summary>The call running now (begin, sync, progress, end), or null.</summary>
    public string? Running => Volatile.Read(ref _running);

    /// <summary>The tensors of the last model this session answered with: what its next sync must send back.</summary>
    public IReadOnlyList<TensorInfo>? Layout { get; set; }

    /// <summary>Fires when the session is deleted or the SL node stops.</summary>
    public CancellationToken Abandoned => _abandoned.Token;

    /// <summary>Starts a call; false when another call of this session runs.</summary>
    public bool TryEnter(string call)
    {
        if (Interlocked.CompareExchange(ref _running, call, null) is not null)
        {
            return false;
        }

        LastCall = _time.GetUtcNow();
        return true;
    }

    public void Exit()
    {
        LastCall = _time.GetUtcNow();
        Volatile.Write(ref _running, null);
    }

    /// <summary>Says what the session is doing, for a 409 that a user reads.</summary>
    public string Describe()
    {
        var now = _time.GetUtcNow();
        var running = Running;
        return running is not null
            ? $"session '{Id}' (opened {Ago(now - Opened)} ago) is running its {running} call, started {Ago(now - LastCall)} ago"
            : $"session '{Id}' (opened {Ago(now - Opened)} ago) is idle since its last call {Ago(now - LastCall)} ago";
    }

    private static string Ago(TimeSpan t) => t.TotalSeconds < 120 ? $"{t.TotalSeconds:0} s" : $"{t.TotalMinutes:0} min";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _abandoned.CancelAsync().ConfigureAwait(false);
        await Session.DisposeAsync().ConfigureAwait(false);
        // _abandoned is not disposed: a call that raced with the close may still link to its token, which must then
        // read as cancelled rather than throw. It holds no timer, so the GC reclaims it.
    }
}
