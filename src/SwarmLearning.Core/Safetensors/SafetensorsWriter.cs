using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using SwarmLearning.Tensors;

namespace SwarmLearning.Safetensors;

/// <summary>
/// Writes a safetensors file as a stream: the header first (tensor shapes are known up front), then the values in
/// tensor order as they are appended, hashed on the way (<see cref="ModelHash"/>). The file appears under its name only when
/// <see cref="Complete(bool)"/> succeeds (written to a temporary file, flushed to disk, then renamed), so a failed or
/// cancelled write never leaves a partial model behind. Non-finite values are refused.
/// </summary>
public sealed class SafetensorsWriter : IModelSink, IDisposable
{
    private const int ChunkElements = 1 << 16;
    private readonly TensorInfo[] _tensors;
    private readonly string _tempPath;
    private readonly FileStream _stream;
    private readonly Hashing.Blake3 _hash = ModelHash.Create();
    private readonly byte[] _encoded;
    private int _tensor;
    private long _written;
    private bool _completed;
    private bool _disposed;

    private SafetensorsWriter(string path, TensorInfo[] tensors, string tempPath, FileStream stream)
    {
        Path = path;
        _tensors = tensors;
        _tempPath = tempPath;
        _stream = stream;
        _encoded = ArrayPool<byte>.Shared.Rent(ChunkElements * 4);
    }

    /// <summary>Where the file will be once complete.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <summary>Starts writing a model with these tensors, in this order, and optional metadata.</summary>
    public static SafetensorsWriter Create(string path, IEnumerable<TensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        TensorInfo[] list = [.. tensors];
        var header = BuildHeader(list, metadata);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var tempPath = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        FileStream stream;
        try
        {
            stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot create the model file: {e.Message}", e);
        }

        var writer = new SafetensorsWriter(path, list, tempPath, stream);
        try
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            writer.WriteBytes(prefix);
            writer.WriteBytes(header);
            writer.SkipEmptyTensors();
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>Writes a whole in-memory model to a file and returns its size and hash.</summary>
    public static ModelFileInfo Write(string path, TensorModel model) => Write(path, model, flushToDisk: true);

    /// <summary>
    /// Writes a whole in-memory model to a file and returns its size and hash. With <paramref name="flushToDisk"/>
    /// false the file is not fsync'd: it appears whole (renamed into place) but may be lost if the machine crashes,
    /// which suits files that only need to outlive the process, not the machine.
    /// </summary>
    public static ModelFileInfo Write(string path, TensorModel model, bool flushToDisk)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var writer = Create(path, model.Tensors, model.Metadata);
        foreach (var tensor in model.NamedTensors)
        {
            writer.Append(tensor.Values);
        }

        return writer.Complete(overwrite: true, flushToDisk);
    }

    /// <inheritdoc/>
    /// <exception cref="ModelFormatException">A value is not finite, or does not fit the tensor's dtype.</exception>
    public void Append(ReadOnlySpan<float> values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!values.IsEmpty)
        {
            if (_tensor >= _tensors.Length)
            {
                throw new InvalidOperationException($"{Path}: more values were appended than the model's tensors hold");
            }

            var info = _tensors[_tensor];
            var n = (int)Math.Min(Math.Min(values.Length, ChunkElements), info.ElementCount - _written);
            var chunk = values[..n];
            if (!FloatConversions.AllFinite(chunk))
            {
                var i = FloatConversions.IndexOfNonFinite(chunk);
                throw new ModelFormatException(Path, info.Name, $"element {_written + i} is {FloatConversions.DescribeNonFinite(chunk[i])}; refusing to write a non-finite model");
            }

            var bytes = _encoded.AsSpan(0, n * info.DType.SizeInBytes());
            var overflow = FloatConversions.FromSingle(info.DType, chunk, bytes);
            if (overflow >= 0)
            {
                throw new ModelFormatException(Path, info.Name, $"element {_written + overflow} = {chunk[overflow]} is out of the range of {info.DType.ToSafetensorsName()}");
            }

            WriteBytes(bytes);
            _written += n;
            values = values[n..];
            SkipEmptyTensors();
        }
    }

    /// <summary>
    /// Flushes the file to disk, moves it to its final name and returns its size and model hash. With
    /// <paramref name="overwrite"/> false an existing file at the target is kept and the write fails instead.
    /// </summary>
    public ModelFileInfo Complete(bool overwrite = true) => Complete(overwrite, flushToDisk: true);

    /// <summary>
    /// Moves the file to its final name and returns its size and model hash, flushing it to disk first only when
    /// <paramref name="flushToDisk"/> is true. With <paramref name="overwrite"/> false an existing file at the target
    /// is kept and the write fails instead.
    /// </summary>
    public ModelFileInfo Complete(bool overwrite, bool flushToDisk)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException($"{Path}: already complete");
        }

        if (_tensor < _tensors.Length)
        {
            var info = _tensors[_tensor];
            throw new InvalidOperationException($"{Path}: tensor '{info.Name}' received {_written} of {info.ElementCount} values");
        }

        long length;
        try
        {
            length = _stream.Length;
            _stream.Flush(flushToDisk);
            _stream.Dispose();
        }
        catch (IOException e)
        {
            throw new SwarmException($"{Path}: writing the model failed: {e.Message}", e);
        }

        if (!overwrite && File.Exists(Path))
        {
            throw new SwarmException($"{Path}: the file exists (it appeared while the model was being written); it was kept");
        }

        try
        {
            File.Move(_tempPath, Path, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{Path}: cannot move the finished model into place: {e.Message}", e);
        }

        _completed = true;
        return new ModelFileInfo(Path, length, ModelHash.Finish(_hash));
    }

    /// <summary>Releases the file; an incomplete file is deleted.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            // Disposing flushes what is still buffered; after a failed write (disk full) that fails again. The
            // partial file is deleted below either way, so the second failure carries no news.
            _stream.Dispose();
        }
        catch (IOException)
        {
        }

        ArrayPool<byte>.Shared.Return(_encoded);
        if (!_completed)
        {
            try
            {
                File.Delete(_tempPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the temporary name starts with a dot and ends in .tmp, so it is recognisable.
            }
        }
    }

    /// <summary>The header JSON, padded with spaces so the data section starts 8-byte aligned.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<TensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in tensors)
            {
                if (t.Name == "__metadata__" || !names.Add(t.Name))
                {
                    throw new ArgumentException($"tensor name '{t.Name}' is reserved or appears twice", nameof(tensors));
                }

                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToSafetensorsName());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape.Dimensions)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.ByteLength;
            }

            json.WriteEndObject();
        }

        var padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _stream.Write(bytes);
        }
        catch (IOException e)
        {
            throw new SwarmException($"{Path}: writing the model failed: {e.Message}", e);
        }

        _hash.AppendData(bytes);
    }

    private void SkipEmptyTensors()
    {
        while (_tensor < _tensors.Length && _written == _tensors[_tensor].ElementCount)
        {
            _tensor++;
            _written = 0;
        }
    }
}

/// <summary>A model file on disk: where it is, how large, and the model hash of its bytes (<see cref="ModelHash"/>).</summary>
public sealed record ModelFileInfo(string Path, long Length, string Hash);
