using System.Security.Cryptography;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Storage;

/// <summary>
/// A node's models on disk, named by their SHA-256: <c>DIR/&lt;sha256&gt;.safetensors</c>. What a node submits, what it
/// merges and what it fetches from peers all land here, so it can serve each of them to others by hash. Files appear
/// whole or not at all (written to a temporary name, then renamed).
/// </summary>
public sealed class ModelStore
{
    private const string Extension = ".safetensors";

    /// <summary>Opens (creating if needed) the store in <paramref name="directory"/>.</summary>
    public ModelStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{directory}: cannot create the model directory: {e.Message}", e);
        }

        Directory = directory;
    }

    /// <summary>The directory.</summary>
    public string Directory { get; }

    /// <summary>True for 64 lowercase hex digits.</summary>
    public static bool IsSha256(string? value) => value is { Length: 64 } && value.All(char.IsAsciiHexDigitLower);

    /// <summary>The path a model with this hash has in the store (whether or not it is there).</summary>
    public string PathOf(string sha256) =>
        IsSha256(sha256) ? Path.Combine(Directory, sha256 + Extension) : throw new ArgumentException($"'{sha256}' is not a SHA-256", nameof(sha256));

    /// <summary>True when the store holds the model.</summary>
    public bool Contains(string sha256) => IsSha256(sha256) && File.Exists(PathOf(sha256));

    /// <summary>
    /// Writes <paramref name="model"/> into the store; returns its hash and size. The file is not fsync'd: the store's
    /// models only need to outlive a round in which this process runs (a node that crashes is left out of the round, and
    /// every copy is verified by hash when it is fetched), so a machine crash may lose them but never serves a torn file.
    /// </summary>
    public PublishedModel Put(TensorModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var temp = Path.Combine(Directory, $".put-{Guid.NewGuid():N}.tmp");
        try
        {
            var info = SafetensorsWriter.Write(temp, model, flushToDisk: false);
            MoveIntoPlace(temp, info.Sha256);
            return new PublishedModel(info.Sha256, info.Length);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Opens a stored model for reading (the file server streams it), or null when the store does not hold it.</summary>
    public FileStream? OpenRead(string sha256)
    {
        if (!Contains(sha256))
        {
            return null;
        }

        try
        {
            return new FileStream(PathOf(sha256), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Loads a stored model, checking its file (header, names, shapes, finite values).</summary>
    public TensorModel Load(string sha256)
    {
        using var file = SafetensorsFile.Open(PathOf(sha256));
        return file.LoadModel();
    }

    /// <summary>
    /// Receives a model from a peer and keeps it in the store (to serve it to others): see the overload with
    /// <c>keep</c>.
    /// </summary>
    public Task<TensorModel> ReceiveAsync(Stream content, string sha256, long size, string from, CancellationToken cancellationToken) =>
        ReceiveAsync(content, sha256, size, from, keep: true, cancellationToken);

    /// <summary>
    /// Receives a model from a peer: reads <paramref name="content"/> into memory while hashing and validating it,
    /// refuses it if its size or SHA-256 differ from what the ledger recorded or if it is not a valid model, and
    /// otherwise returns it. With <paramref name="keep"/> the bytes are also written to the store as they arrive (not
    /// fsync'd; a file the store already has under that hash is kept). <paramref name="from"/> names the peer in errors.
    /// </summary>
    public async Task<TensorModel> ReceiveAsync(Stream content, string sha256, long size, string from, bool keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (Contains(sha256))
        {
            return Load(sha256);
        }

        if (size < 0)
        {
            throw new ModelExchangeException($"the ledger records {size} bytes for model {sha256[..12]}; nothing to receive from {from}");
        }

        var temp = keep ? Path.Combine(Directory, $".receive-{Guid.NewGuid():N}.tmp") : null;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            StreamedModel read;
            var output = temp is null ? null : new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            try
            {
                read = await SafetensorsStreamReader.ReadAsync(content, size, $"model {sha256[..12]}", hash, output, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (output is not null)
                {
                    await output.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (read.Longer)
            {
                throw new ModelExchangeException($"{from} sent more than the {size} bytes the ledger records for model {sha256[..12]}; refused");
            }

            if (read.Received != size)
            {
                throw new ModelExchangeException($"{from} sent {read.Received} bytes of model {sha256[..12]}, but the ledger records {size}; refused");
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != sha256)
            {
                throw new ModelExchangeException($"{from} served a model whose SHA-256 is {actual[..12]}, not {sha256[..12]} as the ledger records; refused");
            }

            if (read.Invalid is { } e)
            {
                throw new ModelExchangeException($"{from} served model {sha256[..12]} with the recorded hash, but it is not a valid model: {e.Message}", e);
            }

            if (temp is not null)
            {
                MoveIntoPlace(temp, sha256);
            }

            return read.Model!;
        }
        finally
        {
            if (temp is not null)
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>
    /// Deletes stored models except <paramref name="keep"/> and those written less than <paramref name="minimumAge"/>
    /// ago, to bound the disk a long training uses. Other files (such as the final model) are left alone.
    /// </summary>
    public void Prune(IReadOnlySet<string> keep, TimeSpan minimumAge = default)
    {
        ArgumentNullException.ThrowIfNull(keep);
        var cutoff = DateTime.UtcNow - minimumAge;
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            var sha = Path.GetFileNameWithoutExtension(path);
            if (IsSha256(sha) && !keep.Contains(sha) && File.GetLastWriteTimeUtc(path) < cutoff)
            {
                try
                {
                    File.Delete(path);
                }
                catch (IOException)
                {
                    // Being served right now: the next prune takes it.
                }
            }
        }
    }

    private void MoveIntoPlace(string temp, string sha256)
    {
        var path = PathOf(sha256);
        if (!File.Exists(path))
        {
            File.Move(temp, path, overwrite: true);
        }
    }
}
