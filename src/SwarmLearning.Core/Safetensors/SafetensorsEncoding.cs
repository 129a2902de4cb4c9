using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SwarmLearning.Tensors;

namespace SwarmLearning.Safetensors;

/// <summary>
/// A model's safetensors bytes produced from memory, without a file: exactly the bytes
/// <see cref="SafetensorsWriter"/> writes for it (the same header, then the values in tensor order). An SL node hashes
/// and serves the models of a round this way: a file would cost a copy into the page cache, its write-back, and a copy
/// out again for every peer that fetches it.
/// </summary>
public static class SafetensorsEncoding
{
    /// <summary>
    /// Checks that every value is finite and fits its tensor's dtype (as <see cref="SafetensorsWriter"/> does) and
    /// returns the encoding's size in bytes and model hash (<see cref="ModelHash"/>).
    /// </summary>
    /// <exception cref="ModelFormatException">A value is not finite, or does not fit its dtype.</exception>
    public static EncodedModel Measure(TensorModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var tensor in model.NamedTensors)
        {
            if (!FloatConversions.AllFinite(tensor.Values))
            {
                var i = FloatConversions.IndexOfNonFinite(tensor.Values);
                throw new ModelFormatException(model.Name, tensor.Name, $"element {i} is {FloatConversions.DescribeNonFinite(tensor.Values[i])}; refusing a non-finite model");
            }
        }

        using var stream = new EncodingStream(model, Prefixed(SafetensorsWriter.BuildHeader(model.Tensors, model.Metadata)));
        var hash = ModelHash.Create();
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            // The header, then each tensor: an f32 tensor's array is its own encoding and is hashed where it lies;
            // the others are encoded through the buffer.
            while (stream.Position < stream.Length)
            {
                var direct = stream.DirectBytes();
                if (!direct.IsEmpty)
                {
                    hash.AppendData(direct);
                    stream.Position += direct.Length;
                    continue;
                }

                var read = stream.Read(buffer);
                hash.AppendData(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new EncodedModel(stream.Length, ModelHash.Finish(hash));
    }

    /// <summary>
    /// A read-only, seekable stream of the model's safetensors bytes, with its <see cref="Stream.Length"/> known. The
    /// stream reads the model's arrays as it goes: they must not change while it is read. A value that does not fit a
    /// 16-bit dtype fails the read with <see cref="ModelFormatException"/>; non-finite values are not checked here
    /// (<see cref="Measure"/> does).
    /// </summary>
    public static Stream OpenRead(TensorModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new EncodingStream(model, Prefixed(SafetensorsWriter.BuildHeader(model.Tensors, model.Metadata)));
    }

    /// <summary>
    /// True when <paramref name="header"/> (a file's header JSON, after its 8-byte length) is the header
    /// <see cref="SafetensorsWriter"/> writes for <paramref name="model"/>, so that the file's bytes are exactly
    /// <see cref="OpenRead"/>'s: then a model read from the file can be served from memory under the file's hash.
    /// </summary>
    public static bool IsCanonicalHeader(ReadOnlySpan<byte> header, TensorModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            return header.SequenceEqual(SafetensorsWriter.BuildHeader(model.Tensors, model.Metadata));
        }
        catch (ArgumentException)
        {
            return false; // a name the writer refuses: no file of ours has it
        }
    }

