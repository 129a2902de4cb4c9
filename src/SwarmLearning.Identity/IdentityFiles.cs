using System.Security.Cryptography;

namespace SwarmLearning.Identity;

/// <summary>
/// A running node's certificate and key files, polled for a new pair installed over them (a rotation without a
/// restart). Polling rather than a file system watcher: the node polls on its heartbeat anyway, it works the same on
/// every file system (NFS, bind mounts, Kubernetes secrets replaced by a symlink swap), and a pair is only acted on
/// once its contents have stayed the same from one poll to the next, so a certificate copied in before its key is
/// never read half installed.
/// </summary>
public sealed class IdentityFiles
{
    private Stamp _seen;
    private Stamp _handled;

    /// <summary>Watches <paramref name="certificatePath"/> and <paramref name="keyPath"/>, taking what they hold now as the pair in use.</summary>
    public IdentityFiles(string certificatePath, string keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);
        CertificatePath = certificatePath;
        KeyPath = keyPath;
        _seen = _handled = Read();
    }

    /// <summary>The certificate file (PEM).</summary>
    public string CertificatePath { get; }

    /// <summary>The private key file (PEM).</summary>
    public string KeyPath { get; }

    /// <summary>
    /// Looks at the files. Returns the identity they hold when it is new (another certificate than
    /// <paramref name="current"/>'s), the files have not changed since the previous poll, and it is fit to replace
    /// <paramref name="current"/>: the key matches the certificate, which chains to <paramref name="trust"/>'s CAs, is
    /// valid at <paramref name="now"/>, and has the same role and name. Returns null when there is nothing new. The
    /// caller owns what is returned.
    /// </summary>
    /// <exception cref="SwarmException">
    /// The new files are not usable; the message names the file and says why. A pair is judged once: the next poll
    /// returns null until the files change again.
    /// </exception>
    public SwarmIdentity? Poll(SwarmIdentity current, SwarmTrust trust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(trust);
        var stamp = Read();
        if (stamp == _handled)
        {
            return null;
        }

        if (stamp != _seen)
        {
            _seen = stamp; // changed since the last poll: maybe still being written, look again next time
            return null;
        }

        _handled = stamp;
        var next = SwarmIdentity.Load(CertificatePath, KeyPath);
        try
        {
            if (next.Fingerprint == current.Fingerprint)
            {
                next.Dispose();
                return null; // the same certificate written again
            }

            var check = trust.Validate(next.Certificate, now);
            var problem = !check.IsValid ? check.Reason
                : next.Role != current.Role ? $"it has role {SwarmRoles.ToName(next.Role)}, but this node is {SwarmRoles.ToName(current.Role)}; a rotation keeps the role"
                : !string.Equals(next.Name, current.Name, StringComparison.Ordinal) ? $"it is named '{next.Name}', but this node is '{current.Name}'; a rotation keeps the name"
                : null;
            if (problem is not null)
            {
                throw new SwarmException($"{CertificatePath}: the new certificate cannot replace the one in use: {problem}");
            }

            return next;
        }
        catch
        {
            next.Dispose();
            throw;
        }
    }

    /// <summary>Forgets that the files were judged, so the next poll reads them again (a rotation that failed for a passing reason).</summary>
    public void Retry() => _handled = default;

    private Stamp Read() => new(Digest(CertificatePath), Digest(KeyPath));

    // The files' contents, not their times: two writes within one tick of the file system's clock leave the same
    // modification time, and certificates of one profile all have about the same length. They are a few hundred bytes.
    private static string Digest(string path)
    {
        try
        {
            return Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private readonly record struct Stamp(string Certificate, string Key);
}
