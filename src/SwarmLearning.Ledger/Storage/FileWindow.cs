using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// A read-ahead window over a file for the scan at open: the scan asks for byte ranges in (mostly) rising order,
/// and the window serves them from one pooled buffer refilled by large positional reads, so scanning a chain of
/// small records costs one system call per megabyte rather than two per record.
/// </summary>
internal sealed class FileWindow : IDisposable
{
    private const int DefaultSize = 1 << 20;
    private readonly SafeFileHandle _handle;
    private byte[] _buffer;
    private long _start;
    private int _count;

    public FileWindow(SafeFileHandle handle, long length)
    {
        _handle = handle;
        Length = length;
        _buffer = ArrayPool<byte>.Shared.Rent(DefaultSize);
    }

    /// <summary>The file length the window was made for; ranges past it cannot be asked for.</summary>
    public long Length { get; }

    /// <summary>The largest range <see cref="Get"/> serves without growing its buffer.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>The bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>); valid until the next call.</summary>
    public ReadOnlySpan<byte> Get(long offset, int count)
    {
        if (offset < 0 || count < 0 || offset + count > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"bytes {offset}..{offset + count} lie outside the {Length}-byte file");
        }

        if (offset < _start || offset + count > _start + _count)
        {
            Fill(offset, count);
        }

        return _buffer.AsSpan((int)(offset - _start), count);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _count = 0;
    }

    private void Fill(long offset, int count)
    {
        if (count > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _count = 0;
            _buffer = ArrayPool<byte>.Shared.Rent(count);
        }

        var want = (int)Math.Min(_buffer.Length, Length - offset);
        var filled = 0;
        while (filled < want)
        {
            var read = RandomAccess.Read(_handle, _buffer.AsSpan(filled, want - filled), offset + filled);
            if (read == 0)
            {
                throw new IOException($"the file ended at byte {offset + filled} while it was being scanned, though it was {Length} bytes long when the scan began");
            }

            filled += read;
        }

        _start = offset;
        _count = want;
    }
}
