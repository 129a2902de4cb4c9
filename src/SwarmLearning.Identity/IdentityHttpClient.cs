namespace SwarmLearning.Identity;

/// <summary>
/// An HTTP client that always presents its node's current identity (<see cref="IdentityHolder.Current"/>). A handler's
/// pooled connections keep the client certificate they were opened with, so after a rotation <see cref="Current"/>
/// builds a new client for the new identity: every new request goes out with the new certificate and no connection
/// opened with the retired one is used again. Requests already running finish on the old client; old clients close
/// their idle connections after the pool's idle timeout and are disposed with this object.
/// </summary>
public sealed class IdentityHttpClient : IDisposable
{
    private readonly IdentityHolder _identity;
    private readonly Func<SwarmIdentity, HttpClient> _create;
    private readonly Lock _lock = new();
    private readonly List<HttpClient> _retired = [];
    private Built _built;
    private bool _disposed;

    /// <summary>A client for <paramref name="identity"/>'s current identity, made (and remade after a rotation) by <paramref name="create"/>.</summary>
    public IdentityHttpClient(IdentityHolder identity, Func<SwarmIdentity, HttpClient> create)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(create);
        _identity = identity;
        _create = create;
        var current = identity.Current;
        _built = new Built(current, create(current));
    }

    /// <summary>The client for the current identity; take it for each request rather than keeping it.</summary>
    public HttpClient Current
    {
        get
        {
            var identity = _identity.Current;
            var built = Volatile.Read(ref _built);
            if (ReferenceEquals(built.Identity, identity))
            {
                return built.Client;
            }

            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!ReferenceEquals(_built.Identity, identity))
                {
                    _retired.Add(_built.Client);
                    Volatile.Write(ref _built, new Built(identity, _create(identity)));
                }

                return _built.Client;
            }
        }
    }

    /// <summary>Disposes the current client and every retired one.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _built.Client.Dispose();
            _retired.ForEach(c => c.Dispose());
            _retired.Clear();
        }
    }

    private sealed record Built(SwarmIdentity Identity, HttpClient Client);
}