    private static byte[] Prefixed(byte[] header)
    {
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes.AsSpan(8));
        return bytes;
    }

    /// <summary>The header, then each tensor's values encoded in its dtype, as the reader asks for them.</summary>
    private sealed class EncodingStream : Stream
    {
        private const int StagingElements = 1 << 16;
        private readonly TensorModel _model;
        private readonly byte[] _header;
        private readonly long[] _starts; // each tensor's first byte in the stream
        private readonly long _length;
        private byte[]? _staging; // 16-bit dtypes: a run of encoded values
        private int _stagingTensor = -1;
        private long _stagingStart; // the run's first byte within its tensor
        private int _stagingLength;
        private long _position;

        public EncodingStream(TensorModel model, byte[] header)
        {
            _model = model;
            _header = header;
            _starts = new long[model.NamedTensors.Count];
            var at = (long)header.Length;
            for (var t = 0; t < _starts.Length; t++)
            {
                _starts[t] = at;
                at += model.NamedTensors[t].Info.ByteLength;
            }

            _length = at;
        }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => _position;
            set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "a position is not negative");
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var total = 0;
            while (!buffer.IsEmpty && _position < _length)
            {
                var n = _position < _header.Length ? ReadHeader(buffer) : ReadValues(buffer);
                _position += n;
                total += n;
                buffer = buffer[n..];
            }

            return total;
        }

        // Memory to memory: the synchronous read is the fastest answer, and nothing waits on I/O.
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                SeekOrigin.End => _length + offset,
                _ => throw new ArgumentOutOfRangeException(nameof(origin)),
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException("the encoding of a model is read-only");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the encoding of a model is read-only");

        protected override void Dispose(bool disposing)
        {
            if (_staging is { } staging)
            {
                _staging = null;
                ArrayPool<byte>.Shared.Return(staging);
            }

            base.Dispose(disposing);
        }

        private int ReadHeader(Span<byte> buffer)
        {
            var part = _header.AsSpan((int)_position);
            var n = Math.Min(part.Length, buffer.Length);
            part[..n].CopyTo(buffer);
            return n;
        }

        /// <summary>
        /// The encoding's bytes from the position to the end of the current tensor (at most 1 GiB) when they are the
        /// tensor's array itself (f32 on a little-endian machine); empty otherwise (the header, other dtypes, the end).
        /// </summary>
        public ReadOnlySpan<byte> DirectBytes()
        {
            if (_position < _header.Length || _position >= _length || !BitConverter.IsLittleEndian)
            {
                return [];
            }

            var t = TensorAt(_position);
            var tensor = _model.NamedTensors[t];
            var within = _position - _starts[t];
            if (tensor.Info.DType != TensorDType.F32 || within % 4 != 0)
            {
                return [];
            }

            var first = (int)(within / 4);
            return MemoryMarshal.AsBytes(tensor.Values.AsSpan(first, Math.Min(tensor.Values.Length - first, 1 << 28)));
        }

        /// <summary>The last tensor that starts at or before <paramref name="position"/>, skipping empty ones (they start where the next does).</summary>
        private int TensorAt(long position)
        {
            var t = Array.BinarySearch(_starts, position);
            t = t >= 0 ? t : ~t - 1;
            while (t + 1 < _starts.Length && _starts[t + 1] <= position)
            {
                t++;
            }

            return t;
        }

        private int ReadValues(Span<byte> buffer)
        {
            var t = TensorAt(_position);
            var tensor = _model.NamedTensors[t];
            var within = _position - _starts[t];
            var left = tensor.Info.ByteLength - within;
            if (tensor.Info.DType == TensorDType.F32 && BitConverter.IsLittleEndian)
            {
                // The array's own bytes are the encoding: copy them, no conversion.
                var first = (int)(within / 4);
                var floats = tensor.Values.AsSpan(first, Math.Min(tensor.Values.Length - first, (buffer.Length / 4) + 2));
                var bytes = MemoryMarshal.AsBytes(floats)[(int)(within % 4)..];
                var n = (int)Math.Min(Math.Min(bytes.Length, buffer.Length), left);
                bytes[..n].CopyTo(buffer);
                return n;
            }

            var size = tensor.Info.DType.SizeInBytes();
            if (_stagingTensor != t || within < _stagingStart || within >= _stagingStart + _stagingLength)
            {
                _staging ??= ArrayPool<byte>.Shared.Rent(StagingElements * 4);
                var element = (int)(within / size);
                var count = Math.Min(StagingElements, tensor.Values.Length - element);
                var values = tensor.Values.AsSpan(element, count);
                var overflow = FloatConversions.FromSingle(tensor.Info.DType, values, _staging.AsSpan(0, count * size));
                if (overflow >= 0)
                {
                    throw new ModelFormatException(_model.Name, tensor.Name, $"element {element + overflow} = {values[overflow]} is out of the range of {tensor.Info.DType.ToSafetensorsName()}");
                }

                _stagingTensor = t;
                _stagingStart = (long)element * size;
                _stagingLength = count * size;
            }

            var staged = _staging!.AsSpan((int)(within - _stagingStart), (int)(_stagingStart + _stagingLength - within));
            var m = Math.Min(staged.Length, buffer.Length);
            staged[..m].CopyTo(buffer);
            return m;
        }
    }
}

/// <summary>The size in bytes and the model hash (<see cref="ModelHash"/>) of a model's safetensors encoding.</summary>
public sealed record EncodedModel(long Length, string Hash);
