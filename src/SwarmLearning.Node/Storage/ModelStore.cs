using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Storage;

/// <summary>
/// A node's models, named by their SHA-256: what it submits, what it merges and what it fetches from peers, so it can
/// serve each of them to others by hash. The models of the rounds are held in memory and served as their safetensors
/// encoding (<see cref="SafetensorsEncoding"/>): no file, so no copy into the page cache, no write-back, no copy out
/// for every peer. Files in <c>DIR/&lt;sha256&gt;.safetensors</c> are served too (a file the store already has under a
/// hash is kept and preferred); they appear whole or not at all (written to a temporary name, then renamed).
/// </summary>
public sealed class ModelStore
{
    private const string Extension = ".safetensors";

    // Models held in memory, by hash. A model is never changed once held (its owner hands it over).
    private readonly ConcurrentDictionary<string, TensorModel> _held = new(StringComparer.Ordinal);

    // Encodings already known for models not yet put (see RememberEncoding); an entry lives as long as its model.
    private readonly ConditionalWeakTable<TensorModel, PublishedModel> _encodings = [];

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
    public bool Contains(string sha256) => IsSha256(sha256) && (_held.ContainsKey(sha256) || File.Exists(PathOf(sha256)));

    /// <summary>
    /// Holds <paramref name="model"/> in the store (after checking that its values are finite and fit their dtypes) and
    /// returns the hash and size of its safetensors encoding. The store keeps the model itself, not a copy: the caller
    /// must not change its values afterwards. A file the store already has under that hash is kept and served instead.
    /// </summary>
    public PublishedModel Put(TensorModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!_encodings.TryGetValue(model, out var published))
        {
            var encoded = SafetensorsEncoding.Measure(model);
            published = new PublishedModel(encoded.Sha256, encoded.Length);
        }

        if (!File.Exists(PathOf(published.Sha256)))
        {
            _held[published.Sha256] = model;
        }

        return published;
    }

    /// <summary>
    /// Records that <paramref name="model"/>'s safetensors encoding has the hash and size of
    /// <paramref name="encoding"/>, so that <see cref="Put"/> need not measure it again. For a reader that has just
    /// parsed the model, with every check, from bytes it hashed and found to be exactly that encoding (see
    /// <see cref="SafetensorsEncoding.IsCanonicalHeader"/>), and that hands the model on unchanged.
    /// </summary>
    public void RememberEncoding(TensorModel model, PublishedModel encoding)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(encoding);
        _encodings.AddOrUpdate(model, encoding);
    }

    /// <summary>
    /// Opens a stored model's safetensors bytes for reading (the file server streams them; <see cref="Stream.Length"/>
    /// is known), or null when the store does not hold it.
    /// </summary>
    public Stream? OpenRead(string sha256)
    {
        if (!IsSha256(sha256))
        {
            return null;
        }

        var path = PathOf(sha256);
        if (File.Exists(path))
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            }
            catch (FileNotFoundException)
            {
                // Pruned between the check and the open: what is held in memory, if anything, is served instead.
            }
        }

        return _held.TryGetValue(sha256, out var model) ? SafetensorsEncoding.OpenRead(model) : null;
    }

    /// <summary>
    /// A stored model: the one held in memory (itself: do not change it), or one read from its file with every check
    /// (header, names, shapes, finite values).
    /// </summary>
    public TensorModel Load(string sha256)
    {
        if (!File.Exists(PathOf(sha256)) && _held.TryGetValue(sha256, out var model))
        {
            return model;
        }

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
    /// otherwise returns it. With <paramref name="keep"/> the store also holds it, to serve it to others, when its
    /// bytes are the encoding this project writes (every SL node publishes that way); a model in another writer's
    /// layout is returned but not served. <paramref name="from"/> names the peer in errors.
    /// </summary>
    public Task<TensorModel> ReceiveAsync(Stream content, string sha256, long size, string from, bool keep, CancellationToken cancellationToken) =>
        ReceiveAsync(content, sha256, size, from, keep, allocate: null, cancellationToken);

    /// <summary>
    /// <see cref="ReceiveAsync(Stream, string, long, string, bool, CancellationToken)"/>, with the tensors' arrays from
    /// <paramref name="allocate"/> when given (and the model is not one the store already holds).
    /// </summary>
    public async Task<TensorModel> ReceiveAsync(Stream content, string sha256, long size, string from, bool keep, Func<int, float[]>? allocate, CancellationToken cancellationToken)
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

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var read = await SafetensorsStreamReader.ReadAsync(content, size, $"model {sha256[..12]}", hash, copy: null, cancellationToken, allocate).ConfigureAwait(false);
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

        var model = read.Model!;
        if (keep && read.Canonical)
        {
            _held.TryAdd(sha256, model);
        }

        return model;
    }

    /// <summary>
    /// Lets go of the models held in memory except <paramref name="keep"/> (a transfer under way keeps the model it
    /// streams), and deletes stored files except <paramref name="keep"/> and those written less than
    /// <paramref name="minimumAge"/> ago, to bound the memory and disk a long training uses. Other files (such as the
    /// final model) are left alone.
    /// </summary>
    public void Prune(IReadOnlySet<string> keep, TimeSpan minimumAge = default)
    {
        ArgumentNullException.ThrowIfNull(keep);
        foreach (var sha in _held.Keys)
        {
            if (!keep.Contains(sha))
            {
                _held.TryRemove(sha, out _);
            }
        }

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
}
