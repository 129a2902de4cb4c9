namespace SwarmLearning.Identity;

/// <summary>
/// The identity a running node uses now, and the one it is rotating to. Whatever presents or signs with the node's
/// identity reads <see cref="Current"/> when it does so (a TLS handshake, a signature, a new HTTP connection through
/// <see cref="IdentityHttpClient"/>), so one swap in <see cref="Promote"/> moves the whole node to a new certificate
/// without a restart.
/// </summary>
/// <remarks>
/// A rotation stages the new identity first (<see cref="Stage"/>): the ledger has to record the rotation, signed with
/// the current identity, before the node may use the new one, and a sentinel must sign the blocks after that record
/// with the new key before the swap has happened (<see cref="Find"/>). The holder owns the identities it is given to
/// stage and disposes them with itself, the retired ones included (connections made with them may outlive the swap);
/// the initial identity stays its caller's.
/// </remarks>
public sealed class IdentityHolder : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<SwarmIdentity> _owned = [];
    private SwarmIdentity _current;
    private SwarmIdentity? _staged;
    private bool _disposed;

    /// <summary>A holder of <paramref name="initial"/>, which stays the caller's to dispose.</summary>
    public IdentityHolder(SwarmIdentity initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _current = initial;
    }

    /// <summary>The identity in use.</summary>
    public SwarmIdentity Current => Volatile.Read(ref _current);

    /// <summary>The identity being rotated to, until the ledger has recorded the rotation; null when none is.</summary>
    public SwarmIdentity? Staged => Volatile.Read(ref _staged);

    /// <summary>The current or the staged identity when its fingerprint is <paramref name="fingerprint"/>; null otherwise.</summary>
    public SwarmIdentity? Find(Fingerprint fingerprint)
    {
        var current = Current;
        if (current.Fingerprint == fingerprint)
        {
            return current;
        }

        return Staged is { } staged && staged.Fingerprint == fingerprint ? staged : null;
    }

    /// <summary>Stages <paramref name="next"/> (the holder owns it from now on), replacing and disposing a staged one.</summary>
    /// <exception cref="ArgumentException"><paramref name="next"/> is the current identity, or has another role or name.</exception>
    public void Stage(SwarmIdentity next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var current = _current;
            if (next.Fingerprint == current.Fingerprint || next.Role != current.Role || !string.Equals(next.Name, current.Name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"a node rotates to a new certificate of its own role and name ({SwarmRoles.ToName(current.Role)} '{current.Name}')", nameof(next));
            }

            if (_staged is { } previous && !ReferenceEquals(previous, next))
            {
                _owned.Remove(previous);
                previous.Dispose();
            }

            _staged = next;
            if (!_owned.Contains(next))
            {
                _owned.Add(next);
            }
        }
    }

    /// <summary>Drops and disposes the staged identity (the rotation was refused); the current one stays.</summary>
    public void Abandon()
    {
        lock (_lock)
        {
            if (_staged is { } staged)
            {
                _staged = null;
                _owned.Remove(staged);
                staged.Dispose();
            }
        }
    }

    /// <summary>Makes the staged identity current (the ledger recorded the rotation) and returns the one it replaces.</summary>
    /// <exception cref="InvalidOperationException">Nothing is staged.</exception>
    public SwarmIdentity Promote()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var staged = _staged ?? throw new InvalidOperationException("no identity is staged");
            var retired = _current;
            Volatile.Write(ref _current, staged);
            _staged = null;
            return retired;
        }
    }

    /// <summary>Disposes the identities this holder took (staged, current and retired ones), not the initial one.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _staged = null;
            foreach (var identity in _owned)
            {
                identity.Dispose();
            }

            _owned.Clear();
        }
    }
}
