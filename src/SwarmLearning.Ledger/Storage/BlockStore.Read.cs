using System.Buffers;

namespace SwarmLearning.Ledger.Storage;

/// <summary>Reading: one record, or a run of records for replay and replication, each checked again.</summary>
public sealed partial class BlockStore
{
    /// <summary>
    /// The record at <paramref name="height"/> (below <see cref="Count"/>), read from disk with its checksum checked
    /// again; throws <see cref="LedgerStoreCorruptException"/> if the bytes changed since they were written.
    /// </summary>
    public byte[] Read(long height)
    {
        _indexLock.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (height < 0 || height >= _offsets.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(height), height, $"the store holds heights 0 to {_offsets.Count - 1}");
            }

            var offset = _offsets[(int)height];
            var length = checked((int)(EndOf(height) - offset - StoreFormat.FrameOverhead));
            var payload = new byte[length];
            var frame = new byte[StoreFormat.FrameOverhead];
            var header = frame.AsMemory(0, StoreFormat.RecordHeaderSize);
            var trailer = frame.AsMemory(StoreFormat.RecordHeaderSize);
            var total = length + StoreFormat.FrameOverhead;

            // One vectored read puts the payload straight into the array returned. It is a single preadv, which
            // may in principle return less than asked; then the record is read again with plain reads that loop.
            if (RandomAccess.Read(_handle, [header, payload, trailer], offset) < total)
            {
                var whole = new byte[total];
                var read = ReadFully(whole, offset);
                return read < total
                    ? throw CorruptOnRead(height, offset, $"the file ends {read} bytes into it, before its {total} bytes")
                    : CheckedPayload(height, offset, whole);
            }

            var problem = StoreFormat.CheckFrame(header.Span, payload, trailer.Span);
            return problem is null ? payload : throw CorruptOnRead(height, offset, problem);
        }
        finally
        {
            _indexLock.ExitReadLock();
        }
    }

    /// <summary>
    /// The records from <paramref name="height"/> on, in order, each checked as by <see cref="Read"/>: for replay
    /// at start and for replication. Records appended while the sequence is being enumerated are included; it ends
    /// at the first height not yet stored.
    /// </summary>
    public IEnumerable<(long Height, byte[] Record)> ReadFrom(long height)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var count = Count;
        if (height < 0 || height > count)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, $"the store holds heights 0 to {count - 1}; reading can start at 0 to {count}");
        }

        return ReadFromIterator(height);
    }

    private IEnumerable<(long Height, byte[] Record)> ReadFromIterator(long height)
    {
        // The read-ahead starts small, so that a follower asking for the next few blocks reads little, and doubles
        // up to its maximum, so that a replay from 0 takes one system call per megabyte.
        var readAhead = InitialReadAhead;
        var run = new List<(long Offset, int Start, int Length)>();
        var buffer = Array.Empty<byte>();
        try
        {
            while (true)
            {
                ReadRun(height, readAhead, run, ref buffer);
                if (run.Count == 0)
                {
                    yield break;
                }

                // The bytes are this reader's own now: check and copy each record only as it is asked for.
                foreach (var (offset, start, length) in run)
                {
                    yield return (height, CheckedPayload(height, offset, buffer.AsSpan(start, length)));
                    height++;
                }

                readAhead = Math.Min(readAhead * 2, MaxReadAhead);
            }
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    // Reads the consecutive records from a height that fit in readAhead bytes (at least one) with one positional
    // read, under the index lock so that no truncation can run meanwhile, and lists where each one lies in the buffer.
    private void ReadRun(long height, int readAhead, List<(long Offset, int Start, int Length)> run, ref byte[] buffer)
    {
        run.Clear();
        _indexLock.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (height >= _offsets.Count)
            {
                return;
            }

            var first = _offsets[(int)height];
            var last = height;
            while (last + 1 < _offsets.Count && EndOf(last + 1) - first <= readAhead)
            {
                last++;
            }

            var size = checked((int)(EndOf(last) - first));
            if (buffer.Length < size)
            {
                if (buffer.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                buffer = [];
                buffer = ArrayPool<byte>.Shared.Rent(size);
            }

            var read = ReadFully(buffer.AsSpan(0, size), first);
            if (read < size)
            {
                throw CorruptOnRead(height, first, $"the file ends at byte {first + read}, inside the records indexed from there");
            }

            for (var h = height; h <= last; h++)
            {
                var offset = _offsets[(int)h];
                run.Add((offset, (int)(offset - first), (int)(EndOf(h) - offset)));
            }
        }
        finally
        {
            _indexLock.ExitReadLock();
        }
    }

    // Reads until the span is full or the file ends; returns the bytes read.
    private int ReadFully(Span<byte> destination, long offset)
    {
        var read = 0;
        while (read < destination.Length)
        {
            var n = RandomAccess.Read(_handle, destination[read..], offset + read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read;
    }

    private byte[] CheckedPayload(long height, long offset, ReadOnlySpan<byte> frame)
    {
        var problem = StoreFormat.CheckFrame(frame);
        return problem is null
            ? frame[StoreFormat.RecordHeaderSize..^StoreFormat.TrailerSize].ToArray()
            : throw CorruptOnRead(height, offset, problem);
    }

    private LedgerStoreCorruptException CorruptOnRead(long height, long offset, string problem) =>
        new(Path, height, offset,
            $"{Path}: the record at height {height} (byte offset {offset}) changed on disk after it was stored: {problem}. {Remedy(_directory)}");
}
