using System.Buffers.Binary;
using System.IO.Compression;

namespace SwarmLearning.Training.Data.Idx;

/// <summary>
/// Writes IDX files, gzip-compressed by default. A subset of an array's records is written byte for byte as the
/// source stores them, so the decompressed data of the result is an exact selection of the source's records.
/// </summary>
public static class IdxWriter
{
    /// <summary>Writes a whole array.</summary>
    /// <param name="path">The file to create (replaced if it exists).</param>
    /// <param name="array">The array.</param>
    /// <param name="compress">Gzip the file (the usual <c>.gz</c> form) or write plain IDX.</param>
    public static void Write(string path, IdxArray array, bool compress = true)
    {
        ArgumentNullException.ThrowIfNull(array);
        Write(path, array, [.. Enumerable.Range(0, array.RecordCount)], compress);
    }

    /// <summary>Writes the records of <paramref name="array"/> at <paramref name="records"/>, in that order.</summary>
    /// <param name="path">The file to create (replaced if it exists).</param>
    /// <param name="array">The source array; the result has its element type and record shape.</param>
    /// <param name="records">Record indices, at least one; repeats are allowed.</param>
    /// <param name="compress">Gzip the file (the usual <c>.gz</c> form) or write plain IDX.</param>
    /// <exception cref="SwarmException">The file cannot be written.</exception>
    public static void Write(string path, IdxArray array, ReadOnlySpan<int> records, bool compress = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(array);
        if (records.IsEmpty)
        {
            throw new ArgumentException("An IDX file holds at least one record.", nameof(records));
        }

        foreach (var r in records)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(r, nameof(records));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(r, array.RecordCount, nameof(records));
        }

        var header = new byte[4 + (4 * array.Dimensions.Count)];
        header[2] = (byte)array.ElementType;
        header[3] = (byte)array.Dimensions.Count;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), records.Length);
        for (var i = 1; i < array.Dimensions.Count; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * i)), array.Dimensions[i]);
        }

        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            using (var compressed = compress ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true) : null)
            {
                var sink = compressed ?? (Stream)file;
                sink.Write(header);

                // Records are gathered into large writes, so that small ones (one-byte labels) do not each cross
                // into the compressor.
                var chunk = new byte[1 << 20];
                var used = 0;
                foreach (var r in records)
                {
                    var record = array.Record(r);
                    if (used + record.Length > chunk.Length)
                    {
                        sink.Write(chunk, 0, used);
                        used = 0;
                    }

                    if (record.Length >= chunk.Length)
                    {
                        sink.Write(record);
                    }
                    else
                    {
                        record.CopyTo(chunk.AsSpan(used));
                        used += record.Length;
                    }
                }

                sink.Write(chunk, 0, used);
            }

            file.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"{path}: cannot write the IDX file: {e.Message}", e);
        }
    }
}
