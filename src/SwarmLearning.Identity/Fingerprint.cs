using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity;

/// <summary>
/// A certificate's identity on the ledger: the SHA-256 of its DER encoding (what <c>openssl x509 -fingerprint
/// -sha256</c> prints). Written as 64 lowercase hex digits; <see cref="Short"/> is the first 12. Ordered bytewise,
/// which is also the order of the hex strings. <c>default</c> is the all-zero, empty fingerprint.
/// </summary>
public readonly struct Fingerprint : IEquatable<Fingerprint>, IComparable<Fingerprint>
{
    /// <summary>Bytes in a fingerprint.</summary>
    public const int Size = 32;

    private const int ShortBytes = 6;

    private readonly Bytes _bytes;

    private Fingerprint(Bytes bytes) => _bytes = bytes;

    /// <summary>True for the all-zero fingerprint (<c>default</c>), which no certificate has.</summary>
    public bool IsEmpty => !AsSpan().ContainsAnyExcept((byte)0);

    /// <summary>The first 12 hex digits, enough to tell the members of a swarm apart in logs and tables.</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "A short fingerprint, as in git's short hashes; the name is part of the agreed API.")]
    public string Short => Convert.ToHexStringLower(AsSpan()[..ShortBytes]);

    /// <summary>The fingerprint of a certificate.</summary>
    public static Fingerprint Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Of(certificate.RawDataMemory.Span);
    }

    /// <summary>The fingerprint of a certificate given as DER bytes.</summary>
    public static Fingerprint Of(ReadOnlySpan<byte> certificateDer)
    {
        var bytes = default(Bytes);
        SHA256.HashData(certificateDer, bytes);
        return new Fingerprint(bytes);
    }

    /// <summary>A fingerprint from its 32 raw bytes (as <see cref="CopyTo"/> writes them).</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not exactly 32 bytes long.</exception>
    public static Fingerprint Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"a fingerprint is {Size} bytes, not {bytes.Length}", nameof(bytes));
        }

        var copy = default(Bytes);
        bytes.CopyTo(copy);
        return new Fingerprint(copy);
    }

    /// <summary>Parses 64 hex digits, in either case, optionally in pairs separated by ':' as openssl prints them.</summary>
    /// <exception cref="SwarmException"><paramref name="hex"/> is not a fingerprint.</exception>
    public static Fingerprint Parse(string hex) =>
        TryParse(hex, out var f) ? f
        : throw new SwarmException($"'{SwarmNames.Truncate(hex)}' is not a certificate fingerprint: expected {Size * 2} hex digits (the SHA-256 of the certificate)");

    /// <summary>Parses 64 hex digits (or openssl's colon-separated form); false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? hex, out Fingerprint f)
    {
        f = default;
        scoped var text = hex.AsSpan().Trim();
        Span<char> digits = stackalloc char[Size * 2];
        if (text.Length == Size * 3 - 1)
        {
            // openssl's AB:CD:… form: a separator after every pair but the last.
            for (var i = 0; i < Size; i++)
            {
                if (i < Size - 1 && text[(i * 3) + 2] != ':')
                {
                    return false;
                }

                digits[i * 2] = text[i * 3];
                digits[(i * 2) + 1] = text[(i * 3) + 1];
            }

            text = digits;
        }

        if (text.Length != Size * 2)
        {
            return false;
        }

        var bytes = default(Bytes);
        if (Convert.FromHexString(text, bytes, out _, out var written) != OperationStatus.Done || written != Size)
        {
            return false;
        }

        f = new Fingerprint(bytes);
        return true;
    }

    /// <summary>Writes the 32 raw bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 32 bytes.</exception>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"a fingerprint needs {Size} bytes, the destination has {destination.Length}", nameof(destination));
        }

        AsSpan().CopyTo(destination);
    }

    /// <summary>The 32 raw bytes, without copying.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> AsSpan() => _bytes;

    /// <summary>True when both fingerprints have the same bytes.</summary>
    public bool Equals(Fingerprint other) => AsSpan().SequenceEqual(other.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Fingerprint other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(AsSpan());
        return hash.ToHashCode();
    }

    /// <summary>Bytewise order, the same as the order of the hex strings.</summary>
    public int CompareTo(Fingerprint other) => AsSpan().SequenceCompareTo(other.AsSpan());

    /// <summary>The 64 lowercase hex digits.</summary>
    public override string ToString() => Convert.ToHexStringLower(AsSpan());

    /// <summary>Equal bytes.</summary>
    public static bool operator ==(Fingerprint left, Fingerprint right) => left.Equals(right);

    /// <summary>Different bytes.</summary>
    public static bool operator !=(Fingerprint left, Fingerprint right) => !left.Equals(right);

    /// <summary>Bytewise order.</summary>
    public static bool operator <(Fingerprint left, Fingerprint right) => left.CompareTo(right) < 0;

    /// <summary>Bytewise order.</summary>
    public static bool operator <=(Fingerprint left, Fingerprint right) => left.CompareTo(right) <= 0;

    /// <summary>Bytewise order.</summary>
    public static bool operator >(Fingerprint left, Fingerprint right) => left.CompareTo(right) > 0;

    /// <summary>Bytewise order.</summary>
    public static bool operator >=(Fingerprint left, Fingerprint right) => left.CompareTo(right) >= 0;

    [InlineArray(Size)]
    private struct Bytes
    {
        private byte _element0;
    }
}
