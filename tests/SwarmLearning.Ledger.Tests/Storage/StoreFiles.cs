using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SwarmLearning.Ledger.Storage;

namespace SwarmLearning.Ledger.Tests.Storage;

/// <summary>Test data for the block store, and ways to damage its file the way disks and crashes do.</summary>
internal static class StoreFiles
{
    public const int FileHeader = 16;
    public const int Overhead = 16;

    /// <summary>A deterministic record for a height: its length and bytes depend on the height alone.</summary>
    public static byte[] Payload(long height, int maxLength = 700)
    {
        var random = new Random(unchecked((int)(height * 2_654_435_761L)) ^ 0x5EED);
        var payload = new byte[random.Next(1, maxLength + 1)];
        random.NextBytes(payload);
        return payload;
    }

    /// <summary>The byte offset of each record and the file length, for records with these payload lengths.</summary>
    public static (long[] Offsets, long Length) Layout(IEnumerable<byte[]> payloads)
    {
        var offsets = new List<long>();
        long position = FileHeader;
        foreach (var p in payloads)
        {
            offsets.Add(position);
            position += Overhead + p.Length;
        }

        return ([.. offsets], position);
    }

    /// <summary>Opens a store in <paramref name="directory"/> and appends <paramref name="payloads"/> one by one.</summary>
    public static async Task WriteAsync(string directory, IEnumerable<byte[]> payloads)
    {
        await using var store = BlockStore.Open(directory);
        foreach (var p in payloads)
        {
            await store.AppendAsync(p);
        }
    }

    /// <summary>Asserts that the store holds exactly <paramref name="expected"/>, read one by one and in sequence.</summary>
    public static void AssertHolds(BlockStore store, IReadOnlyList<byte[]> expected)
    {
        Assert.Equal(expected.Count, store.Count);
        for (var h = 0; h < expected.Count; h++)
        {
            Assert.Equal(expected[h], store.Read(h));
        }

        var sequence = store.ReadFrom(0).ToList();
        Assert.Equal(Enumerable.Range(0, expected.Count).Select(h => (long)h), sequence.Select(r => r.Height));
        for (var h = 0; h < expected.Count; h++)
        {
            Assert.Equal(expected[h], sequence[h].Record);
        }
    }

    public static void FlipByte(string path, long offset)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x20));
    }

    public static void WriteUInt32(string path, long offset, uint value)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        file.Position = offset;
        file.Write(bytes);
    }

    public static void Append(string path, ReadOnlySpan<byte> bytes)
    {
        using var file = File.Open(path, FileMode.Append, FileAccess.Write);
        file.Write(bytes);
    }

    public static void Cut(string path, long length)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.SetLength(length);
    }

    /// <summary>
    /// Flips a byte of a file that an open store holds locked. .NET takes an advisory lock on every open, so this
    /// goes through libc, as another program damaging the file would.
    /// </summary>
    public static void FlipByteUnderLock(string path, long offset)
    {
        var fd = NativeMethods.open(path, 2 /* O_RDWR */);
        Assert.True(fd >= 0, $"open {path}: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var b = new byte[1];
            Assert.Equal(1, NativeMethods.pread(fd, b, 1, offset));
            b[0] ^= 0x20;
            Assert.Equal(1, NativeMethods.pwrite(fd, b, 1, offset));
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>Cuts a file that an open store holds locked, as another program could.</summary>
    public static void CutUnderLock(string path, long length) =>
        Assert.True(NativeMethods.truncate(path, length) == 0, $"truncate {path}: errno {Marshal.GetLastPInvokeError()}");

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks; a few test-only calls do not justify it
        [DllImport("libc", SetLastError = true, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int truncate([MarshalAs(UnmanagedType.LPUTF8Str)] string path, long length);

        [DllImport("libc", SetLastError = true, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint pread(int fd, byte[] buffer, nint count, long offset);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint pwrite(int fd, byte[] buffer, nint count, long offset);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054
    }
}
