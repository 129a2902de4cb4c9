using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SwarmLearning.Tensors;

namespace SwarmLearning.Safetensors;

/// <summary>
/// A safetensors file opened for reading. Opening reads and validates only the header; tensor values are read by
/// ranges on demand (positional reads, safe from several threads), so a model is never held in memory whole.
/// Every value handed out is checked to be finite: a NaN or infinity is reported with the file, tensor and element.
/// </summary>
public sealed class SafetensorsFile : IModelSource, IDisposable
{
    private const int ChunkBytes = 1 << 20;
    private readonly SafeFileHandle _handle;
    private readonly SafetensorsEntry[] _entries;
    private readonly TensorInfo[] _infos;
    private readonly Dictionary<string, int> _index;
    private readonly long _dataStart;

    private SafetensorsFile(string path, SafeFileHandle handle, SafetensorsEntry[] entries, IReadOnlyDictionary<string, string> metadata, long dataStart, long length)
    {
        Name = path;
        _handle = handle;
        _entries = entries;
        _infos = [.. entries.Select(e => e.Info)];
        _index = new Dictionary<string, int>(entries.Length, StringComparer.Ordinal);
        for (var i = 0; i < entries.Length; i++)
        {
            _index.Add(entries[i].Info.Name, i);
        }

        Metadata = metadata;
        _dataStart = dataStart;
        Length = length;
    }

    /// <summary>The file's path.</summary>
    public string Name { get; }

    /// <summary>The tensors, in the order of their data in the file.</summary>
    public IReadOnlyList<TensorInfo> Tensors => _infos;

    /// <summary>The header's <c>__metadata__</c> entries.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The file's size in bytes.</summary>
    public long Length { get; }

    /// <summary>Number of bytes of the JSON header (without the 8-byte length prefix).</summary>
    public long HeaderLength => _dataStart - 8;

    /// <summary>Total number of elements over all tensors.</summary>
    public long ParameterCount => _infos.Sum(t => t.ElementCount);

