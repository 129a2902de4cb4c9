using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using SwarmLearning.Safetensors;
using SwarmLearning.Tensors;

namespace SwarmLearning.Node.Storage;

/// <summary>
/// Reads a safetensors model of known length from a stream straight into memory, in one pass: the header is checked
/// with the same strict parser and limits as <see cref="SafetensorsFile"/>, values are decoded into the tensors and
/// checked to be finite as they arrive, every byte is hashed on the way and, when asked, copied to a file. It replaces
/// "stream to a temporary file, then open it and read it all back": a received model crosses memory once.
/// </summary>
/// <remarks>
/// Allocation is bounded by the length the caller vouches for (the ledger's record, or the request's
/// Content-Length): the header must tile exactly that many bytes, and each tensor is allocated only when its bytes
/// begin to arrive. A problem with the model does not stop the read: the rest is still consumed and hashed, so that
/// the caller can report a wrong size or hash first, as a reader of the whole file would.
/// </remarks>
internal static class SafetensorsStreamReader
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Reads up to <paramref name="length"/> bytes (and probes one more) from <paramref name="content"/>; appends each
    /// to <paramref name="hash"/> and writes it to <paramref name="copy"/> when given. <paramref name="name"/> names
    /// the model in format errors. <paramref name="allocate"/>, when given, supplies each tensor's array (of exactly the
    /// length asked), for a caller that recycles them.
    /// </summary>
    public static async Task<StreamedModel> ReadAsync(
        Stream content, long length, string name, Hashing.Blake3? hash, Stream? copy, CancellationToken cancellationToken, Func<int, float[]>? allocate = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var input = new Input(content, length, hash, copy);
        try
        {
            TensorModel? model = null;
            ModelFormatException? invalid = null;
            try
            {
                model = await ParseAsync(input, name, allocate, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelFormatException e)
            {
                invalid = e;
            }

            var longer = await input.DrainAsync(cancellationToken).ConfigureAwait(false);
            var whole = invalid is null && !longer && input.Received == length ? model : null;
            var canonical = whole is not null && input.Header is { } header && SafetensorsEncoding.IsCanonicalHeader(header, whole);
            return new StreamedModel(whole, input.Received, longer, invalid, canonical);
        }
        finally
        {
            input.Dispose();
        }
    }

    /// <summary>The model, or null when the stream ended early (the caller sees it in <see cref="Input.Received"/>).</summary>
    private static async Task<TensorModel?> ParseAsync(Input input, string name, Func<int, float[]>? allocate, CancellationToken cancellationToken)
    {
        var limits = SafetensorsLimits.Default;
        var length = input.Length;
        if (length < 8)
        {
            throw new ModelFormatException(name, null, $"the file has {length} bytes, too few for a safetensors file (an 8-byte header length, then the header)");
        }

        var prefix = new byte[8];
        if (!await input.FillAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        // The same checks, in the same words, as SafetensorsFile.Open.
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)limits.MaxHeaderBytes)
        {
            throw new ModelFormatException(name, null, $"the header length {headerLength} exceeds the limit of {limits.MaxHeaderBytes} bytes; this is not a model file or it is corrupt");
        }

        if ((long)headerLength > length - 8)
        {
            throw new ModelFormatException(name, null, $"the header length {headerLength} exceeds the file ({length} bytes); the file is truncated or not a safetensors file");
        }

        if (headerLength < 2)
        {
            throw new ModelFormatException(name, null, $"the header length {headerLength} is too small for a JSON object");
        }

        var header = new byte[(int)headerLength];
        if (!await input.FillAsync(header, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        input.Header = header;
        if (header[0] != (byte)'{')
        {
            throw new ModelFormatException(name, null, "the header does not start with '{'; this is not a safetensors file");
        }

        var dataStart = 8 + (long)headerLength;
        var (entries, metadata) = SafetensorsHeader.Parse(header, length - dataStart, name, limits);

        // The parser returns the entries sorted by offset and has checked that they tile the data section: the values
        // arrive tensor after tensor, in this order.
        var tensors = new NamedTensor[entries.Count];
        var position = 0L;
        for (var t = 0; t < entries.Count; t++)
        {
            var entry = entries[t];
            var info = entry.Info;
            Debug.Assert(entry.Begin == position, "the header parser guarantees contiguous tensors");
            if (info.ElementCount > Array.MaxLength)
            {
                throw new ModelFormatException(name, info.Name, $"{info.ElementCount} elements do not fit in one in-memory tensor");
            }

            var values = allocate?.Invoke((int)info.ElementCount) ?? GC.AllocateUninitializedArray<float>((int)info.ElementCount);
            Debug.Assert(values.Length == info.ElementCount, "an allocator gives arrays of the length asked");
            var size = info.DType.SizeInBytes();
            var perChunk = ChunkBytes / size;
            for (var done = 0; done < values.Length; done += perChunk)
            {
                var n = Math.Min(perChunk, values.Length - done);
                var bytes = input.Chunk.AsMemory(0, n * size);
                if (!await input.FillAsync(bytes, cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                var destination = values.AsSpan(done, n);
                FloatConversions.ToSingle(info.DType, bytes.Span, destination);
                if (!FloatConversions.AllFinite(destination))
                {
                    var i = FloatConversions.IndexOfNonFinite(destination);
                    throw new ModelFormatException(name, info.Name, $"element {done + i} is {FloatConversions.DescribeNonFinite(destination[i])}; models must hold finite values");
                }
            }

            position = entry.End;
            tensors[t] = new NamedTensor(info, values);
        }

        return new TensorModel(tensors, metadata, name);
    }

    /// <summary>The stream, read in order, hashed and copied, never past <see cref="Length"/> except for the final probe.</summary>
    private sealed class Input(Stream content, long length, Hashing.Blake3? hash, Stream? copy) : IDisposable
    {
        private Stream? _copy = copy;

        public long Length { get; } = length;

        public long Received { get; private set; }

        public byte[] Chunk { get; } = ArrayPool<byte>.Shared.Rent(ChunkBytes);

        /// <summary>The header JSON once it has arrived.</summary>
        public byte[]? Header { get; set; }

        /// <summary>Fills <paramref name="buffer"/> (which must fit in what is left); false when the stream ended first.</summary>
        public async Task<bool> FillAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            Debug.Assert(buffer.Length <= Length - Received, "callers never ask for more than the length");
            while (!buffer.IsEmpty)
            {
                var read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                var bytes = buffer[..read];
                hash?.AppendData(bytes.Span);
                if (_copy is not null)
                {
                    await _copy.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                }

                Received += read;
                buffer = buffer[read..];
            }

            return true;
        }

        /// <summary>
        /// Consumes and hashes what is left of the length (after a problem with the model, or an early end), without
        /// copying it; then probes for a byte beyond the length. True when the stream is longer than the length.
        /// </summary>
        public async Task<bool> DrainAsync(CancellationToken cancellationToken)
        {
            _copy = null;
            while (Received < Length)
            {
                var n = (int)Math.Min(Chunk.Length, Length - Received);
                if (!await FillAsync(Chunk.AsMemory(0, n), cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }
            }

            return await content.ReadAsync(Chunk.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) > 0;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(Chunk);
    }
}

/// <summary>
/// What <see cref="SafetensorsStreamReader"/> read: the model when the stream held exactly the length and a valid model;
/// otherwise how many bytes arrived (up to the length), whether there were more, and what was wrong with the model.
/// <see cref="Canonical"/>: the bytes are exactly what <see cref="SafetensorsEncoding"/> produces for the model (the
/// header this project's writer writes), so the model can be served from memory under the same hash.
/// </summary>
internal sealed record StreamedModel(TensorModel? Model, long Received, bool Longer, ModelFormatException? Invalid, bool Canonical);
