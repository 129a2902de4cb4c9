using System.Buffers.Binary;
using System.IO.Compression;

namespace SwarmLearning.Training.Data.Idx;

/// <summary>
/// Reads IDX files (the format of MNIST and Fashion-MNIST), plain or gzip-compressed (recognised by the gzip magic
/// bytes 1f 8b, whatever the file's name). Validation is strict: the magic number, the type code, every dimension, the
/// data size against the header (truncation and trailing bytes) and the gzip stream's integrity are checked, and each
/// violation raises a <see cref="DataFormatException"/> naming the file and the byte offset.
/// </summary>
public static class IdxReader
{
    /// <summary>The default bound on an array's data bytes: the largest .NET byte array.</summary>
    public static readonly long DefaultMaxDataBytes = Array.MaxLength;

    // A gzip stream's decompressed size is not known up front, so its buffer grows from this size as data arrives:
    // a hostile header that claims gigabytes over a few bytes of data costs at most this much memory.
    private const int InitialGzipBuffer = 16 << 20;

    /// <summary>Reads and validates a whole IDX file.</summary>
    /// <param name="path">The file, plain or gzip-compressed.</param>
    /// <param name="maxDataBytes">Refuse an array whose header declares more data bytes than this.</param>
    /// <exception cref="DataFormatException">The file is missing, unreadable, corrupt or not valid IDX.</exception>
    public static IdxArray Read(string path, long? maxDataBytes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var limit = Math.Min(maxDataBytes ?? DefaultMaxDataBytes, DefaultMaxDataBytes);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot open the file: {e.Message}", e);
        }

