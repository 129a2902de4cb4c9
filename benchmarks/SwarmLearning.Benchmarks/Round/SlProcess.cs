using System.Diagnostics;
using System.Globalization;

namespace SwarmLearning.Benchmarks.Round;

/// <summary>
/// One <c>swarm sl</c> process: started with <c>dotnet swarm.dll sl …</c>, its output written to a log file, its peak
/// resident memory read from <c>/proc/PID/status</c> (VmHWM), killed with SIGKILL when asked or at the end.
/// </summary>
internal sealed class SlProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _lock = new();

    private SlProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>When the process was killed (Stopwatch timestamp), or 0.</summary>
    public long KilledAt { get; private set; }

    public static SlProcess Start(string name, string swarmDll, IEnumerable<string> arguments, string logPath, bool tieredCompilation)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(swarmDll);
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment.Remove("SWARM_SL_SOCKET");
        info.Environment.Remove("SWARM_LOOPBACK");

        // As ./swarm sl starts a node: a node's hot paths run a few times per round, so tiered compilation would keep
        // re-compiling them for tens of rounds (docs/performance.md).
        info.Environment["DOTNET_TieredCompilation"] = tieredCompilation ? "1" : "0";
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        var result = new SlProcess(name, process, log, logPath);
        process.OutputDataReceived += (_, e) => result.Write(e.Data);
        process.ErrorDataReceived += (_, e) => result.Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Peak resident set size (VmHWM) in bytes, or -1 when the process is gone.</summary>
    public long PeakResidentBytes() => Status("VmHWM:");

    /// <summary>Resident set size now (VmRSS) in bytes, or -1 when the process is gone.</summary>
    public long ResidentBytes() => Status("VmRSS:");

    private long Status(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var kb = line[field.Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    /// <summary>CPU time (user + system) the process has used so far, in seconds, or -1 when it is gone.</summary>
    public double CpuSeconds() => CpuSecondsOf(_process.Id);

    /// <summary>CPU time (user + system) of a process from <c>/proc/PID/stat</c> (fields 14 and 15, in clock ticks of 1/100 s).</summary>
    public static double CpuSecondsOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) " the fields start at number 3 (state): utime is field 14, stime 15.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a site loses power.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            KilledAt = Stopwatch.GetTimestamp();
            _process.Kill();
        }
    }

    /// <summary>The last lines of the log, for error messages.</summary>
    public string Tail(int lines = 15)
    {
        lock (_lock)
        {
            _log.Flush();
        }

        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(cannot read {LogPath}: {e.Message})";
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _log.WriteLine(line);
        }
    }

    /// <summary>The dotnet host running this benchmark, so the child uses the same runtime.</summary>
    private static string DotnetHost()
    {
        var process = Environment.ProcessPath;
        return process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
    }

    public void Dispose()
    {
        KillHard();
        _process.WaitForExit(10_000);
        _process.Dispose();
        lock (_lock)
        {
            _log.Dispose();
        }
    }
}
