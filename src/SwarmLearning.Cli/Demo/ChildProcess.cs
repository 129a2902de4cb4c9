using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// One process the demo started. Its standard error (and standard output, unless that is collected as a result) goes
/// line by line to its log file; the last lines are kept for error messages, and each line can be watched as it comes.
/// Stopping asks politely (SIGTERM) and then kills the whole process tree. Every child still running when this process
/// exits is killed, so an interrupted demo leaves nothing behind.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 30;
    private const int SigTerm = 15;
    private static readonly ConcurrentDictionary<ChildProcess, byte> Running = new();
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _lock = new();
    private readonly Queue<string> _tail = new();
    private readonly StringBuilder? _output;
    private readonly Action<string>? _onLine;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task<int> _exited;
    private int _disposed;
    private bool _logClosed;

    static ChildProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var child in Running.Keys)
        {
            child.Kill();
        }
    };

    private ChildProcess(string name, string description, string logPath, Process process, bool collectOutput, Action<string>? onLine)
    {
        Name = name;
        Description = description;
        LogPath = logPath;
        _process = process;
        _onLine = onLine;
        _output = collectOutput ? new StringBuilder() : null;
        _log = new StreamWriter(new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            _log.Dispose();
            throw new SwarmException($"cannot start {description} ({process.StartInfo.FileName}): {e.Message}", e);
        }

        Running[this] = 0;
        Id = process.Id;
        process.StandardInput.Close(); // the children read nothing: the terminal stays the demo's
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _exited = WaitAsync();
    }

    /// <summary>The name the demo gives it (sn0, sl1, ml1, local1).</summary>
    public string Name { get; }

    /// <summary>What it is, for messages: "the sentinel SN (sn0)", "the ML program of sl2 (ml2)".</summary>
    public string Description { get; }

    /// <summary>Its log file.</summary>
    public string LogPath { get; }

    /// <summary>Its process id.</summary>
    public int Id { get; }

    /// <summary>Completes with its exit code once it has exited and its output is written.</summary>
#pragma warning disable VSTHRD003 // the process's own exit, started by this object
    public Task<int> Exited => _exited;
#pragma warning restore VSTHRD003

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
    /// Starts <c>swarm ARGS</c> as <paramref name="name"/> (<paramref name="description"/> in messages), logging to
    /// <paramref name="logPath"/>. With <paramref name="collectOutput"/>, standard output is kept apart (a JSON result)
    /// instead of logged. <paramref name="onLine"/> gets every line logged, on a thread of the process's reader.
    /// </summary>
    public static ChildProcess Start(
        SwarmExecutable swarm, string name, string description, IEnumerable<string> arguments, string logPath, bool collectOutput = false, Action<string>? onLine = null)
    {
        var process = new Process { StartInfo = swarm.StartInfo(arguments), EnableRaisingEvents = true };
        return new ChildProcess(name, description, logPath, process, collectOutput, onLine);
    }

    /// <summary>The last lines of its log, for an error message.</summary>
    public string Tail()
    {
        lock (_lock)
        {
            return _tail.Count == 0 ? "  (nothing)" : string.Join(Environment.NewLine, _tail.Select(l => "  " + l));
        }
    }

    /// <summary>
    /// Asks it to stop (SIGTERM, as Ctrl+C would) and waits up to <paramref name="grace"/>; then kills its process tree.
    /// Returns its exit code.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!_exited.IsCompleted)
        {
            _ = NativeMethods.kill(Id, SigTerm);
            try
            {
#pragma warning disable VSTHRD003 // this child's own exit, awaited from any context
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
            // It exited meanwhile: nothing left to kill.
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
        return _process.ExitCode;
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
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }

        _onLine?.Invoke(line);
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks in the CLI for one call with two ints
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int kill(int pid, int signal);
#pragma warning restore SYSLIB1054
    }
}
