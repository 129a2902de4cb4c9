using System.Security.Cryptography;

namespace SwarmLearning.Safetensors;

/// <summary>
/// Content hashes of model files: SHA-256 over the file's bytes, lowercase hex. This is the hash the ledger records
/// for submitted and merged models and that receivers verify.
/// </summary>
public static class ModelHash
{
    /// <summary>Hashes a file by streaming it.</summary>
    public static async Task<string> ComputeSha256Async(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                var digest = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
                return Convert.ToHexStringLower(digest);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot read the file to hash it: {e.Message}", e);
        }
    }

    /// <summary>Hashes a file by streaming it, synchronously.</summary>
    public static string ComputeSha256(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot read the file to hash it: {e.Message}", e);
        }
    }
}
