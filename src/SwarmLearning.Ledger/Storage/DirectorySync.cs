using System.Runtime.InteropServices;

namespace SwarmLearning.Ledger.Storage;

/// <summary>
/// Makes a directory's entries durable: after a file is created or renamed, the file's own fsync does not cover the
/// directory entry that names it, and a power loss can leave a directory without the file (POSIX leaves this to
/// an fsync of the directory). .NET cannot open a directory as a file handle on Unix (File.OpenHandle refuses
/// directories), so this calls open/fsync/close in libc directly. On Windows the file system journals directory
/// changes itself and there is nothing to do.
/// </summary>
internal static class DirectorySync
{
    private const int EINVAL = 22;

    /// <summary>
    /// Fsyncs <paramref name="directory"/>; false when the platform or file system has no such operation (Windows,
    /// or a file system answering EINVAL), which is then not an error.
    /// </summary>
    public static bool Flush(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return false;
        }

        // O_RDONLY (0) on purpose: O_DIRECTORY and O_CLOEXEC have different values on different architectures,
        // and a read-only open of a directory is what fsync needs.
        var fd = NativeMethods.open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"cannot open the directory {directory} to fsync it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            if (NativeMethods.fsync(fd) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            return errno == EINVAL
                ? false
                : throw new IOException($"fsync of the directory {directory} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport needs AllowUnsafeBlocks for the generated string marshalling; three calls do not justify unsafe code in the project
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054
    }
}
