using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SwarmLearning.Node.Rounds;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Storage;

/// <summary>
/// A node's models, named by their model hash (<see cref="ModelHash"/>): what it submits, what it merges and what it fetches from peers, so it can
/// serve each of them to others by hash. The models of the rounds are held in memory and served as their safetensors
/// encoding (<see cref="SafetensorsEncoding"/>): no file, so no copy into the page cache, no write-back, no copy out
/// for every peer. Files in <c>DIR/&lt;modelHash&gt;.safetensors</c> are served too (a file the store already has under a
/// hash is kept and preferred); they appear whole or not at all (written to a temporary name, then renamed).
/// </summary>
public sealed class ModelStore
{
    private const string Extension = ".safetensors";

    // Models held in memory, by hash. A model is never changed once held (its owner hands it over).
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);

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

    /// <summary>The path a model with this hash has in the store (whether or not it is there).</summary>
    public string PathOf(string modelHash) =>
        ModelHash.IsValid(modelHash) ? Path.Combine(Directory, modelHash + Extension) : throw new ArgumentException($"'{modelHash}' is not a model hash", nameof(modelHash));

    /// <summary>True when the store holds the model.</summary>
    public bool Contains(string modelHash) => ModelHash.IsValid(modelHash) && (_held.ContainsKey(modelHash) || File.Exists(PathOf(modelHash)));

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
            published = new PublishedModel(encoded.Hash, encoded.Length);
        }

        if (!File.Exists(PathOf(published.Hash)))
        {
            _held[published.Hash] = new Held(model);
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
    public Stream? OpenRead(string modelHash)
    {
        if (!ModelHash.IsValid(modelHash))
        {
            return null;
        }

        var path = PathOf(modelHash);
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

        return _held.TryGetValue(modelHash, out var held) && held.TryEnter() ? new ReaderStream(SafetensorsEncoding.OpenRead(held.Model), held) : null;
    }

    /// <summary>
    /// A stored model: the one held in memory (itself: do not change it), or one read from its file with every check
    /// (header, names, shapes, finite values).
    /// </summary>
    public TensorModel Load(string modelHash)
    {
        if (!File.Exists(PathOf(modelHash)) && _held.TryGetValue(modelHash, out var held))
        {
            return held.Model;
        }

        using var file = SafetensorsFile.Open(PathOf(modelHash));
        return file.LoadModel();
    }

    /// <summary>
    /// Receives a model from a peer and keeps it in the store (to serve it to others): see the overload with
    /// <c>keep</c>.
    /// </summary>
    public Task<TensorModel> ReceiveAsync(Stream content, string modelHash, long size, string from, CancellationToken cancellationToken) =>
        ReceiveAsync(content, modelHash, size, from, keep: true, cancellationToken);

    /// <summary>
    /// Receives a model from a peer: reads <paramref name="content"/> into memory while hashing and validating it,
    /// refuses it if its size or model hash differ from what the ledger recorded or if it is not a valid model, and
    /// otherwise returns it. With <paramref name="keep"/> the store also holds it, to serve it to others, when its
    /// bytes are the encoding this project writes (every SL node publishes that way); a model in another writer's
    /// layout is returned but not served. <paramref name="from"/> names the peer in errors.
    /// </summary>
    public Task<TensorModel> ReceiveAsync(Stream content, string modelHash, long size, string from, bool keep, CancellationToken cancellationToken) =>
        ReceiveAsync(content, modelHash, size, from, keep, allocate: null, cancellationToken);

    /// <summary>
    /// <see cref="ReceiveAsync(Stream, string, long, string, bool, CancellationToken)"/>, with the tensors' arrays from
    /// <paramref name="allocate"/> when given (and the model is not one the store already holds).
    /// </summary>
    public async Task<TensorModel> ReceiveAsync(Stream content, string modelHash, long size, string from, bool keep, Func<int, float[]>? allocate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (Contains(modelHash))
        {
            return Load(modelHash);
        }

        if (size < 0)
        {
            throw new ModelExchangeException($"the ledger records {size} bytes for model {modelHash[..12]}; nothing to receive from {from}");
        }

        var hash = ModelHash.Create();
        var read = await SafetensorsStreamReader.ReadAsync(content, size, $"model {modelHash[..12]}", hash, copy: null, cancellationToken, allocate).ConfigureAwait(false);
        if (read.Longer)
        {
            throw new ModelExchangeException($"{from} sent more than the {size} bytes the ledger records for model {modelHash[..12]}; refused");
        }

        if (read.Received != size)
        {
            throw new ModelExchangeException($"{from} sent {read.Received} bytes of model {modelHash[..12]}, but the ledger records {size}; refused");
        }

        var actual = ModelHash.Finish(hash);
        if (actual != modelHash)
        {
            throw new ModelExchangeException($"{from} served a model whose hash ({ModelHash.Algorithm}) is {actual[..12]}, not {modelHash[..12]} as the ledger records; refused");
        }

        if (read.Invalid is { } e)
        {
            throw new ModelExchangeException($"{from} served model {modelHash[..12]} with the recorded hash, but it is not a valid model: {e.Message}", e);
        }

        var model = read.Model!;
        if (keep && read.Canonical)
        {
            _held.TryAdd(modelHash, new Held(model));
        }

        return model;
    }

    /// <summary>
    /// Lets go of the models held in memory except <paramref name="keep"/> (a transfer under way keeps the model it
    /// streams), and deletes stored files except <paramref name="keep"/> and those written less than
    /// <paramref name="minimumAge"/> ago, to bound the memory and disk a long training uses. Other files (such as the
    /// final model) are left alone. Each model let go of goes to <paramref name="released"/>, when given, once nothing
    /// reads it any more: at once, or when the last stream <see cref="OpenRead"/> opened on it is disposed (a peer
    /// still downloading it). From then on the store never touches that model again, so <paramref name="released"/>
    /// may reuse its arrays, provided the code that put or received it no longer uses it either.
    /// </summary>
    public void Prune(IReadOnlySet<string> keep, TimeSpan minimumAge = default, Action<TensorModel>? released = null)
    {
        ArgumentNullException.ThrowIfNull(keep);
        foreach (var hash in _held.Keys)
        {
            if (!keep.Contains(hash) && _held.TryRemove(hash, out var held))
            {
                held.Release(released);
            }
        }

        var cutoff = DateTime.UtcNow - minimumAge;
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            var hash = Path.GetFileNameWithoutExtension(path);
            if (ModelHash.IsValid(hash) && !keep.Contains(hash) && File.GetLastWriteTimeUtc(path) < cutoff)
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

    /// <summary>A model held in memory, with the streams reading it; released once let go of and no longer read.</summary>
    private sealed class Held(TensorModel model)
    {
        private readonly Lock _lock = new();
        private int _readers;
        private bool _letGo;
        private Action<TensorModel>? _released;

        public TensorModel Model { get; } = model;

        /// <summary>Counts a new reader; false when the store has let go of the model (it may be reused).</summary>
        public bool TryEnter()
        {
            lock (_lock)
            {
                if (_letGo)
                {
                    return false;
                }

                _readers++;
                return true;
            }
        }

        public void Exit()
        {
            Action<TensorModel>? released;
            lock (_lock)
            {
                if (--_readers > 0 || !_letGo)
                {
                    return;
                }

                released = _released;
                _released = null;
            }

            released?.Invoke(Model);
        }

        public void Release(Action<TensorModel>? released)
        {
            lock (_lock)
            {
                _letGo = true;
                if (_readers > 0)
                {
                    _released = released;
                    return;
                }
            }

            released?.Invoke(Model);
        }
    }

    /// <summary>A held model's bytes (<see cref="SafetensorsEncoding.OpenRead"/>), counted as a reader until disposed.</summary>
    private sealed class ReaderStream(Stream inner, Held held) : Stream
    {
        private int _disposed;

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                inner.Dispose();
                held.Exit();
            }

            base.Dispose(disposing);
        }
    }
}
