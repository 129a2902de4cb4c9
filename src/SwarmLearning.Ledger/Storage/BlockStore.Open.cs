using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace SwarmLearning.Ledger.Storage;

/// <summary>Opening: creating a new store durably, locking the file, and the scan that tells a torn tail from damage.</summary>
public sealed partial class BlockStore
{
    // What .NET puts in IOException.HResult when the file is locked by another handle: Windows' HRESULT for
    // ERROR_SHARING_VIOLATION, and on Unix the errno of the failed flock, EWOULDBLOCK (11 on Linux, 35 on macOS
    // and the BSDs).
    private const int SharingViolation = unchecked((int)0x80070020);
    private const int LinuxWouldBlock = 11;
    private const int BsdWouldBlock = 35;

    private static SafeFileHandle OpenFile(string directory, string path, ILogger logger)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory);
                var parent = System.IO.Path.GetDirectoryName(directory);
                if (parent is not null)
                {
                    SyncDirectory(parent, logger);
                }
            }

            if (!File.Exists(path))
            {
                Create(directory, path, logger);
            }

            // FileShare.None takes an exclusive advisory lock (flock on Unix): a second SN, or a second store in this
            // process, pointed at the same directory fails here instead of interleaving its appends with ours.
            return File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, FileOptions.None);
        }
        catch (IOException e) when (IsLockedByAnother(e))
        {
            throw new SwarmException($"{path} is in use by another process (another SN on the same ledger directory?): {e.Message} Stop it, or give this SN its own directory.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"cannot open the ledger store {path}: {e.Message}", e);
        }
    }

    private static bool IsLockedByAnother(IOException e) =>
        OperatingSystem.IsWindows() ? e.HResult == SharingViolation
        : OperatingSystem.IsLinux() ? e.HResult == LinuxWouldBlock
        : e.HResult == BsdWouldBlock;

    // A new store appears whole or not at all: its header is written and fsync'd under a temporary name, renamed
    // into place, and the directory fsync'd so that the name survives a power loss. A crash before the rename
    // leaves only the temporary file, which the next creation overwrites.
    private static void Create(string directory, string path, ILogger logger)
    {
        var temporary = System.IO.Path.Combine(directory, StoreFormat.TemporaryFileName);
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None))
        {
            Span<byte> header = stackalloc byte[StoreFormat.FileHeaderSize];
            StoreFormat.WriteFileHeader(header);
            RandomAccess.Write(handle, header, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temporary, path, overwrite: false);
        SyncDirectory(directory, logger);
        Log.Created(logger, path);
    }

    private static void SyncDirectory(string directory, ILogger logger)
    {
        if (!DirectorySync.Flush(directory) && !OperatingSystem.IsWindows())
        {
            Log.DirectoryNotSynced(logger, directory);
        }
    }

    // Checks the header and every record, building the height -> offset index. The first record that is not whole
    // and sound ends the scan; then the rest of the file decides what it was. A valid record anywhere after it means
    // the bad one sits inside acknowledged data (a crash only ever damages the end of the last write): refuse, and
    // cut nothing. No valid record after it means a write was cut short: cut the file there.
    private static (List<long> Offsets, long Tail, StoreRecovery Recovery) Scan(SafeFileHandle handle, string path, string directory)
    {
        var length = RandomAccess.GetLength(handle);
        var offsets = new List<long>();
        using var window = new FileWindow(handle, length);
        var headerProblem = StoreFormat.CheckFileHeader(window.Get(0, (int)Math.Min(length, StoreFormat.FileHeaderSize)), out var newerVersion);
        if (headerProblem is not null)
        {
            var remedy = newerVersion
                ? $"It was written by a newer SwarmLearning: run that version (or a later one), or {RemedyTail(directory)}"
                : Remedy(directory);
            throw new LedgerStoreCorruptException(path, 0, 0, $"{path} is not a ledger store this build can read: {headerProblem}. {remedy}");
        }

        long position = StoreFormat.FileHeaderSize;
        while (position < length)
        {
            var problem = CheckRecordAt(window, position, out var frameLength);
            if (problem is null)
            {
                offsets.Add(position);
                position += frameLength;
                continue;
            }

            var height = offsets.Count;
            var valid = FindValidRecord(window, position + 1);
            if (valid >= 0)
            {
                throw new LedgerStoreCorruptException(path, height, position,
                    $"{path}: the record at height {height} (byte offset {position}) is damaged: {problem}. A valid record follows at byte offset {valid}, so this is damage inside the stored chain, not a write cut short by a crash, and nothing was cut. {Remedy(directory)}");
            }

            RandomAccess.SetLength(handle, position);
            RandomAccess.FlushToDisk(handle);
            return (offsets, position, new StoreRecovery(length - position, position, height, problem));
        }

        return (offsets, position, StoreRecovery.Clean);
    }

    private static string RemedyTail(string directory) =>
        $"restore {directory} from a backup, or delete it to resync this SN from its peers.";

    // What is wrong with the record starting at a position, or null with its length on disk.
    private static string? CheckRecordAt(FileWindow window, long position, out long frameLength)
    {
        frameLength = 0;
        var remaining = window.Length - position;
        if (remaining < StoreFormat.RecordHeaderSize)
        {
            return $"its header is cut short ({remaining} of {StoreFormat.RecordHeaderSize} bytes)";
        }

        var problem = StoreFormat.CheckRecordHeader(window.Get(position, StoreFormat.RecordHeaderSize), out var payloadLength);
        if (problem is not null)
        {
            return problem;
        }

        var needed = StoreFormat.FrameLength(payloadLength);
        if (needed > remaining)
        {
            return $"it claims {payloadLength} payload bytes, but the file ends {remaining - StoreFormat.RecordHeaderSize} bytes after its header";
        }

        problem = StoreFormat.CheckFrame(window.Get(position, (int)needed));
        if (problem is null)
        {
            frameLength = needed;
        }

        return problem;
    }

    // The offset of the first whole, sound record at or after a position, or -1. Candidates are the places where
    // the record magic occurs; each is checked in full (length, both checksums).
    private static long FindValidRecord(FileWindow window, long from)
    {
        var magic = "SBLK"u8;
        var position = from;
        while (window.Length - position >= StoreFormat.FrameOverhead)
        {
            var span = window.Get(position, (int)Math.Min(window.Capacity, window.Length - position));
            var found = span.IndexOf(magic);
            if (found < 0)
            {
                // The magic may straddle the end of this span: step back by its length less one.
                position += Math.Max(1, span.Length - (magic.Length - 1));
                continue;
            }

            var candidate = position + found;
            if (CheckRecordAt(window, candidate, out _) is null)
            {
                return candidate;
            }

            position = candidate + 1;
        }

        return -1;
    }
}
