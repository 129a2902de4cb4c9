using System.Diagnostics;
using System.Text;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// A real <c>swarm</c> process (the CLI built next to these tests), its output collected, for tests that must kill
/// a node with SIGKILL. Waits on the process's own output lines, never on sleeps.
/// </summary>
internal sealed class SwarmProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly Action<string>? _onLine;

    private SwarmProcess(Process process, Action<string>? onLine)
    {
        _process = process;
        _onLine = onLine;
    }

    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public static SwarmProcess Start(params string[] args) => Start(args, onLine: null);

    /// <summary>Starts the CLI with <paramref name="args"/>; every output line also goes to <paramref name="onLine"/> (a test's log).</summary>
    public static SwarmProcess Start(IEnumerable<string> args, Action<string>? onLine)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(CliPath());
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new SwarmProcess(process, onLine);
        process.OutputDataReceived += (_, e) => result.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => result.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.AppendLine(line);
            foreach (var (match, found) in _waiters.Where(w => w.Match(line)).ToList())
            {
                found.TrySetResult(line);
            }
        }

        _onLine?.Invoke(line);
    }

    /// <summary>Waits for an output line matching <paramref name="match"/> (already printed or yet to come).</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            var existing = _output.ToString().Split('\n').FirstOrDefault(l => match(l.TrimEnd('\r')));
            if (existing is not null)
            {
                return existing;
            }

            _waiters.Add((match, found));
        }

        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(found.Task, exited, Task.Delay(timeout)).ConfigureAwait(false);
        if (first == found.Task)
        {
            return await found.Task.ConfigureAwait(false);
        }

        Assert.Fail(first == exited
            ? $"the swarm process exited (code {_process.ExitCode}) before {what}. Output:\n{Output}"
            : $"timed out after {timeout.TotalSeconds} s waiting for {what}. Output:\n{Output}");
        return "";
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a power cut of the process.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>The CLI's assembly, built by the same configuration as these tests.</summary>
    private static string CliPath()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent?.Name ?? "Release"; // .../bin/<configuration>/net10.0/
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "SwarmLearning.slnx")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"cannot find the repository above {AppContext.BaseDirectory}");
        }

        var path = Path.Combine(root.FullName, "src", "SwarmLearning.Cli", "bin", configuration, here.Name, "swarm.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"the swarm CLI is not built at {path}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }
}
