using System.Security.Cryptography;
using SwarmLearning.Hashing;

namespace SwarmLearning.Safetensors;

/// <summary>
/// A model's identity: BLAKE3 over its safetensors file's bytes, 32 bytes as 64 lowercase hex digits, as Debian's
/// <c>b3sum</c> prints it. This is the hash the ledger records for submitted and merged models, the name the file
/// server and the store know a model by, and what every receiver verifies. BLAKE3 rather than SHA-256 because every
/// model a round moves is hashed by its publisher and by each node that receives it: on one core BLAKE3 hashes 2–3
/// times as fast as SHA-256 with the SHA instructions where the CPU has AVX-512, and 1.4–1.6 times with AVX2
/// (docs/performance.md, "The hash").
/// </summary>
/// <remarks>
/// <see cref="Sha256(string)"/> stays for what users check with <c>sha256sum</c>: the demo's
/// <c>finalModelSha256</c> and <c>swarm model inspect</c>.
/// </remarks>
public static class ModelHash
{
    /// <summary>The algorithm's name, as messages and docs give it.</summary>
    public const string Algorithm = "BLAKE3";

    /// <summary>A new incremental hasher for a model's bytes.</summary>
    public static Blake3 Create() => new();

    /// <summary>The hex form the ledger records of a finished hash.</summary>
    public static string Finish(Blake3 hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>True when <paramref name="value"/> has the form of a model hash: 64 lowercase hex digits.</summary>
    public static bool IsValid(string? value) => value is { Length: 64 } && value.All(char.IsAsciiHexDigitLower);

    /// <summary>The model hash of <paramref name="data"/>.</summary>
    public static string Of(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(Blake3.HashData(data));

    /// <summary>The model hash of a file, streamed.</summary>
    public static async Task<string> ComputeAsync(string path, CancellationToken cancellationToken = default)
    {
        var hash = Create();
        await ReadFileAsync(path, bytes => hash.AppendData(bytes.Span), cancellationToken).ConfigureAwait(false);
        return Finish(hash);
    }

    /// <summary>The model hash of a file, streamed, synchronously.</summary>
    public static string Compute(string path)
    {
        var hash = Create();
        ReadFile(path, hash.AppendData);
        return Finish(hash);
    }

    /// <summary>The SHA-256 of a file, streamed: what <c>sha256sum</c> prints, for users to check a final model with.</summary>
    public static string Sha256(string path)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadFile(path, hash.AppendData);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// The model hash and the SHA-256 of a file in one read of it: what <c>swarm model inspect</c> prints.
    /// </summary>
    public static (string ModelHash, string Sha256) ComputeWithSha256(string path)
    {
        var hash = Create();
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadFile(path, bytes =>
        {
            hash.AppendData(bytes);
            sha256.AppendData(bytes);
        });
        return (Finish(hash), Convert.ToHexStringLower(sha256.GetHashAndReset()));
    }

    private static void ReadFile(string path, Action<ReadOnlySpan<byte>> append)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                append(buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CannotRead(path, e);
        }
    }

    private static async Task ReadFileAsync(string path, Action<ReadOnlyMemory<byte>> append, CancellationToken cancellationToken)
    {
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    append(buffer.AsMemory(0, read));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CannotRead(path, e);
        }
    }

    private static SwarmException CannotRead(string path, Exception e) => new($"{path}: cannot read the file to hash it: {e.Message}", e);
}
