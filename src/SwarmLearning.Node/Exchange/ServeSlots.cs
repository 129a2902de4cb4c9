namespace SwarmLearning.Node.Exchange;

/// <summary>
/// How many models the file server sends at once (<see cref="Hosting.SwarmLearningNodeOptions.MaxConcurrentServes"/>);
/// a request beyond that waits, its model held open, until a send ends. When a round's participants all ask its leader
/// for the merged model together, the bytes to send are the same either way, but fewer streams at once share the
/// processors and caches better: with 16 nodes on two cores, four at a time got the last node its copy about 15 %
/// sooner than all at once, and most of the others much sooner (docs/performance.md, "The leader sends the merged
/// model a few at a time").
/// </summary>
/// <remarks>
/// Not disposable: a <see cref="SemaphoreSlim"/> holds no handle until its AvailableWaitHandle is asked for, and one
/// disposed while the host stops would fail the requests still waiting on it instead of letting them end.
/// </remarks>
internal sealed class ServeSlots
{
    private readonly SemaphoreSlim? _slots;
    private int _sending;
    private int _waiting;
    private int _mostSending;

    /// <summary>Allows <paramref name="limit"/> sends at once; 0 sets no limit.</summary>
    public ServeSlots(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
        _slots = limit > 0 ? new SemaphoreSlim(limit, limit) : null;
    }

    /// <summary>The most sends at once; 0 for no limit.</summary>
    public int Limit { get; }

    /// <summary>Requests waiting for a send to end.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>The most sends that ran at once so far (for tests and diagnostics).</summary>
    public int MostSending => Volatile.Read(ref _mostSending);

    /// <summary>
    /// Takes a slot, waiting for one when all are taken (<paramref name="waiting"/> is called first, with the number of
    /// requests then waiting, this one included). The wait ends with the request: a peer that gives up stops waiting.
    /// </summary>
    public async ValueTask<Slot> EnterAsync(Action<int>? waiting, CancellationToken cancellationToken)
    {
        if (_slots is not null && !await _slots.WaitAsync(0, CancellationToken.None).ConfigureAwait(false))
        {
            var queued = Interlocked.Increment(ref _waiting);
            try
            {
                waiting?.Invoke(queued);
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }

        var sending = Interlocked.Increment(ref _sending);
        var most = Volatile.Read(ref _mostSending);
        while (sending > most && Interlocked.CompareExchange(ref _mostSending, sending, most) != most)
        {
            most = Volatile.Read(ref _mostSending);
        }

        return new Slot(this);
    }

    private void Leave()
    {
        Interlocked.Decrement(ref _sending);
        _slots?.Release();
    }

    /// <summary>A send's slot: disposing it lets the next waiting request send.</summary>
    public sealed class Slot : IDisposable
    {
        private ServeSlots? _owner;

        internal Slot(ServeSlots owner) => _owner = owner;

        /// <inheritdoc/>
        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Leave();
    }
}