        using (file)
        {
            try
            {
                Span<byte> magic = stackalloc byte[2];
                var isGzip = file.Length >= 2 && file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
                file.Position = 0;
                if (!isGzip)
                {
                    return ReadStream(file, path, file.Length, limit, gzip: false);
                }

                using var gzip = new GZipStream(file, CompressionMode.Decompress);
                return ReadStream(gzip, path, knownLength: null, limit, gzip: true);
            }
            catch (InvalidDataException e)
            {
                throw new DataFormatException(path, $"the gzip stream is corrupt ({e.Message}); the file is damaged: download or install it again", e);
            }
            catch (IOException e)
            {
                throw new DataFormatException(path, $"cannot read the file: {e.Message}", e);
            }
        }
    }

    /// <summary>Reads and validates an IDX array from a stream of uncompressed IDX bytes, to its end.</summary>
    /// <param name="stream">The IDX bytes; read to the end, so trailing data is detected.</param>
    /// <param name="source">The name to use in messages.</param>
    /// <param name="maxDataBytes">Refuse an array whose header declares more data bytes than this.</param>
    /// <exception cref="DataFormatException">The bytes are not valid IDX.</exception>
    public static IdxArray Read(Stream stream, string source, long? maxDataBytes = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        var limit = Math.Min(maxDataBytes ?? DefaultMaxDataBytes, DefaultMaxDataBytes);
        long? length = stream.CanSeek ? stream.Length - stream.Position : null;
        return ReadStream(stream, source, length, limit, gzip: false);
    }

    private static IdxArray ReadStream(Stream stream, string source, long? knownLength, long limit, bool gzip)
    {
        var where = gzip ? " of the decompressed data" : string.Empty;
        Span<byte> prefix = stackalloc byte[4];
        var got = stream.ReadAtLeast(prefix, 4, throwOnEndOfStream: false);
        if (got < 4)
        {
            throw new DataFormatException(source, $"{(gzip ? "decompresses to" : "is")} only {got} byte(s); an IDX file starts with a 4-byte header (two zero bytes, a type code, a dimension count)");
        }

        if (prefix[0] != 0 || prefix[1] != 0)
        {
            throw new DataFormatException(source, $"not an IDX file: it starts with 0x{prefix[0]:X2} 0x{prefix[1]:X2} at byte offset 0{where}, not the IDX magic number's two zero bytes");
        }

        if (!IdxElementTypes.IsDefined(prefix[2]))
        {
            throw new DataFormatException(source, $"unknown IDX element type code 0x{prefix[2]:X2} at byte offset 2{where}; the format defines 0x08 (unsigned byte), 0x09 (signed byte), 0x0B (int16), 0x0C (int32), 0x0D (float32) and 0x0E (float64)");
        }

        var type = (IdxElementType)prefix[2];
        int rank = prefix[3];
        if (rank == 0)
        {
            throw new DataFormatException(source, $"the header declares 0 dimensions (byte offset 3{where}); an IDX array has at least one");
        }

        var headerBytes = 4 + (4 * rank);
        Span<byte> dimensionBytes = stackalloc byte[4 * rank];
        got = stream.ReadAtLeast(dimensionBytes, dimensionBytes.Length, throwOnEndOfStream: false);
        if (got < dimensionBytes.Length)
        {
            throw new DataFormatException(source, $"the header is truncated: it declares {rank} dimension(s), {dimensionBytes.Length} bytes from byte offset 4{where}, but the data ends after {4 + got} bytes");
        }

        var dimensions = new int[rank];
        var total = (long)type.SizeInBytes();
        for (var i = 0; i < rank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(dimensionBytes.Slice(4 * i, 4));
            if (dimensions[i] < 1)
            {
                throw new DataFormatException(source, $"dimension {i + 1} of {rank} is {dimensions[i]} (byte offset {4 + (4 * i)}{where}); every dimension must be at least 1");
            }

            // Each factor is below 2^31 and the running product stays at most the limit (below 2^31), so this cannot overflow.
            total *= dimensions[i];
            if (total > limit)
            {
                throw new DataFormatException(source, $"the header declares {string.Join('×', dimensions.Take(i + 1))}{(i + 1 < rank ? "×…" : string.Empty)} elements of {type.SizeInBytes()} byte(s), more than the limit of {limit:N0} data bytes; the header is damaged or the array is too large to load");
            }
        }

        var shape = $"{string.Join('×', dimensions)} {type.Describe()} elements";
        byte[] data;
        if (knownLength is { } length)
        {
            var present = length - headerBytes;
            if (present < total)
            {
                throw new DataFormatException(source, $"truncated: the header declares {shape}, {total:N0} data bytes after the {headerBytes}-byte header, but the file holds only {present:N0}; download or install the file again");
            }

            if (present > total)
            {
                throw new DataFormatException(source, $"{present - total:N0} byte(s) of trailing data at byte offset {headerBytes + total:N0}: the header declares {shape}, {total:N0} data bytes, so the file should be {headerBytes + total:N0} bytes long, but it is {length:N0}");
            }

            data = GC.AllocateUninitializedArray<byte>((int)total);
            stream.ReadExactly(data);
        }
        else
        {
            data = ReadGrowing(stream, (int)total, out var filled);
            if (filled < total)
            {
                throw new DataFormatException(source, $"truncated: the header declares {shape}, {total:N0} data bytes after the {headerBytes}-byte header, but the{(gzip ? " gzip stream ends" : " data ends")} after {filled:N0}; download or install the file again");
            }

            var trailing = CountRemaining(stream);
            if (trailing > 0)
            {
                throw new DataFormatException(source, $"{trailing:N0} byte(s) of trailing data at byte offset {headerBytes + total:N0}{where}: the header declares {shape}, {total:N0} data bytes, and nothing may follow them");
            }
        }

        return new IdxArray(type, dimensions, data, source);
    }

    /// <summary>Reads up to <paramref name="total"/> bytes into a buffer that grows (doubling) only as data arrives.</summary>
    private static byte[] ReadGrowing(Stream stream, int total, out int filled)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Math.Min(total, InitialGzipBuffer));
        filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (filled == total)
                {
                    return buffer;
                }

                var larger = GC.AllocateUninitializedArray<byte>((int)Math.Min(total, 2L * buffer.Length));
                buffer.AsSpan(0, filled).CopyTo(larger);
                buffer = larger;
            }

            var n = stream.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
            {
                return buffer;
            }

            filled += n;
        }
    }

    private static long CountRemaining(Stream stream)
    {
        var scratch = new byte[1 << 14];
        long count = 0;
        int n;
        while ((n = stream.Read(scratch)) > 0)
        {
            count += n;
        }

        return count;
    }
}