    /// <summary>
    /// Opens a file and validates its header (length, JSON, dtypes, shapes, ranges). Values are checked as they are
    /// read; call <see cref="VerifyValues"/> to check them all up front.
    /// </summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable or not a valid model.</exception>
    public static SafetensorsFile Open(string path, SafetensorsLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        limits ??= SafetensorsLimits.Default;
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors files are little-endian; this platform is big-endian");
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, null, $"cannot open the file: {e.Message}", e);
        }

        try
        {
            return Open(path, handle, limits);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static SafetensorsFile Open(string path, SafeFileHandle handle, SafetensorsLimits limits)
    {
        var length = RandomAccess.GetLength(handle);
        if (length < 8)
        {
            throw new ModelFormatException(path, null, $"the file has {length} bytes, too few for a safetensors file (an 8-byte header length, then the header)");
        }

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(handle, prefix, 0, path, null);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)limits.MaxHeaderBytes)
        {
            throw new ModelFormatException(path, null, $"the header length {headerLength} exceeds the limit of {limits.MaxHeaderBytes} bytes; this is not a model file or it is corrupt");
        }

        if ((long)headerLength > length - 8)
        {
            throw new ModelFormatException(path, null, $"the header length {headerLength} exceeds the file ({length} bytes); the file is truncated or not a safetensors file");
        }

        if (headerLength < 2)
        {
            throw new ModelFormatException(path, null, $"the header length {headerLength} is too small for a JSON object");
        }

        var header = new byte[(int)headerLength];
        ReadExactly(handle, header, 8, path, null);
        if (header[0] != (byte)'{')
        {
            throw new ModelFormatException(path, null, "the header does not start with '{'; this is not a safetensors file");
        }

        var dataStart = 8 + (long)headerLength;
        var (entries, metadata) = SafetensorsHeader.Parse(header, length - dataStart, path, limits);
        return new SafetensorsFile(path, handle, [.. entries], metadata, dataStart, length);
    }

    /// <inheritdoc/>
    public int IndexOf(string tensorName) => _index.TryGetValue(tensorName, out var i) ? i : -1;

    /// <inheritdoc/>
    public bool TryGetF32(int tensorIndex, out ReadOnlyMemory<float> values)
    {
        values = default;
        return false;
    }

    /// <inheritdoc/>
    /// <exception cref="ModelFormatException">A value is NaN or infinite, or the file changed under the reader.</exception>
    public void ReadF32(int tensorIndex, long elementOffset, Span<float> destination)
    {
        var entry = _entries[tensorIndex];
        var info = entry.Info;
        // Written so that it cannot overflow: a huge offset must not wrap around into another tensor's bytes.
        if (elementOffset < 0 || elementOffset > info.ElementCount - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(elementOffset), $"elements [{elementOffset}, {elementOffset + destination.Length}) are outside tensor '{info.Name}' ({info.ElementCount} elements)");
        }

        var size = info.DType.SizeInBytes();
        var position = _dataStart + entry.Begin + (elementOffset * size);
        if (info.DType == TensorDType.F32)
        {
            // f32 on a little-endian machine: read straight into the destination, no staging copy.
            ReadExactly(_handle, MemoryMarshal.AsBytes(destination), position, Name, info.Name);
        }
        else
        {
            var staging = ArrayPool<byte>.Shared.Rent(Math.Min(ChunkBytes, destination.Length * size));
            try
            {
                var perChunk = staging.Length / size;
                for (var done = 0; done < destination.Length; done += perChunk)
                {
                    var n = Math.Min(perChunk, destination.Length - done);
                    var bytes = staging.AsSpan(0, n * size);
                    ReadExactly(_handle, bytes, position + ((long)done * size), Name, info.Name);
                    FloatConversions.ToSingle(info.DType, bytes, destination.Slice(done, n));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(staging);
            }
        }

        if (!FloatConversions.AllFinite(destination))
        {
            var i = FloatConversions.IndexOfNonFinite(destination);
            throw new ModelFormatException(Name, info.Name, $"element {elementOffset + i} is {FloatConversions.DescribeNonFinite(destination[i])}; models must hold finite values");
        }
    }

    /// <summary>Reads every value once to check that all are finite (the header was checked at open).</summary>
    /// <exception cref="ModelFormatException">A value is NaN or infinite.</exception>
    public void VerifyValues(IProgress<long>? bytesRead = null, CancellationToken cancellationToken = default)
    {
        var buffer = ArrayPool<float>.Shared.Rent(VerifyBufferLength);
        try
        {
            long total = 0;
            for (var t = 0; t < _entries.Length; t++)
            {
                var count = _infos[t].ElementCount;
                for (long offset = 0; offset < count; offset += buffer.Length)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var n = (int)Math.Min(buffer.Length, count - offset);
                    ReadF32(t, offset, buffer.AsSpan(0, n));
                    total += (long)n * _infos[t].DType.SizeInBytes();
                    bytesRead?.Report(total);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The elements <see cref="VerifyValues"/> reads at a time: a 1 MiB chunk, or the largest tensor when that is
    /// smaller. Fuzzing found a 10-byte file with no tensors that made the reader allocate 1 MiB (when the shared pool
    /// had trimmed its buffers); the buffer now grows with the model, not with a constant.
    /// </summary>
    internal int VerifyBufferLength => (int)Math.Clamp(_infos.Length == 0 ? 1 : _infos.Max(t => t.ElementCount), 1, ChunkBytes / 4);

    /// <summary>Reads the whole model into memory as f32 tensors.</summary>
    public TensorModel LoadModel()
    {
        var tensors = new NamedTensor[_entries.Length];
        for (var t = 0; t < _entries.Length; t++)
        {
            var info = _infos[t];
            if (info.ElementCount > Array.MaxLength)
            {
                throw new ModelFormatException(Name, info.Name, $"{info.ElementCount} elements do not fit in one in-memory tensor");
            }

            var values = GC.AllocateUninitializedArray<float>((int)info.ElementCount);
            ReadF32(t, 0, values);
            tensors[t] = new NamedTensor(info, values);
        }

        return new TensorModel(tensors, Metadata, Name);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long position, string file, string? tensor)
    {
        while (!buffer.IsEmpty)
        {
            int n;
            try
            {
                n = RandomAccess.Read(handle, buffer, position);
            }
            catch (IOException e)
            {
                throw new ModelFormatException(file, tensor, $"reading at offset {position} failed: {e.Message}", e);
            }

            if (n == 0)
            {
                throw new ModelFormatException(file, tensor, $"the file ended at offset {position} while reading; it was truncated after it was opened");
            }

            buffer = buffer[n..];
            position += n;
        }
    }
}
