using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SwarmLearning.Operator.Processes;

/// <summary>
/// A child process the operator (an SL node, an ML program) or <c>swarm demo</c> started: its standard output and error go
/// line by line to its log file (or standard output is kept apart, when it is a result to read), the last lines are kept
/// for reports, and stopping asks politely (SIGTERM) before killing its whole process tree. Every one still running when
/// this process exits is killed, so neither leaves orphans.
/// </summary>
internal sealed class SupervisedProcess : IAsyncDisposable
{
    private const int KeptLines = 30;
    private const int TailLines = 20;
    private const int SigTerm = 15;
    private static readonly ConcurrentDictionary<SupervisedProcess, byte> Running = new();
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _lock = new();
    private readonly Queue<string> _tail = new();
    private readonly Action<string>? _onLine;
    private readonly StringBuilder? _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task<int> _exited;
    private int _disposed;
    private bool _logClosed;
    private volatile StrongBox<int>? _exitCode;

    static SupervisedProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var child in Running.Keys)
        {
            child.Kill();
        }
    };

    private SupervisedProcess(string name, string description, string logPath, ProcessStartInfo info, bool collectOutput, Action<string>? onLine)
    {
        Name = name;
        Description = description;
        LogPath = logPath;
        _onLine = onLine;
        _output = collectOutput ? new StringBuilder() : null;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        _log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
        _process.OutputDataReceived += (_, e) => OnOutput(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        try
        {
            _process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            _log.Dispose();
            _process.Dispose();
            var where = string.IsNullOrEmpty(info.WorkingDirectory) ? "" : $" in {info.WorkingDirectory}";
            throw new SwarmException($"cannot start {description} ({info.FileName}{where}): {e.Message}", e);
        }

        Running[this] = 0;
        Id = _process.Id;
        _process.StandardInput.Close(); // children read nothing: the terminal stays this process's
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _exited = WaitAsync();
    }

    /// <summary>Its name in logs and reports (<c>sl1</c>, <c>ml1</c>).</summary>
    public string Name { get; }

    /// <summary>What it is, for messages ("the ML program of sl2 (ml2)"); its name unless given.</summary>
    public string Description { get; }

    /// <summary>Its log file.</summary>
    public string LogPath { get; }

    /// <summary>Its process id.</summary>
    public int Id { get; }

    /// <summary>Completes with its exit code once it has exited and its output is logged.</summary>
#pragma warning disable VSTHRD003 // the process's own exit, started by this object
    public Task<int> Exited => _exited;
#pragma warning restore VSTHRD003

    /// <summary>Its exit code once it has exited and its output is logged; null while it runs.</summary>
    public int? ExitCode => _exitCode?.Value;

    /// <summary>How long it ran (so far).</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>What it wrote on standard output, when it was started to collect it.</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output?.ToString() ?? string.Empty;
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="info"/> as <paramref name="name"/> (<paramref name="description"/> in messages, the name by
    /// default), logging to <paramref name="logPath"/>. With <paramref name="collectOutput"/>, standard output is kept
    /// apart (a result to read) instead of logged. <paramref name="onLine"/> gets every line logged, on a reader thread.
    /// </summary>
    public static SupervisedProcess Start(
        string name, ProcessStartInfo info, string logPath, Action<string>? onLine = null, bool collectOutput = false, string? description = null) =>
        new(name, description ?? name, logPath, info, collectOutput, onLine);

    /// <summary>The last lines of its output, for a report.</summary>
    public string Tail(int lines = TailLines)
    {
        lock (_lock)
        {
            return string.Join('\n', _tail.Skip(Math.Max(0, _tail.Count - lines)));
        }
    }

    /// <summary>Asks it to stop (SIGTERM) and waits up to <paramref name="grace"/>; then kills its process tree.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!_exited.IsCompleted)
        {
            _ = NativeMethods.kill(Id, SigTerm);
            try
            {
#pragma warning disable VSTHRD003 // this child's own exit
                await _exited.WaitAsync(grace).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Kill();
            }
        }

        return await _exited.ConfigureAwait(false);
#pragma warning restore VSTHRD003
    }

    /// <summary>Kills its process tree at once (SIGKILL).</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // It exited meanwhile.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        try
        {
#pragma warning disable VSTHRD003 // this child's own exit
            await _exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        catch (TimeoutException)
        {
            // Killed but not reaped in time; the OS reaps it with this process.
        }

        _process.Dispose();
        lock (_lock)
        {
            _logClosed = true;
            _log.Dispose();
        }
    }

    private async Task<int> WaitAsync()
    {
        // WaitForExitAsync also waits for the end of both redirected streams, so every line is logged when it returns.
        await _process.WaitForExitAsync().ConfigureAwait(false);
        _clock.Stop();
        Running.TryRemove(this, out _);
        var code = _process.ExitCode;
        _exitCode = new StrongBox<int>(code);
        return code;
    }

    private void OnOutput(string? line)
    {
        if (_output is null)
        {
            OnLine(line);
            return;
        }

        if (line is not null)
        {
            lock (_lock)
            {
                _output.AppendLine(line);
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }

            _tail.Enqueue(line);
            if (_tail.Count > KeptLines)
            {
                _tail.Dequeue();
            }
        }

        _onLine?.Invoke(line);
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks for one call with two ints
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int kill(int pid, int signal);
#pragma warning restore SYSLIB1054
    }
}
